// RaftNode: the batteries-included driver. It owns a RawNode (in asyncStorageWrites mode), a
// LevelStorage and a TcpTransport, ticks on a timer, and runs the Ready loop:
//
//   step (messages, proposals, ticks) ──► ready() ──► send messages at once
//                                            ├──► append queue ──► one synced save per batch ──► step responses
//                                            └──► apply queue  ──► state machine ──► step responses
//
// The loop never waits for the disk: while one batch is being synced, new proposals and
// messages are stepped and their MsgStorageAppends queue up, to be merged into the next write
// (group commit). Applying runs beside writing. See README, "The Ready loop".
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import {
  type AnyConfChange,
  ConfChangeType,
  type Config,
  type Entry,
  EntryType,
  type HardState,
  ErrCompacted,
  ErrInvalidConfChange,
  ErrProposalDropped,
  ErrUsage,
  LocalAppendThread,
  LocalApplyThread,
  type Message,
  MessageType,
  type NodeId,
  RawNode,
  type Ready,
  type Snapshot,
  SnapshotStatus,
  type SoftState,
  StateType,
  type Status,
  asV2,
  cloneConfState,
  decodeConfChange,
  decodeConfChangeV2,
  isEmptyHardState,
  isEmptySnap,
  newMessage,
} from '@tsraft/raft-core';
import { LevelStorage } from '@tsraft/raft-storage-level';
import { TcpTransport, type TransportStats } from '@tsraft/raft-transport-tcp';
import { type Logger, pino } from 'pino';
import { type AppendBatch, takeAppendBatch } from './append-batch.js';
import { type CommittedEntry, toCommittedEntry } from './committed.js';
import {
  Session,
  decodeConfContext,
  decodeEntryData,
  decodeSnapshotData,
  encodeConfContext,
  encodeEntryData,
  encodeSnapshotData,
  ownSeq,
} from './envelope.js';
import {
  ErrAborted,
  ErrBadMembership,
  ErrNodeFailed,
  ErrStopped,
  ErrTransferFailed,
  type Outcome,
} from './errors.js';
import { type AddressChanges, type Member, Membership } from './membership.js';
import { Metrics, type NodeMetrics } from './metrics.js';
import {
  type AppliedEntry,
  type RaftNodeOptions,
  type ResolvedOptions,
  type StateMachine,
  resolveOptions,
} from './options.js';
import { ProposalTracker } from './proposals.js';
import { Snapshotter, type TakenSnapshot } from './snapshotter.js';
import { ReadTracker } from './reads.js';
import { Latest } from './watch.js';

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Who leads, as this node knows it. */
export interface LeaderState {
  /** The leader's id, or null while there is none (elections, partitions). */
  leader: NodeId | null;
  term: number;
  /** This node's role. */
  role: Role;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

/** raft-core's Status, plus what the driver knows. */
export interface NodeStatus extends Status {
  role: Role;
  leader: NodeId | null;
  /** The last index applied to the state machine. */
  appliedIndex: number;
  /** The index of the latest snapshot (taken here or installed from the leader). */
  snapshotIndex: number;
  /** The log kept in storage: [firstIndex, lastIndex]. */
  firstIndex: number;
  lastIndex: number;
  members: Member[];
}

export interface RaftNodeEvents {
  /** Leader, term or role changed. */
  leaderChange: [LeaderState];
  /** This node was removed from the cluster (the conf change was applied here). */
  removed: [];
  /** A storage or state machine failure stopped the node. */
  error: [Error];
}

interface LeaderWaiter {
  run(): void;
  fail(err: Error): void;
}

export type Lifecycle = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

const ROLES: Record<StateType, Role> = {
  [StateType.Follower]: 'follower',
  [StateType.PreCandidate]: 'pre-candidate',
  [StateType.Candidate]: 'candidate',
  [StateType.Leader]: 'leader',
};

export class RaftNode<R = unknown> extends EventEmitter<RaftNodeEvents> {
  readonly id: NodeId;
  readonly logger: Logger;
  private readonly opts: RaftNodeOptions<R>;
  private readonly cfg: ResolvedOptions;
  private readonly sm: StateMachine<R>;
  private lifecycle: Lifecycle = 'new';
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private failure: unknown = null;

  private raw!: RawNode;
  private storage!: LevelStorage;
  private transport: TcpTransport | null = null;

  private readonly session = new Session();
  private readonly proposals = new ProposalTracker(this.session);
  private readonly reads = new ReadTracker(this.session);
  private readonly membership = new Membership();
  private readonly stats = new Metrics();
  private readonly leaderCell = new Latest<LeaderState>({
    leader: null,
    term: 0,
    role: 'follower',
  });
  private readonly appliedCell = new Latest<number>(0);

