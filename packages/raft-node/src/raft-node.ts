// RaftNode: the batteries-included driver. It owns a RawNode (in asyncStorageWrites mode), a
// LevelStorage and a TcpTransport, ticks on a timer, and runs the Ready loop (ready-loop.ts):
// messages go out at once, writes are group-committed (append-worker.ts), committed entries
// are applied beside them (apply-worker.ts). This file is the public face; the parts share
// their state through NodeContext (context.ts). See README, "The Ready loop".
import { EventEmitter } from 'node:events';
import { ErrUsage, type NodeId } from '@tsraft/raft-core';
import type { TransportStats } from '@tsraft/raft-transport-tcp';
import type { Logger } from 'pino';
import { AppendWorker } from './append-worker.js';
import { ApplyWorker } from './apply-worker.js';
import type { CommittedEntry } from './committed.js';
import { NodeContext } from './context.js';
import { committedEntries } from './entries-iterator.js';
import { encodeEntryData } from './envelope.js';
import { ErrAborted, ErrBadMembership, ErrTransferFailed } from './errors.js';
import { NodeRunner } from './lifecycle.js';
import type { Member } from './membership.js';
import type { NodeMetrics } from './metrics.js';
import type {
  LeaderState,
  Lifecycle,
  NodeStatus,
  RaftNodeEvents,
  RequestOptions,
} from './node-types.js';
import type { RaftNodeOptions } from './options.js';
import { ReadyLoop } from './ready-loop.js';
import * as requests from './requests.js';
import type { GroupHooks } from './seams.js';
import { submit } from './submit.js';

export type {
  LeaderState,
  Lifecycle,
  NodeStatus,
  RaftNodeEvents,
  RequestOptions,
  Role,
} from './node-types.js';

export class RaftNode<R = unknown> extends EventEmitter<RaftNodeEvents> {
  readonly id: NodeId;
  readonly logger: Logger;
  private readonly ctx: NodeContext<R>;
  private readonly runner: NodeRunner;
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;

  /** The raft group this node is a replica of: 0 for a RaftNode of its own, else a RaftHost's. */
  readonly groupId: number;

  /** `group` is internal: RaftHost passes it for its groups. */
  constructor(options: RaftNodeOptions<R>, group?: GroupHooks) {
    super();
    const ctx = new NodeContext<R>(options, this, group ?? null);
    this.ctx = ctx;
    this.id = ctx.id;
    this.groupId = group?.groupId ?? 0;
    this.logger = ctx.logger;
    const c = ctx as NodeContext;
    const deliver = (r: Parameters<ReadyLoop['deliver']>[0]): void => loop.deliver(r);
    const applies = new ApplyWorker(c, deliver);
    const appends = new AppendWorker(c, applies, deliver);
    const loop = new ReadyLoop(c, appends, applies);
    ctx.schedule = () => loop.schedule();
    ctx.stop = () => this.stop();
    ctx.applyBetween = (fn) => applies.between(fn);
    ctx.applyExclusive = (fn) => applies.exclusive(fn);
    ctx.recheckSnapshot = () => applies.checkSnapshot();
    this.runner = new NodeRunner({ ctx: c, loop, appends, applies });
  }

  // ---- lifecycle -------------------------------------------------------------------------

  /**
   * Opens the data directory, restores the state machine from the latest snapshot, then
   * listens and starts ticking. On an empty data directory it bootstraps the cluster from
   * `peers`, or with `join` waits to be contacted by the leader.
   */
  start(): Promise<void> {
    if (this.ctx.lifecycle !== 'new') {
      return Promise.reject(new ErrUsage('start() may be called once'));
    }
    this.ctx.lifecycle = 'starting';
    this.starting = this.runner.start();
    return this.starting;
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
    await this.runner.stop();
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
    const ctx = this.ctx;
    return submit<R>(
      ctx as NodeContext,
      (seq) => ctx.raw.propose(encodeEntryData(ctx.id, ctx.session, seq, data)),
      options,
    );
  }

  /** Adds a voter; `addr` is its raft address. Resolves with the members once applied here. */
  addNode(id: NodeId, addr: string, options: RequestOptions = {}): Promise<Member[]> {
    return requests.addNode(this.ctx as NodeContext, id, addr, options);
  }

  /** Adds a learner: it receives the log but does not vote. Promote it once it caught up. */
  addLearner(id: NodeId, addr: string, options: RequestOptions = {}): Promise<Member[]> {
    return requests.addLearner(this.ctx as NodeContext, id, addr, options);
  }

  /** Makes a learner a voter. */
  promote(id: NodeId, options: RequestOptions = {}): Promise<Member[]> {
    return requests.promote(this.ctx as NodeContext, id, options);
  }

  /**
   * Changes member `id`'s raft address (etcd's MemberUpdate): a conf change that changes no
   * vote, applied in log order, so every member, and any that joins or restarts later, learns
   * it; their transports dial it there from then on (an open connection stays until it drops).
   */
  updateNode(id: NodeId, addr: string, options: RequestOptions = {}): Promise<Member[]> {
    return requests.updateNode(this.ctx as NodeContext, id, addr, options);
  }

