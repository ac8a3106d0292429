// Quiescence of a RaftHost's groups (CockroachDB's, on etcd/raft): a leader whose followers
// have all of its log, with nothing committed left to apply and no request in flight, sends a
// last heartbeat marked "quiesce" and stops ticking; a follower that receives it, holding the
// same log and commit index, stops ticking too. A quiesced group costs nothing per tick: no
// heartbeats, no election clock. It wakes when it has something to send or write (a
// proposal, a read, a campaign...), when a message other than a heartbeat response arrives,
// or when the host of its leader is found dead (host liveness, host-liveness.ts): then its
// election clock is advanced by an election timeout (raft-core's tickQuiesced), so that it
// elects at once instead of first waiting a timeout for a leader it will not hear from.
// A standalone RaftNode never quiesces.
import {
  type Message,
  MessageType,
  type NodeId,
  type Ready,
  StateType,
  isLocalMsgTarget,
  newMessage,
} from '@tsraft/raft-core';
import type { NodeContext } from './context.js';
import type { GroupTicker } from './seams.js';

/** The context of a quiescing heartbeat (raft puts read-request contexts there, never this). */
const QUIESCE = Uint8Array.of(0x74, 0x73, 0x72, 0x71); // "tsrq"

export function isQuiesceHeartbeat(m: Message): boolean {
  const c = m.context;
  return (
    m.type === MessageType.MsgHeartbeat &&
    c.length === QUIESCE.length &&
    c[0] === QUIESCE[0] &&
    c[1] === QUIESCE[1] &&
    c[2] === QUIESCE[2] &&
    c[3] === QUIESCE[3]
  );
}

export class Quiescence {
  quiesced = false;
  /**
   * The last (pre-)vote request another voter sent us while we followed a leader. Raft ignores
   * one that comes while its leader's lease holds: after a host dies, the host that finds it
   * dead first campaigns before the other has, and would wait an election timeout to retry.
   * It is stepped again once we find the leader's host dead ourselves (onPeerDown).
   */
  private heldVote: Message | null = null;
  /** Ticks left that a replica leaving an election to another stays out of it (onPeerDown). */
  private standBy = 0;

  constructor(
    private readonly ctx: NodeContext,
    private readonly ticker: GroupTicker,
    /** The loop's own work is done: no Ready, storage write, apply or message pending. */
    private readonly loopIdle: () => boolean,
  ) {}