  // What the loop has seen of raft's state. Invariant: snapshot index <= applied <= commit.
  private term = 0;
  private lead: NodeId = 0;
  private raftState = StateType.Follower;
  private commit = 0;
  private applied = 0;
  private readonly snapshots: Snapshotter;

  private ticks = 0;
  private ticker: NodeJS.Timeout | null = null;
  private scheduled = false;
  private readonly processFn = (): void => this.process();

  /** MsgStorageAppend / MsgStorageApply waiting for the append and apply workers. */
  private readonly appendQueue: Message[] = [];
  private readonly applyQueue: Message[] = [];
  /** Messages for peers, sent at the end of each loop turn. */
  private outbox: Message[] = [];
  /** The append worker, while appendRunning (a flag: a worker may finish synchronously). */
  private appending: Promise<void> = Promise.resolve();
  private appendRunning = false;
  /** A commit-only hard state not yet written (see deferCommitOnly). */
  private deferredCommit: HardState | null = null;
  private deferredCommitTimer: NodeJS.Timeout | null = null;
  private flushCommitNow = false;
  private applying: Promise<void> = Promise.resolve();
  private applyRunning = false;
  /** Proposals waiting for a leader to be known before they are stepped. */
  private readonly leaderWaiters = new Set<LeaderWaiter>();

  constructor(options: RaftNodeOptions<R>) {
    super();
    this.cfg = resolveOptions(options as RaftNodeOptions<unknown>);
    this.opts = options;
    this.id = options.id;
    this.sm = options.stateMachine;
    const base = options.logger ?? pino({ name: 'raft-node', level: 'info' });
    this.logger = base.child({ node: options.id });
    this.snapshots = new Snapshotter({
      storage: () => this.storage,
      logger: this.logger,
      stats: this.stats,
      interval: this.cfg.snapshotInterval,
      catchUpEntries: this.cfg.snapshotCatchUpEntries,
      running: () => this.lifecycle === 'running',
      fail: (err) => this.fail(err),
    });
  }

  // ---- lifecycle -------------------------------------------------------------------------

  /**
   * Opens the data directory, restores the state machine from the latest snapshot, then
   * listens and starts ticking. On an empty data directory it bootstraps the cluster from
   * `peers`, or with `join` waits to be contacted by the leader.
   */
  start(): Promise<void> {
    if (this.lifecycle !== 'new') return Promise.reject(new ErrUsage('start() may be called once'));
    this.lifecycle = 'starting';
    this.starting = this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    let storage: LevelStorage;
    try {
      // Bound the memory of entry payloads: older ones are read back from LevelDB.
      const so = { entryCacheBytes: 64 << 20, ...this.opts.storage };
      storage = await LevelStorage.open(this.opts.dataDir, so);
    } catch (err) {
      this.lifecycle = 'stopped';
      throw err;
    }
    this.storage = storage;
    try {
      const fresh =
        storage.lastIndex() === 0 &&
        isEmptySnap(storage.snapshot()) &&
        isEmptyHardState(storage.hardState());
      await this.recover();
      this.appliedCell.set(this.applied);
      this.raw = new RawNode(this.rawConfig());
      if (fresh && !this.opts.join) {
        this.raw.bootstrap(
          [...this.cfg.peers].map(([id, addr]) => ({ id, context: encodeConfContext({ addr }) })),
        );
      }
      // A node joining with an empty log hears first from a leader it does not know yet.
      const t = this.createTransport(fresh && this.opts.join === true);
      this.transport = t;
      this.lifecycle = 'running';
      await t.start();
    } catch (err) {
      this.lifecycle = 'stopped';
      await this.transport?.stop().catch(() => {});
      await storage.close().catch(() => {});
      throw err;
    }
    if (this.lifecycle !== 'running') return; // stopped while starting
    this.ticker = setInterval(() => this.tick(), this.cfg.tickMs);
    this.logger.info(
      { addr: this.transport.addr, applied: this.applied, term: this.term, commit: this.commit },
      'raft node started',
    );
    this.schedule();
  }

  /** State from the data directory: the snapshot's state machine and members, the hard state. */
  private async recover(): Promise<void> {
    const st = this.storage;
    const init = st.initialState();
    this.membership.confState = init.confState;
    this.term = init.hardState.term;
    this.commit = init.hardState.commit;
    const snap = st.snapshot();
    if (!isEmptySnap(snap)) await this.restoreSnapshot(snap);
  }

