// The state RaftNode's parts share (the Ready loop, the workers, request submission, ...): one
// object, so that each part lives in its own file and all read the same raft, storage and
// counters. Internal: nothing here is public API.
import type { EventEmitter } from 'node:events';
import path from 'node:path';
import { type NodeId, type RawNode, StateType } from '@tsraft/raft-core';
import { type Logger, pino } from 'pino';
import { Session } from './envelope.js';
import { ErrNodeFailed, ErrRemoved, ErrStopped, type Outcome } from './errors.js';
import { Membership } from './membership.js';
import { Metrics } from './metrics.js';
import type { LeaderState, Lifecycle, RaftNodeEvents } from './node-types.js';
import { type RaftNodeOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { ProposalTracker } from './proposals.js';
import { ReadTracker } from './reads.js';
import type { GroupHooks, NodeStorage, NodeTransport } from './seams.js';
import { SnapshotFiles } from './snapshot-files.js';
import { SnapshotSends } from './snapshot-sends.js';
import { Snapshotter, type SnapshotterHost } from './snapshotter.js';
import { type AnyStateMachine, isOnDisk } from './state-machine.js';
import { Latest } from './watch.js';

/** A request waiting for a leader to be known before it is stepped. */
export interface LeaderWaiter {
  run(): void;
  fail(err: Error): void;
}

export class NodeContext<R = unknown> {
  readonly id: NodeId;
  readonly logger: Logger;
  readonly opts: RaftNodeOptions<R>;
  readonly cfg: ResolvedOptions;
  readonly sm: AnyStateMachine<R>;
  /** State machine snapshots on disk (dataDir/sm-snap). */
  readonly files: SnapshotFiles;
  lifecycle: Lifecycle = 'new';
  failure: unknown = null;
  /** This node was removed from the cluster (removal.ts): it takes no more requests. */
  removed = false;

  raw!: RawNode;
  storage!: NodeStorage;
  transport: NodeTransport | null = null;

  readonly session = new Session();
  readonly proposals = new ProposalTracker(this.session);
  readonly reads = new ReadTracker(this.session);
  readonly membership = new Membership();
  readonly stats = new Metrics();
  readonly leaderCell = new Latest<LeaderState>({ leader: null, term: 0, role: 'follower' });
  readonly appliedCell = new Latest<number>(0);
  readonly snapshots: Snapshotter;
  /** Snapshots streamed to peers until they installed them: the log keeps what follows. */
  readonly snapshotSends = new SnapshotSends();
  /** Proposals waiting for a leader to be known before they are stepped. */
  readonly leaderWaiters = new Set<LeaderWaiter>();

  // What the loop has seen of raft's state. Invariant: snapshot index <= applied <= commit.
  term = 0;
  lead: NodeId = 0;
  raftState = StateType.Follower;
  commit = 0;
  applied = 0;
  /**
   * Normal entries up to this index are in the on-disk state machine already (its applied
   * index at start, or after a snapshot from the leader, whose view was taken after the
   * snapshot's index): they are not applied again. 0 for in-memory state machines.
   */
  smApplied = 0;
  ticks = 0;

  /** Runs the Ready loop soon (set by RaftNode once the loop exists). */
  schedule: () => void = () => {};
  /** Stops the node (RaftNode.stop). */
  stop: () => Promise<void> = () => Promise.resolve();
  /** A snapshot from the leader is being installed: no snapshot is taken meanwhile. */
  installing = false;
  /** Asks the apply worker whether a snapshot is due (set by RaftNode). */
  recheckSnapshot: () => void = () => {};
  /** Runs `fn` between two applies of the apply worker (set by RaftNode). */
  applyBetween: <T>(fn: () => T) => Promise<T> = (fn) => Promise.resolve().then(fn);
  /** Runs `fn` while no apply is in flight, none starting until it settles (apply-worker.ts). */
  applyExclusive: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn();

  constructor(
    options: RaftNodeOptions<R>,
    readonly events: EventEmitter<RaftNodeEvents>,
    /** Set when this node is a group of a RaftHost (host.ts), else null. */
    readonly group: GroupHooks | null = null,
  ) {
    this.cfg = resolveOptions(options as RaftNodeOptions<unknown>);
    this.opts = options;
    this.id = options.id;
    this.sm = options.stateMachine;
    // A RaftHost's groups make their directory with their first snapshot file.
    this.files = new SnapshotFiles(
      path.join(options.dataDir, 'sm-snap'),
      group !== null,
      group?.noDataDir === true,
    );
    const base = options.logger ?? pino({ name: 'raft-node', level: 'info' });
    this.logger = base.child({ node: options.id });
    this.snapshots = new Snapshotter(new SnapshotterLink(this as NodeContext));
  }

  /**
   * The level of routine lines (started, leader changed, membership changed): info for a
   * node of its own, debug for a RaftHost's groups, thousands of which change at once.
   */
  get routine(): 'info' | 'debug' {
    return this.group === null ? 'info' : 'debug';
  }

  get running(): boolean {
    return this.lifecycle === 'running';
  }

  /** Running and still a member: requests are taken. */
  get accepting(): boolean {
    return this.lifecycle === 'running' && !this.removed;
  }

  /** The leader raft knows right now (the loop's `lead` may lag it by a turn). */
  rawLead(): NodeId {
    return this.raw.raft.lead;
  }

  notRunning(outcome: Outcome): Error {
    if (this.failure !== null) return new ErrNodeFailed(this.failure);
    return this.removed ? new ErrRemoved(outcome) : new ErrStopped(outcome);
  }

  rejectPending(err: (outcome: Outcome) => Error): void {
    const ws = [...this.leaderWaiters];
    this.leaderWaiters.clear();
    for (const w of ws) w.fail(err('dropped'));
    this.proposals.rejectAll(() => err('indeterminate'));
    this.reads.rejectAll(() => err('dropped'));
  }

  /** An unrecoverable error (storage, state machine): fail every request and stop. */
  fail(err: unknown): void {
    if (this.failure !== null || this.lifecycle !== 'running') return;
    this.failure = err;
    this.logger.error({ err }, 'raft node failed; stopping');
    this.rejectPending(() => new ErrNodeFailed(err));
    if (this.events.listenerCount('error') > 0) {
      const e = err instanceof Error ? err : new Error(String(err));
      queueMicrotask(() => this.events.emit('error', e));
    }
    void this.stop();
  }

  /** Read requests and waiters learn of a new applied index. */
  publishApplied(): void {
    this.reads.onApplied(this.applied);
    this.appliedCell.set(this.applied);
  }
}

/** The node as its Snapshotter sees it: methods, not closures (a RaftHost has thousands). */
class SnapshotterLink implements SnapshotterHost {
  constructor(private readonly ctx: NodeContext) {}
  storage(): NodeStorage {
    return this.ctx.storage;
  }
  get files(): SnapshotFiles {
    return this.ctx.files;
  }
  get logger(): Logger {
    return this.ctx.logger;
  }
  get stats(): Metrics {
    return this.ctx.stats;
  }
  get interval(): number {
    return this.ctx.cfg.snapshotInterval;
  }
  get catchUpEntries(): number {
    return this.ctx.cfg.snapshotCatchUpEntries;
  }
  running(): boolean {
    return this.ctx.lifecycle === 'running';
  }
  fail(err: unknown): void {
    this.ctx.fail(err);
  }
  syncStateMachine(): Promise<void> {
    const sm = this.ctx.sm;
    return isOnDisk(sm) ? sm.sync() : Promise.resolve();
  }
  recheck(): void {
    this.ctx.recheckSnapshot();
  }
  compactionBound(): number {
    const ctx = this.ctx;
    if (ctx.snapshotSends.size === 0) return Number.POSITIVE_INFINITY;
    const progress = ctx.raw.status().progress; // one status for all the peers
    return ctx.snapshotSends.compactionBound((id) => progress.get(id)?.match);
  }
}
