// The Ready loop: events (ticks, peer messages, requests) are stepped into raft, and once per
// event-loop turn every Ready is split three ways:
//
//   ready() ──► messages for peers ──► TcpTransport.send (at once)
//       ├────► MsgStorageAppend ──► append worker (group commit) ──► responses stepped/sent
//       └────► MsgStorageApply  ──► apply worker (state machine) ──► responses stepped
//
// The loop never waits for the disk. See README, "The Ready loop".
import {
  LocalAppendThread,
  LocalApplyThread,
  type Message,
  type NodeId,
  type Ready,
} from '@tsraft/raft-core';
import type { AppendWorker } from './append-worker.js';
import type { ApplyWorker } from './apply-worker.js';
import type { NodeContext } from './context.js';
import { onSoftState, publishLeader } from './leader-events.js';
import { Quiescence, isQuiesceHeartbeat } from './quiesce.js';
import type { GroupTicker } from './seams.js';

export class ReadyLoop {
  private scheduled = false;
  /** process() is running: schedule() asks it for another round (`again`) instead. */
  private processing = false;
  private again = false;
  /** Messages for peers, sent at the end of each loop turn. */
  private outbox: Message[] = [];
  private readonly processFn = (): void => this.process();
  /** A RaftHost's group quiesces when idle (quiesce.ts); a standalone node does not. */
  private q: Quiescence | null = null;

  constructor(
    private readonly ctx: NodeContext,
    private readonly appends: AppendWorker,
    private readonly applies: ApplyWorker,
  ) {}

  enableQuiescence(ticker: GroupTicker): void {
    this.q = new Quiescence(
      this.ctx,
      ticker,
      () =>
        this.outbox.length === 0 &&
        !this.appends.busy &&
        !this.applies.busy &&
        !this.ctx.raw.hasReady(),
    );
  }

  /** Whether the group is quiesced (not ticking). */
  get quiesced(): boolean {
    return this.q?.quiesced ?? false;
  }

  tick(): void {
    const ctx = this.ctx;
    if (!ctx.running || this.q?.quiesced) return;
    // An idle leader quiesces instead of ticking (and heartbeating) again.
    const hbs = this.q?.maybeQuiesceLeader() ?? null;
    if (hbs !== null && hbs.length > 0) {
      for (const m of hbs) this.outbox.push(m);
      this.schedule();
      return;
    }
    if (this.q?.standingBy()) return;
    ctx.ticks++;
    ctx.raw.tick();
    // Read requests dropped for want of a leader are sent again after an election timeout.
    if (ctx.reads.size > 0) {
      for (const c of ctx.reads.resend(ctx.ticks, ctx.ticks - ctx.cfg.electionTick)) {
        ctx.raw.readIndex(c);
      }
    }
    // Most ticks of a follower, and a leader's between heartbeats, leave nothing to do.
    if (ctx.raw.hasReady()) this.schedule();
  }

  onPeerDown(peer: NodeId): void {
    this.q?.onPeerDown(peer);
  }

  onMessage(m: Message): void {
    if (!this.ctx.running) return;
    const q = this.q;
    const quiesce = q !== null && isQuiesceHeartbeat(m);
    if (quiesce) m = { ...m, context: new Uint8Array(0) };
    else q?.onIncoming(m);
    try {
      this.ctx.raw.step(m);
    } catch (err) {
      // A forwarded proposal we cannot take (not leader any more, transfer in progress, ...)
      // or a response from a node that is no longer a member: raft tolerates the loss.
      this.ctx.logger.debug({ err, from: m.from, type: m.type }, 'message not stepped');
    }
    if (quiesce) q!.afterQuiesceHeartbeat(m);
    // Most responses (a leader's MsgAppResp for entries it had already counted, heartbeat
    // responses) leave raft nothing to do: no Ready pass for them. Everything else the pass
    // handles (outbox, storage queues, waiters) was scheduled when it was queued.
    if (this.ctx.raw.hasReady()) this.schedule();
  }

  /**
   * Runs the loop once the current turn of the event loop is done (batching its events): in
   * the host's pass for a RaftHost's group, else in a setImmediate of its own.
   */
  schedule(): void {
    if (this.scheduled || !this.ctx.running) return;
    if (this.processing) {
      this.again = true;
      return;
    }
    this.scheduled = true;
    const pass = this.ctx.group?.pass;
    if (pass !== undefined) pass.add(this);
    else setImmediate(this.processFn);
  }

  /** Delivers the responses of a finished storage write or apply. */
  deliver(responses: readonly Message[]): void {
    const ctx = this.ctx;
    let send = false;
    for (const r of responses) {
      if (r.to !== ctx.id) {
        this.outbox.push(r);
        send = true;
        continue;
      }
      try {
        ctx.raw.step(r);
      } catch (err) {
        ctx.logger.debug({ err, type: r.type }, 'local response not stepped');
      }
    }
    // A write's or apply's own acknowledgement often changes nothing raft hands out (a
    // follower's, or an apply that releases no more entries): then no pass is needed.
    if (send || ctx.raw.hasReady()) this.schedule();
  }

  /**
   * The loop's work for this turn (run by schedule()). What it starts that answers at once (a
   * commit-only write's acknowledgement, an in-memory apply's, a waiting proposal) is handled
   * by a second round now, not by a run of its own in the next pass.
   */
  process(): void {
    this.scheduled = false;
    this.processing = true;
    let rounds = 0;
    try {
      do {
        this.again = false;
        this.processOnce();
      } while (this.again && ++rounds < 2);
    } finally {
      this.processing = false;
    }
    if (this.again) {
      this.again = false;
      this.schedule();
    }
  }

  private processOnce(): void {
    const ctx = this.ctx;
    if (!ctx.running) return;
    try {
      while (ctx.raw.hasReady()) this.handleReady(ctx.raw.ready());
    } catch (err) {
      ctx.fail(err);
      return;
    }
    // Proposals that waited for a leader go now (they schedule the next turn).
    if (ctx.leaderWaiters.size > 0 && ctx.rawLead() !== 0) {
      const ws = [...ctx.leaderWaiters];
      ctx.leaderWaiters.clear();
      for (const w of ws) w.run();
    }
    this.flushOutbox();
    this.appends.kick();
    this.applies.kick();
  }

  private handleReady(rd: Ready): void {
    const ctx = this.ctx;
    this.q?.onReady(rd);
    // Entries first: an overwrite of one of our entries must be seen before the new epoch.
    ctx.proposals.onAppend(rd.entries);
    if (rd.hardState !== undefined) {
      ctx.term = rd.hardState.term;
      if (rd.hardState.commit > ctx.commit) ctx.commit = rd.hardState.commit;
    }
    if (rd.softState !== undefined) onSoftState(ctx, rd.softState);
    publishLeader(ctx);
    if (rd.readStates.length > 0) ctx.reads.onReadStates(rd.readStates, ctx.applied);
    for (const m of rd.messages) {
      if (m.to === LocalAppendThread) this.appends.push(m);
      else if (m.to === LocalApplyThread) this.applies.push(m);
      else this.outbox.push(m);
    }
  }

  private flushOutbox(): void {
    const t = this.ctx.transport;
    if (this.outbox.length === 0 || t === null) return;
    const out = this.outbox;
    this.outbox = [];
    t.send(out);
  }
}