  private rawConfig(): Config {
    const o = this.opts;
    const c: Config = {
      id: this.id,
      storage: this.storage,
      asyncStorageWrites: true,
      electionTick: this.cfg.electionTick,
      heartbeatTick: this.cfg.heartbeatTick,
      maxSizePerMsg: o.maxSizePerMsg ?? 1 << 20,
      maxInflightMsgs: o.maxInflightMsgs ?? 256,
      preVote: o.preVote ?? true,
      checkQuorum: o.checkQuorum ?? true,
      logger: this.logger.child({ component: 'raft' }),
    };
    // The state machine was restored to the snapshot: entries up to it are not handed out again.
    if (this.applied > 0) c.applied = this.applied;
    if (o.maxInflightBytes !== undefined) c.maxInflightBytes = o.maxInflightBytes;
    if (o.maxUncommittedEntriesSize !== undefined) {
      c.maxUncommittedEntriesSize = o.maxUncommittedEntriesSize;
    }
    if (o.maxCommittedSizePerReady !== undefined) {
      c.maxCommittedSizePerReady = o.maxCommittedSizePerReady;
    }
    if (o.readOnlyOption !== undefined) c.readOnlyOption = o.readOnlyOption;
    if (o.disableProposalForwarding !== undefined) {
      c.disableProposalForwarding = o.disableProposalForwarding;
    }
    if (o.random !== undefined) c.random = o.random;
    return c;
  }

  private createTransport(acceptUnknownPeers: boolean): TcpTransport {
    const t = new TcpTransport({
      ...(this.opts.transport ?? {}),
      ...(this.opts.tls !== undefined ? { tls: this.opts.tls } : {}),
      id: this.id,
      clusterId: this.cfg.clusterId,
      listen: this.opts.listen,
      acceptUnknownPeers,
      onMessage: (m) => this.onMessage(m),
      onUnreachable: (id) => {
        if (this.lifecycle !== 'running') return;
        this.raw.reportUnreachable(id);
        this.schedule();
      },
      onSnapshotStatus: (id, s) => {
        if (this.lifecycle !== 'running') return;
        this.raw.reportSnapshot(
          id,
          s === 'finish' ? SnapshotStatus.Finish : SnapshotStatus.Failure,
        );
        this.schedule();
      },
      logger: this.logger.child({ component: 'transport' }),
    });
    // The addresses we were given, then those the log and snapshot recorded (which win).
    for (const [id, addr] of this.cfg.peers) if (id !== this.id) t.addPeer(id, addr);
    for (const [id, addr] of this.membership.addrs) if (id !== this.id) t.addPeer(id, addr);
    return t;
  }

  /**
   * Stops ticking, closes the transport, lets the storage write in flight finish and closes
   * the data directory. Pending requests reject with ErrStopped. Idempotent.
   */
  stop(): Promise<void> {
    if (this.stopping === null) this.stopping = this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    if (this.starting !== null) await this.starting.catch(() => {});
    if (this.lifecycle === 'new' || this.lifecycle === 'stopped') {
      this.lifecycle = 'stopped';
      this.closeWatchers();
      return;
    }
    this.lifecycle = 'stopping';
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    this.rejectPending((o) => new ErrStopped(o));
    await this.transport?.stop();
    await Promise.allSettled([this.appending, this.applying]);
    await this.snapshots.idle();
    if (this.deferredCommitTimer !== null) clearTimeout(this.deferredCommitTimer);
    if (this.deferredCommit !== null && this.failure === null) {
      await this.storage.save({ hardState: this.deferredCommit }).catch(() => {});
    }
    await this.storage.close().catch((err: unknown) => {
      this.logger.warn({ err }, 'closing storage failed');
    });
    this.lifecycle = 'stopped';
    this.closeWatchers();
    this.logger.info({ applied: this.applied, term: this.term }, 'raft node stopped');
  }

  private closeWatchers(): void {
    // A stopped node knows no leader.
    const cur = this.leaderCell.get();
    if (cur.leader !== null || cur.role !== 'follower') {
      this.leaderCell.set({ leader: null, term: cur.term, role: 'follower' });
    }
    this.leaderCell.close();
    this.appliedCell.close();
  }

  private rejectPending(err: (outcome: Outcome) => Error): void {
    const ws = [...this.leaderWaiters];
    this.leaderWaiters.clear();
    for (const w of ws) w.fail(err('dropped'));
    this.proposals.rejectAll(() => err('indeterminate'));
    this.reads.rejectAll(() => err('dropped'));
  }

  /** An unrecoverable error (storage, state machine): fail every request and stop. */
  private fail(err: unknown): void {
    if (this.failure !== null || this.lifecycle !== 'running') return;
    this.failure = err;
    this.logger.error({ err }, 'raft node failed; stopping');
    this.rejectPending(() => new ErrNodeFailed(err));
    if (this.listenerCount('error') > 0) {
      queueMicrotask(() => this.emit('error', err instanceof Error ? err : new Error(String(err))));
    }
    void this.stop();
  }

  // ---- the Ready loop --------------------------------------------------------------------

  private tick(): void {
    if (this.lifecycle !== 'running') return;
    this.ticks++;
    this.raw.tick();
    // Read requests dropped for want of a leader are sent again after an election timeout.
    for (const ctx of this.reads.resend(this.ticks, this.ticks - this.cfg.electionTick)) {
      this.raw.readIndex(ctx);
    }
    this.schedule();
  }