  /**
   * After a leader's tick: quiesce if everything is replicated and applied and nothing is
   * pending; returns the heartbeats that tell the followers so, or null. Runs on every tick of
   * every active leader: it reads raft's progress in place (status() would copy it, and the
   * configuration, each time).
   */
  maybeQuiesceLeader(): Message[] | null {
    const ctx = this.ctx;
    if (this.quiesced || ctx.raftState !== StateType.Leader) return null;
    if (!this.nothingPending() || !this.loopIdle()) return null;
    const r = ctx.raw.raft;
    const commit = r.raftLog.committed;
    if (r.state !== StateType.Leader || r.leadTransferee !== 0) return null;
    if (commit !== ctx.applied || commit !== ctx.commit) return null;
    // Followers on hosts found dead are left out (CockroachDB's): the leader quiesces without
    // them, provided the live voters are a majority, and wakes when one is back (onPeerUp).
    const ids = r.trk.ids;
    const progress = r.trk.progress;
    let voters = 0;
    let live = 0;
    let without = false;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const pr = progress.get(id)!;
      const down = id !== ctx.id && this.ticker.isPeerDown(id);
      if (!pr.isLearner) {
        voters++;
        if (!down) live++;
      }
      if (down) without = true;
      else if (pr.match !== commit || pr.next !== commit + 1 || pr.pendingSnapshot !== 0) {
        return null;
      }
    }
    if (2 * live <= voters) return null;
    const out: Message[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id === ctx.id || this.ticker.isPeerDown(id)) continue;
      out.push(
        newMessage({
          type: MessageType.MsgHeartbeat,
          from: ctx.id,
          to: id,
          term: r.term,
          commit,
          index: commit, // the leader's last index: the follower checks it has the same
          context: QUIESCE,
        }),
      );
    }
    this.setQuiesced(true);
    if (without) this.ticker.onPeerUp = (peer) => this.onPeerUp(peer);
    return out;
  }

  /** A host this quiesced leader left behind is back: tick, so that it catches up. */
  private onPeerUp(peer: NodeId): void {
    const r = this.ctx.raw.raft;
    if (r.state === StateType.Leader && r.trk.progress.has(peer)) this.wake();
  }

  /**
   * A quiescing heartbeat, once stepped (without its marker, so the response carries none):
   * quiesce if we follow its sender with the same log and commit index.
   */
  afterQuiesceHeartbeat(m: Message): void {
    const ctx = this.ctx;
    if (this.quiesced || !this.nothingPending()) return;
    const r = ctx.raw.raft;
    if (
      r.state === StateType.Follower &&
      r.lead === m.from &&
      r.term === m.term &&
      r.raftLog.committed === m.commit &&
      ctx.storage.lastIndex() === m.index
    ) {
      this.setQuiesced(true);
    }
  }

  /**
   * An incoming message wakes a quiesced group, except a heartbeat response or a quiesce. A
   * vote request from another replica than our leader's is kept (see heldVote).
   */
  onIncoming(m: Message): void {
    const t = m.type;
    if (t === MessageType.MsgPreVote || t === MessageType.MsgVote) {
      const ctx = this.ctx;
      if (ctx.lead !== 0 && m.from !== ctx.lead) this.heldVote = m;
      // Standing by for a replica whose log is behind ours: it cannot win, we campaign.
      if (this.standBy > 0 && this.logNewerThan(m)) this.campaignNow();
    }
    if (this.quiesced && t !== MessageType.MsgHeartbeatResp && !isQuiesceHeartbeat(m)) {
      this.wake();
    }
  }

  /** Raft has entries to write or messages for peers (other than heartbeat responses). */
  onReady(rd: Ready): void {
    if (!this.quiesced) return;
    if (rd.entries.length > 0) {
      this.wake();
      return;
    }
    for (const m of rd.messages) {
      if (!isLocalMsgTarget(m.to) && m.type !== MessageType.MsgHeartbeatResp) {
        this.wake();
        return;
      }
    }
  }

  /**
   * The host of `peer` stopped answering. If it led us: wake, with the election clock one
   * timeout ahead, so that we campaign (and grant pre-votes) at once. Also when a message
   * woke us first (another replica's pre-vote, say): we would wait a whole timeout otherwise.
   */
  onPeerDown(peer: NodeId): void {
    const ctx = this.ctx;
    const held = this.heldVote;
    this.heldVote = null;
    if (ctx.lead !== peer || ctx.raftState === StateType.Leader || !ctx.running) return;
    this.wake();
    for (let i = 0; i < ctx.cfg.electionTick; i++) ctx.raw.tickQuiesced();
    // One live voter, chosen by the group id, campaigns now; the others, out of the dead
    // leader's lease, grant it their votes and campaign only after their own random timeout.
    // (All campaigning at once would split the votes of many groups.) Its request may have
    // come before we found the host dead, and been ignored: it is answered now. The others'
    // clocks stop for an election timeout: one that ran out a tick later (the advance above
    // leaves some a tick or two from their randomized timeout) would campaign against it
    // while it is still collecting votes, on a busy host, and split the vote.
    const preferred = this.preferredAfter(peer);
    if (preferred === ctx.id) ctx.raw.campaign();
    else if (preferred !== 0) {
      this.standBy = ctx.cfg.electionTick;
      if (held !== null && !this.ticker.isPeerDown(held.from)) {
        if (this.logNewerThan(held)) this.campaignNow();
        else {
          try {
            ctx.raw.step(held);
          } catch (err) {
            ctx.logger.debug({ err, from: held.from }, 'held vote request not stepped');
          }
        }
      }
    }
    ctx.schedule();
  }

  /** Whether our log is more up to date than that of the (pre-)candidate asking for `m`. */
  private logNewerThan(m: Message): boolean {
    const log = this.ctx.raw.raft.raftLog;
    const term = log.lastTerm();
    return m.logTerm < term || (m.logTerm === term && m.index < log.lastIndex());
  }

  /** Stops standing by and campaigns (the chosen replica cannot win: its log is behind). */
  private campaignNow(): void {
    this.standBy = 0;
    this.ctx.raw.campaign();
    this.ctx.schedule();
  }

  /**
   * Whether this tick is skipped: the replica leaves a dead leader's succession to another
   * for an election timeout (onPeerDown). It still grants votes: its lease is over.
   */
  standingBy(): boolean {
    if (this.standBy === 0) return false;
    if (this.ctx.raftState === StateType.Leader) {
      this.standBy = 0;
      return false;
    }
    this.standBy--;
    return true;
  }

  private preferredAfter(dead: NodeId): NodeId {
    const cs = this.ctx.membership.confState;
    const live = cs.voters
      .filter((v) => v !== dead && !this.ticker.isPeerDown(v))
      .sort((a, b) => a - b);
    if (live.length === 0 || cs.votersOutgoing.length > 0) return 0;
    return live[(this.ctx.group?.groupId ?? 0) % live.length]!;
  }

  /** Ticks again. */
  wake(): void {
    if (!this.quiesced) return;
    this.setQuiesced(false);
    this.ctx.schedule();
  }

  private setQuiesced(q: boolean): void {
    this.quiesced = q;
    this.ticker.setActive(!q);
    if (!q) this.ticker.onPeerUp = null;
  }

  /**
   * No request waits on this replica. (A follower quiesces with writes and applies in flight:
   * they need no ticks, and what they send wakes it if it must.)
   */
  private nothingPending(): boolean {
    const ctx = this.ctx;
    return (
      ctx.running &&
      ctx.proposals.size === 0 &&
      ctx.reads.size === 0 &&
      ctx.leaderWaiters.size === 0 &&
      ctx.snapshotSends.size === 0 &&
      !ctx.installing
    );
  }
}