  /** Removes a member (voter or learner). Removing this node makes it stop taking part. */
  removeNode(id: NodeId, options: RequestOptions = {}): Promise<Member[]> {
    return requests.removeNode(this.ctx as NodeContext, id, options);
  }

  /**
   * A linearizable read barrier: resolves (with the read index) once this node has applied
   * everything committed before the call, as confirmed by the current leader (ReadIndex).
   * Read the state machine after it resolves. Waits through elections; pass a signal to bound it.
   */
  read(options: RequestOptions = {}): Promise<number> {
    return requests.read(this.ctx as NodeContext, options);
  }

  // ---- leadership ------------------------------------------------------------------------

  /** Whether this node is the leader (as of the last loop turn). */
  isLeader(): boolean {
    return this.ctx.leaderCell.get().role === 'leader';
  }

  /** The leader's id, or null when none is known. */
  leader(): NodeId | null {
    return this.ctx.leaderCell.get().leader;
  }

  leaderState(): LeaderState {
    return this.ctx.leaderCell.get();
  }

  /**
   * The current leader state at once, then every change; a slow consumer skips intermediate
   * states but always gets the newest. Ends when the node stops or `signal` aborts.
   */
  leaderChanges(options: RequestOptions = {}): AsyncGenerator<LeaderState, void, undefined> {
    return this.ctx.leaderCell.watch(options.signal);
  }

  /** Resolves with the leader's id once one is known (at once if it is). */
  async waitForLeader(options: RequestOptions = {}): Promise<NodeId> {
    const s = await this.ctx.leaderCell.until((v) => v.leader !== null, options.signal);
    if (s?.leader != null) return s.leader;
    if (options.signal?.aborted) throw new ErrAborted('dropped', options.signal.reason);
    throw this.ctx.notRunning('dropped');
  }

  /** Starts an election now (with a pre-vote round when preVote is on). */
  campaign(): void {
    const ctx = this.ctx;
    if (!ctx.accepting) throw ctx.notRunning('dropped');
    ctx.raw.campaign();
    ctx.schedule();
  }

  /**
   * Hands leadership to `to` (asking the leader to, from a follower). Resolves once `to` leads;
   * rejects with ErrTransferFailed if it does not within two election timeouts.
   */
  async transferLeadership(to: NodeId, options: RequestOptions = {}): Promise<void> {
    const ctx = this.ctx;
    if (!ctx.accepting) throw ctx.notRunning('dropped');
    if (!ctx.membership.has(to) || ctx.membership.isLearner(to)) {
      throw new ErrBadMembership(`node ${to} is not a voter`);
    }
    if (this.leader() === to) return;
    ctx.raw.transferLeader(to);
    ctx.schedule();
    const timeout = AbortSignal.timeout(2 * ctx.cfg.electionTick * ctx.cfg.tickMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const s = await ctx.leaderCell.until((v) => v.leader === to, signal);
    if (s !== undefined) return;
    if (options.signal?.aborted) throw new ErrAborted('dropped', options.signal.reason);
    if (timeout.aborted) throw new ErrTransferFailed(`node ${to} did not take over in time`);
    throw ctx.notRunning('dropped');
  }

  // ---- observation -----------------------------------------------------------------------

  /** 'new', 'starting', 'running', 'stopping' or 'stopped' (after stop() or a failure). */
  get state(): Lifecycle {
    return this.ctx.lifecycle;
  }

  status(): NodeStatus {
    const ctx = this.ctx;
    if (ctx.lifecycle === 'new' || ctx.lifecycle === 'starting') throw ctx.notRunning('dropped');
    const s = ctx.raw.status();
    const l = ctx.leaderCell.get();
    const open = ctx.running;
    return {
      ...s,
      role: l.role,
      leader: l.leader,
      appliedIndex: ctx.applied,
      snapshotIndex: ctx.snapshots.index,
      firstIndex: open ? ctx.storage.firstIndex() : 0,
      lastIndex: open ? ctx.storage.lastIndex() : 0,
      members: ctx.membership.list(),
    };
  }

  /** The members and their raft addresses, as of the last applied conf change. */
  members(): Member[] {
    return this.ctx.membership.list();
  }

  /** @internal members().length, without building the list (a host asks thousands). */
  memberCount(): number {
    return this.ctx.membership.count();
  }

  /** The last index applied to the state machine. */
  appliedIndex(): number {
    return this.ctx.applied;
  }

  /** The address the transport listens on ("host:port"), once started. */
  get addr(): string | null {
    return this.ctx.transport?.addr ?? null;
  }

  metrics(): NodeMetrics {
    return this.ctx.stats.snapshot();
  }

  transportStats(): TransportStats | null {
    return this.ctx.transport?.stats() ?? null;
  }

  /**
   * Committed (and applied) entries from index `from` on, old ones read from the log, then
   * new ones as they are applied. Throws raft-core's ErrCompacted when `from` (or where a slow
   * reader got to) was compacted away. Ends when the node stops or `signal` aborts.
   */
  committedEntries(
    from = 1,
    options: RequestOptions = {},
  ): AsyncGenerator<CommittedEntry, void, undefined> {
    return committedEntries(this.ctx as NodeContext, from, options);
  }
}