  private onMessage(m: Message): void {
    if (this.lifecycle !== 'running') return;
    try {
      this.raw.step(m);
    } catch (err) {
      // A forwarded proposal we cannot take (not leader any more, transfer in progress, ...)
      // or a response from a node that is no longer a member: raft tolerates the loss.
      this.logger.debug({ err, from: m.from, type: m.type }, 'message not stepped');
    }
    this.schedule();
  }

  /** Runs the loop once the current turn of the event loop is done (batching its events). */
  private schedule(): void {
    if (this.scheduled || this.lifecycle !== 'running') return;
    this.scheduled = true;
    setImmediate(this.processFn);
  }

  private process(): void {
    this.scheduled = false;
    if (this.lifecycle !== 'running') return;
    try {
      while (this.raw.hasReady()) this.handleReady(this.raw.ready());
    } catch (err) {
      this.fail(err);
      return;
    }
    // Proposals that waited for a leader go now (they schedule the next turn).
    if (this.leaderWaiters.size > 0 && this.raw.raft.lead !== 0) {
      const ws = [...this.leaderWaiters];
      this.leaderWaiters.clear();
      for (const w of ws) w.run();
    }
    this.flushOutbox();
    if (this.appendQueue.length > 0 && !this.appendRunning) {
      this.appendRunning = true;
      this.appending = this.runAppends();
    }
    if (this.applyQueue.length > 0 && !this.applyRunning) {
      this.applyRunning = true;
      this.applying = this.runApplies();
    }
  }

  private handleReady(rd: Ready): void {
    // Entries first: an overwrite of one of our entries must be seen before the new epoch.
    this.proposals.onAppend(rd.entries);
    if (rd.hardState !== undefined) {
      this.term = rd.hardState.term;
      if (rd.hardState.commit > this.commit) this.commit = rd.hardState.commit;
    }
    if (rd.softState !== undefined) this.onSoftState(rd.softState);
    this.publishLeader();
    if (rd.readStates.length > 0) this.reads.onReadStates(rd.readStates, this.applied);
    for (const m of rd.messages) {
      if (m.to === LocalAppendThread) this.appendQueue.push(m);
      else if (m.to === LocalApplyThread) this.applyQueue.push(m);
      else this.outbox.push(m);
    }
  }

  private onSoftState(ss: SoftState): void {
    const s = ss.raftState;
    if (
      (s === StateType.PreCandidate || s === StateType.Candidate) &&
      this.raftState !== StateType.PreCandidate &&
      this.raftState !== StateType.Candidate
    ) {
      this.stats.elections++;
    }
    this.raftState = s;
    this.lead = ss.lead;
  }

  /** Publishes leader, term and role when they changed; a new epoch settles requests. */
  private publishLeader(): void {
    const cur = this.leaderCell.get();
    const leader = this.lead === 0 ? null : this.lead;
    const role = ROLES[this.raftState];
    if (cur.leader === leader && cur.term === this.term && cur.role === role) return;
    const state: LeaderState = { leader, term: this.term, role };
    this.leaderCell.set(state);
    if (cur.leader !== leader || cur.term !== this.term) {
      if (leader !== null && cur.leader !== leader) this.stats.leaderChanges++;
      this.proposals.onEpoch(this.term, this.lead, this.commit);
      // A new leader: reads still waiting for an index ask it at once.
      if (leader !== null) {
        for (const ctx of this.reads.resend(this.ticks, Number.POSITIVE_INFINITY)) {
          this.raw.readIndex(ctx);
        }
      }
      this.logger.info({ leader, term: this.term, role }, 'leader changed');
    }
    queueMicrotask(() => this.emit('leaderChange', state));
  }

  private flushOutbox(): void {
    if (this.outbox.length === 0 || this.transport === null) return;
    const out = this.outbox;
    this.outbox = [];
    this.transport.send(out);
  }

  /** Delivers the responses of a finished storage write or apply. */
  private deliver(responses: readonly Message[]): void {
    for (const r of responses) {
      if (r.to !== this.id) {
        this.outbox.push(r);
        continue;
      }
      try {
        this.raw.step(r);
      } catch (err) {
        this.logger.debug({ err, type: r.type }, 'local response not stepped');
      }
    }
    this.schedule();
  }

  // ---- the append worker: group commit ---------------------------------------------------

  private async runAppends(): Promise<void> {
    try {
      while (this.appendQueue.length > 0 && this.lifecycle === 'running') {
        const b = takeAppendBatch(this.appendQueue);
        if (this.deferCommitOnly(b)) continue;
        // Entries before the snapshot must be applied before the state machine is replaced.
        if (b.snapshot !== null) await this.applyIdle();
        const t0 = performance.now();
        await this.storage.save({
          hardState: b.hardState,
          entries: b.entries,
          snapshot: b.snapshot,
        });
        this.stats.fsync.observe((performance.now() - t0) / 1000);
        this.stats.saves++;
        this.stats.entriesSaved += b.entries.length;
        if (this.lifecycle !== 'running') break;
        this.snapshots.afterWrite();
        if (b.snapshot !== null) await this.installSnapshot(b.snapshot);
        this.deliver(b.responses);
      }
    } catch (err) {
      this.fail(err);
    }
    // Same synchronous turn as the last queue check: a later push starts a new worker.
    this.appendRunning = false;
  }

  /**
   * A write that only moves the commit index needs no fsync of its own (etcd does not sync
   * it either: a restart learns the commit index again from the leader), and nothing waits
   * for it. Holding it back spares one fsync per round of proposals: it rides along with the
   * next write, or goes out on its own after a tick (snapshots wait for a durable commit index).
   */
  private deferCommitOnly(b: AppendBatch): boolean {
    const hs = b.hardState;
    const saved = this.storage.hardState();
    if (hs !== null && b.entries.length === 0 && b.snapshot === null && b.responses.length === 0) {
      if (hs.term === saved.term && hs.vote === saved.vote && !this.flushCommitNow) {
        this.deferredCommit = hs;
        this.deferredCommitTimer ??= setTimeout(() => this.flushDeferredCommit(), this.cfg.tickMs);
        return true;
      }
    }
    this.flushCommitNow = false;
    // Anything else carries the newest hard state it knows of, deferred or not.
    if (this.deferredCommit !== null && hs === null) b.hardState = this.deferredCommit;
    this.deferredCommit = null;
    return false;
  }

  private flushDeferredCommit(): void {
    this.deferredCommitTimer = null;
    const hs = this.deferredCommit;
    if (hs === null || this.lifecycle !== 'running') return;
    this.flushCommitNow = true;
    this.appendQueue.push(
      newMessage({
        type: MessageType.MsgStorageAppend,
        term: hs.term,
        vote: hs.vote,
        commit: hs.commit,
      }),
    );
    this.schedule();
  }

  private async applyIdle(): Promise<void> {
    while (this.applyRunning) await this.applying;
  }

  // ---- the apply worker ------------------------------------------------------------------

  private async runApplies(): Promise<void> {
    try {
      while (this.applyQueue.length > 0 && this.lifecycle === 'running') {
        const msgs = this.applyQueue.splice(0);
        for (const m of msgs) {
          await this.applyEntries(m.entries);
          if (this.lifecycle !== 'running') break;
          this.deliver(m.responses);
        }
        this.afterApply();
        await this.snapshots.afterApply(this.applied, () => this.takeSnapshot());
      }
    } catch (err) {
      this.fail(err);
    }
    this.applyRunning = false;
  }

  private async applyEntries(entries: readonly Entry[]): Promise<void> {
    let batch: AppliedEntry[] = [];
    let seqs: number[] = [];
    let upTo = this.applied;
    for (const e of entries) {
      if (e.index <= this.applied) continue; // already in the restored snapshot
      if (e.type === EntryType.EntryNormal) {
        const env = decodeEntryData(e.data);
        if (env !== null) {
          batch.push({ index: e.index, term: e.term, data: env.payload, proposer: env.proposer });
          seqs.push(env.proposer === this.id ? ownSeq(e.data, this.session) : -1);
        }
      } else {
        if (batch.length > 0) {
          await this.applyBatch(batch, seqs, upTo);
          batch = [];
          seqs = [];
        }
        this.applied = e.index;
        this.applyConfEntry(e);
      }
      upTo = e.index;
      this.stats.entriesApplied++;
    }
    if (batch.length > 0) await this.applyBatch(batch, seqs, upTo);
    if (upTo > this.applied) this.applied = upTo;
  }

  /** Applies a batch of normal entries, the last entry handled being `upTo`. */
  private async applyBatch(batch: AppliedEntry[], seqs: number[], upTo: number): Promise<void> {
    const t0 = performance.now();
    const results = await this.sm.apply(batch);
    this.stats.apply.observe((performance.now() - t0) / 1000);
    // Applied before anyone hears of it: a resolved proposal implies appliedIndex() covers it.
    this.applied = upTo;
    for (let i = 0; i < seqs.length; i++) {
      if (seqs[i]! >= 0) this.proposals.applied(seqs[i]!, results[i]);
    }
  }

  private applyConfEntry(e: Entry): void {
    const cc: AnyConfChange =
      e.type === EntryType.EntryConfChange ? decodeConfChange(e.data) : decodeConfChangeV2(e.data);
    const v2 = asV2(cc);
    const ctx = decodeConfContext(v2.context);
    const seq = ctx.session === this.session.hex && typeof ctx.seq === 'number' ? ctx.seq : -1;
    let cs: ReturnType<RawNode['applyConfChange']>;
    try {
      cs = this.raw.applyConfChange(cc);
    } catch (err) {
      // Every member refuses the same change the same way: skipping it keeps them in step.
      if (!(err instanceof ErrInvalidConfChange)) throw err;
      this.logger.warn({ err, index: e.index }, 'invalid conf change skipped');
      if (seq >= 0) this.proposals.reject(seq, new ErrBadMembership(err.message));
      return;
    }
    // A new member whose log must start with a snapshot can only use one that lists it: the
    // one we have predates it, so take a fresh one (else the leader resends the old in a loop).
    const adds = v2.changes.some(
      (c) => c.type !== ConfChangeType.ConfChangeRemoveNode && !this.membership.has(c.nodeId),
    );
    if (adds && this.storage.firstIndex() > 1) this.snapshots.requestSoon();
    this.updatePeers(this.membership.apply(v2, ctx, cs));
    this.logger.info({ index: e.index, members: this.membership.list() }, 'membership changed');
    const removedSelf = v2.changes.some(
      (c) => c.type === ConfChangeType.ConfChangeRemoveNode && c.nodeId === this.id,
    );
    if (removedSelf) queueMicrotask(() => this.emit('removed'));
    if (seq >= 0) this.proposals.applied(seq, this.membership.list());
  }

  private updatePeers(ch: AddressChanges): void {
    const t = this.transport;
    if (t === null) return;
    for (const id of ch.removed) if (id !== this.id) t.removePeer(id);
    for (const [id, addr] of ch.set) {
      if (id === this.id) continue;
      try {
        t.addPeer(id, addr);
      } catch (err) {
        this.logger.warn({ err, peer: id, addr }, 'bad peer address in the log');
      }
    }
  }

  private afterApply(): void {
    this.reads.onApplied(this.applied);
    this.appliedCell.set(this.applied);
  }

  // ---- snapshots -------------------------------------------------------------------------

  /** The state machine's snapshot as of `applied`, with what RaftNode keeps beside it. */
  private async takeSnapshot(): Promise<TakenSnapshot> {
    const index = this.applied;
    const data = await this.sm.snapshot();
    const bytes = encodeSnapshotData({ members: this.membership.toRecord() }, data);
    return { index, bytes, confState: cloneConfState(this.membership.confState) };
  }

  /** A snapshot from the leader is durable: replace the state machine with it. */
  private async installSnapshot(snap: Snapshot): Promise<void> {
    await this.restoreSnapshot(snap);
    this.proposals.onSnapshot(snap.metadata.index);
    this.stats.snapshotsRestored++;
    this.logger.info(
      { index: snap.metadata.index, term: snap.metadata.term },
      'snapshot installed',
    );
    this.afterApply();
  }

  private async restoreSnapshot(snap: Snapshot): Promise<void> {
    const { meta, data } = decodeSnapshotData(snap.data);
    await this.sm.restore(data);
    const index = snap.metadata.index;
    this.applied = index;
    this.snapshots.installed(index);
    if (this.commit < index) this.commit = index;
    this.updatePeers(this.membership.reset(snap.metadata.confState, meta.members));
  }

  // ---- requests --------------------------------------------------------------------------

  /**
   * Proposes `data` for the log. Resolves with the state machine's result for it once it is
   * applied on this node. Waits for a leader if none is known; a follower forwards the
   * proposal to the leader. Rejects with raft-core's ErrProposalDropped when raft refused it
   * (transfer in progress, too much uncommitted, ...), ErrProposalIndeterminate when leadership
   * changed before it was known to commit, ErrStopped or ErrAborted (see outcomeOf).
   */
  propose(data: Uint8Array, options: RequestOptions = {}): Promise<R> {
    return this.submit<R>(
      (seq) => this.raw.propose(encodeEntryData(this.id, this.session, seq, data)),
      options,
    );
  }

  /** Adds a voter; `addr` is its raft address. Resolves with the members once applied here. */
  addNode(id: NodeId, addr: string, options: RequestOptions = {}): Promise<Member[]> {
    if (this.membership.has(id) && !this.membership.isLearner(id)) {
      return Promise.reject(new ErrBadMembership(`node ${id} is already a voter`));
    }
    return this.changeMembership(ConfChangeType.ConfChangeAddNode, id, addr, options);
  }

  /** Adds a learner: it receives the log but does not vote. Promote it once it caught up. */
  addLearner(id: NodeId, addr: string, options: RequestOptions = {}): Promise<Member[]> {
    if (this.membership.has(id)) {
      return Promise.reject(new ErrBadMembership(`node ${id} is already a member`));
    }
    return this.changeMembership(ConfChangeType.ConfChangeAddLearnerNode, id, addr, options);
  }

  /** Makes a learner a voter. */
  promote(id: NodeId, options: RequestOptions = {}): Promise<Member[]> {
    if (!this.membership.isLearner(id)) {
      return Promise.reject(new ErrBadMembership(`node ${id} is not a learner`));
    }
    const addr = this.membership.addrs.get(id) ?? '';
    return this.changeMembership(ConfChangeType.ConfChangeAddNode, id, addr, options);
  }

  /** Removes a member (voter or learner). Removing this node makes it stop taking part. */
  removeNode(id: NodeId, options: RequestOptions = {}): Promise<Member[]> {
    if (!this.membership.has(id)) {
      return Promise.reject(new ErrBadMembership(`node ${id} is not a member`));
    }
    const cs = this.membership.confState;
    if (cs.voters.length === 1 && cs.voters[0] === id) {
      return Promise.reject(new ErrBadMembership(`node ${id} is the last voter`));
    }
    return this.changeMembership(ConfChangeType.ConfChangeRemoveNode, id, '', options);
  }

  private changeMembership(
    type: ConfChangeType,
    nodeId: NodeId,
    addr: string,
    options: RequestOptions,
  ): Promise<Member[]> {
    return this.submit<Member[]>((seq) => {
      const ctx = { ...(addr !== '' ? { addr } : {}), session: this.session.hex, seq };
      this.raw.proposeConfChange({ type, nodeId, context: encodeConfContext(ctx), id: 0 });
    }, options);
  }

  /**
   * Steps a proposal into raft and tracks it until its entry is applied (or its fate is lost).
   * With no leader known it waits for one first, as etcd's Node.Propose does.
   */
  private submit<T>(step: (seq: number) => void, options: RequestOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.lifecycle !== 'running') {
        reject(this.notRunning('dropped'));
        return;
      }
      const signal = options.signal;
      if (signal?.aborted) {
        reject(new ErrAborted('dropped', signal.reason));
        return;
      }
      const go = (): void => this.submitNow(step, signal, resolve as (v: unknown) => void, reject);
      if (this.raw.raft.lead !== 0) {
        go();
        return;
      }
      const waiter: LeaderWaiter = {
        run: () => {
          signal?.removeEventListener('abort', onAbort);
          go();
        },
        fail: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = (): void => {
        if (this.leaderWaiters.delete(waiter)) reject(new ErrAborted('dropped', signal?.reason));
      };
      this.leaderWaiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private submitNow(
    step: (seq: number) => void,
    signal: AbortSignal | undefined,
    resolve: (v: unknown) => void,
    reject: (e: unknown) => void,
  ): void {
    if (this.lifecycle !== 'running') {
      reject(this.notRunning('dropped'));
      return;
    }
    const onAbort = (): void => {
      if (!this.proposals.remove(seq)) return;
      this.stats.proposalsFailed++;
      reject(new ErrAborted('indeterminate', signal?.reason));
    };
    const raft = this.raw.raft;
    const seq = this.proposals.add(
      raft.term,
      raft.lead,
      (v) => {
        signal?.removeEventListener('abort', onAbort);
        this.stats.proposalsApplied++;
        resolve(v);
      },
      (e) => {
        signal?.removeEventListener('abort', onAbort);
        this.stats.proposalsFailed++;
        reject(e);
      },
    );
    try {
      step(seq);
    } catch (err) {
      this.proposals.remove(seq);
      if (err instanceof ErrProposalDropped) this.stats.proposalsDropped++;
      reject(err);
      return;
    }
    // As leader the entry is in our log now: remember where, to notice a refusal or overwrite.
    if (raft.state === StateType.Leader) {
      this.proposals.appendedAt(seq, raft.raftLog.lastIndex(), raft.term);
    }
    this.stats.proposalsSubmitted++;
    signal?.addEventListener('abort', onAbort, { once: true });
    this.schedule();
  }

  /**
   * A linearizable read barrier: resolves (with the read index) once this node has applied
   * everything committed before the call, as confirmed by the current leader (ReadIndex).
   * Read the state machine after it resolves. Waits through elections; pass a signal to bound it.
   */
  read(options: RequestOptions = {}): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      if (this.lifecycle !== 'running') {
        reject(this.notRunning('dropped'));
        return;
      }
      const signal = options.signal;
      if (signal?.aborted) {
        reject(new ErrAborted('dropped', signal.reason));
        return;
      }
      const onAbort = (): void => {
        if (this.reads.remove(seq)) reject(new ErrAborted('dropped', signal?.reason));
      };
      const { seq, ctx } = this.reads.add(
        this.ticks,
        (index) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(index);
        },
        (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.stats.reads++;
      this.raw.readIndex(ctx);
      this.schedule();
    });
  }

  private notRunning(outcome: Outcome): Error {
    return this.failure !== null ? new ErrNodeFailed(this.failure) : new ErrStopped(outcome);
  }

  // ---- leadership ------------------------------------------------------------------------

  /** Whether this node is the leader (as of the last loop turn). */
  isLeader(): boolean {
    return this.leaderCell.get().role === 'leader';
  }

  /** The leader's id, or null when none is known. */
  leader(): NodeId | null {
    return this.leaderCell.get().leader;
  }

  leaderState(): LeaderState {
    return this.leaderCell.get();
  }

  /**
   * The current leader state at once, then every change; a slow consumer skips intermediate
   * states but always gets the newest. Ends when the node stops or `signal` aborts.
   */
  leaderChanges(options: RequestOptions = {}): AsyncGenerator<LeaderState, void, undefined> {
    return this.leaderCell.watch(options.signal);
  }

  /** Resolves with the leader's id once one is known (at once if it is). */
  async waitForLeader(options: RequestOptions = {}): Promise<NodeId> {
    const s = await this.leaderCell.until((v) => v.leader !== null, options.signal);
    if (s?.leader != null) return s.leader;
    if (options.signal?.aborted) throw new ErrAborted('dropped', options.signal.reason);
    throw this.notRunning('dropped');
  }

  /** Starts an election now (with a pre-vote round when preVote is on). */
  campaign(): void {
    if (this.lifecycle !== 'running') throw this.notRunning('dropped');
    this.raw.campaign();
    this.schedule();
  }

  /**
   * Hands leadership to `to` (asking the leader to, from a follower). Resolves once `to` leads;
   * rejects with ErrTransferFailed if it does not within two election timeouts.
   */
  async transferLeadership(to: NodeId, options: RequestOptions = {}): Promise<void> {
    if (this.lifecycle !== 'running') throw this.notRunning('dropped');
    if (!this.membership.has(to) || this.membership.isLearner(to)) {
      throw new ErrBadMembership(`node ${to} is not a voter`);
    }
    if (this.leader() === to) return;
    this.raw.transferLeader(to);
    this.schedule();
    const timeout = AbortSignal.timeout(2 * this.cfg.electionTick * this.cfg.tickMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const s = await this.leaderCell.until((v) => v.leader === to, signal);
    if (s !== undefined) return;
    if (options.signal?.aborted) throw new ErrAborted('dropped', options.signal.reason);
    if (timeout.aborted) throw new ErrTransferFailed(`node ${to} did not take over in time`);
    throw this.notRunning('dropped');
  }

  // ---- observation -----------------------------------------------------------------------

  /** 'new', 'starting', 'running', 'stopping' or 'stopped' (after stop() or a failure). */
  get state(): Lifecycle {
    return this.lifecycle;
  }

  status(): NodeStatus {
    if (this.lifecycle === 'new' || this.lifecycle === 'starting') throw this.notRunning('dropped');
    const s = this.raw.status();
    const l = this.leaderCell.get();
    const open = this.lifecycle === 'running';
    return {
      ...s,
      role: l.role,
      leader: l.leader,
      appliedIndex: this.applied,
      snapshotIndex: this.snapshots.index,
      firstIndex: open ? this.storage.firstIndex() : 0,
      lastIndex: open ? this.storage.lastIndex() : 0,
      members: this.membership.list(),
    };
  }

  /** The members and their raft addresses, as of the last applied conf change. */
  members(): Member[] {
    return this.membership.list();
  }

  /** The last index applied to the state machine. */
  appliedIndex(): number {
    return this.applied;
  }

  /** The address the transport listens on ("host:port"), once started. */
  get addr(): string | null {
    return this.transport?.addr ?? null;
  }

  metrics(): NodeMetrics {
    return this.stats.snapshot();
  }

  transportStats(): TransportStats | null {
    return this.transport?.stats() ?? null;
  }

  /**
   * Committed (and applied) entries from index `from` on, old ones read from the log, then
   * new ones as they are applied. Throws raft-core's ErrCompacted when `from` (or where a slow
   * reader got to) was compacted away. Ends when the node stops or `signal` aborts.
   */
  async *committedEntries(
    from = 1,
    options: RequestOptions = {},
  ): AsyncGenerator<CommittedEntry, void, undefined> {
    let next = Math.max(1, from);
    const signal = options.signal;
    for await (const applied of this.appliedCell.watch(signal)) {
      while (next <= applied) {
        if (this.lifecycle !== 'running' || signal?.aborted) return;
        if (next < this.storage.firstIndex()) {
          throw new ErrCompacted(
            `entry ${next} was compacted (first index ${this.storage.firstIndex()})`,
          );
        }
        const hi = Math.min(applied, next + 1023) + 1;
        for (const e of this.storage.entries(next, hi, 4 << 20)) {
          yield toCommittedEntry(e);
          next = e.index + 1;
        }
      }
    }
  }
}
