// A deterministic in-memory Raft cluster: N RawNodes, each with a "disk" that survives
// restarts (persisted hard state, entries, snapshot and a durable state machine), a network
// that loses, duplicates, delays, reorders and partitions messages, and an event queue driven
// by ticks. Every random choice comes from one seeded Rng, so a seed replays a run exactly.
//
// The harness keeps the Ready contract the way an application must:
//   sync mode: persist snapshot, entries and hard state -> send messages -> apply committed
//     entries (conf changes via applyConfChange, in order) -> advance();
//   asyncStorageWrites: MsgStorageAppend / MsgStorageApply go to a per-node append and apply
//     "thread" (FIFO each) that completes writes after random delays and then delivers the
//     message's responses.
// The Checker (checkers.ts) is fed at every step: each delivered message, Ready, storage
// write and tick.
import {
  type ConfChange,
  type ConfChangeV2,
  type ConfState,
  type Config,
  type Entry,
  type FetchContext,
  EntryType,
  ErrLogTemporarilyUnavailable,
  ErrProposalDropped,
  ErrStepPeerNotFound,
  type HardState,
  type Index,
  type InitialState,
  LocalAppendThread,
  LocalApplyThread,
  MemoryStorage,
  type Message,
  MessageType,
  type NodeId,
  RawNode,
  ReadOnlyOption,
  type Ready,
  type Snapshot,
  SnapshotStatus,
  StateType,
  type Term,
  decodeConfChange,
  decodeConfChangeV2,
  decodeMessage,
  describeMessage,
  emptyHardState,
  encodeMessage,
  isEmptySnap,
  newConfState,
} from '@tsraft/raft-core';
import { Checker, SafetyViolation, type TermAt } from './checkers.js';
import type { Rng as RngT } from './prng.js';
import { EventHeap, type HeapItem } from './heap.js';
import { Network, type NetworkOptions } from './network.js';
import { Rng } from './prng.js';
import { StateMachine, type UserStateMachine, encodeSnapshotData } from './state-machine.js';

/** The Config fields a test may set; id, storage, applied and random are the harness's. */
export type RaftOptions = Partial<Omit<Config, 'id' | 'storage' | 'applied' | 'random'>>;

export interface ClusterOptions {
  seed: number;
  /** The initial voters (default [1, 2, 3]). */
  voters?: NodeId[];
  /** Initial learners (needs init 'snapshot'). */
  learners?: NodeId[];
  /**
   * How the initial members start: RawNode.bootstrap(voters) (log entries 1..n are the
   * AddNode changes), or a persisted snapshot at index 1 holding the ConfState.
   */
  init?: 'bootstrap' | 'snapshot';
  /** Config for every node (electionTick 10 and heartbeatTick 1 unless set). */
  raft?: RaftOptions;
  network?: Partial<NetworkOptions>;
  /** Encode and decode every message with the codec on its way through the network. */
  codec?: boolean;
  /** asyncStorageWrites: a write or apply completes after [min, max] ticks. */
  storageDelay?: { min: number; max: number };
  /**
   * Synchronous mode, pipelined like a driver that keeps stepping messages (and ticking)
   * while a Ready is being written, as etcd's Node does: the Ready is handled [min, max]
   * ticks after ready(), and advance() follows; meanwhile the node receives messages.
   */
  pipelineDelay?: { min: number; max: number };
  /** Probability that a node misses a tick (clock drift between nodes). */
  tickSkipRate?: number;
  /**
   * Async log fetch: the probability that a storage read for appending or applying is
   * refused (ErrLogTemporarilyUnavailable) and reported loaded [min, max] ticks later.
   */
  fetch?: { failRate: number; min: number; max: number };
  /** Keep a trace of events (the last `trace` lines; true: 5000). */
  trace?: boolean | number;
  /**
   * Your state machine, one per node (made once: it is part of the node's disk and survives
   * crashes, as a durable state machine does; 'replay' restarts restore it from the snapshot).
   */
  stateMachine?: (id: NodeId) => UserStateMachine;
  /** Called after your state machine applied an entry, with what it returned. */
  onApply?: (id: NodeId, entry: Entry, result: unknown) => void;
  /**
   * Your Ready loop (synchronous mode only): the harness hands it the Ready's steps, it calls
   * each once in its own order, and advance() follows. A crash at 'afterPersist', 'afterSend'
   * or 'afterApply' stops your loop right after that step; 'beforePersist' before any.
   */
  readyLoop?: ReadyLoop;
}

/** The steps of one Ready in synchronous mode, for an application's own loop to order. */
export interface ReadySteps {
  readonly ready: Ready;
  /** Writes rd.snapshot, rd.entries and rd.hardState to the node's disk (one atomic write). */
  persist(): void;
  /** Hands rd.messages to the network. */
  send(): void;
  /** Applies rd.committedEntries to the state machine, conf changes included. */
  apply(): void;
}

export type ReadyLoop = (steps: ReadySteps) => void;

/** Thrown inside a user's Ready loop to stop it where a crash was asked for. */
class CrashHere extends Error {}

/** Where a crash interrupts the node's Ready handling (sync mode). */
export type CrashPoint = 'idle' | 'beforePersist' | 'afterPersist' | 'afterSend' | 'afterApply';
export const crashPoints: readonly CrashPoint[] = [
  'idle',
  'beforePersist',
  'afterPersist',
  'afterSend',
  'afterApply',
];

/**
 * How a node comes back: 'applied' keeps the durable state machine and restarts with
 * Config.applied = its applied index (and the ConfState as of it); 'replay' rebuilds the
 * storage from the snapshot and the log the way etcd does at startup, resets the state
 * machine to the snapshot and re-applies the committed log.
 */
export type RestartMode = 'applied' | 'replay';

/**
 * MemoryStorage that can start a RawNode with the ConfState of the state machine, and can
 * play a store that keeps only part of the log in memory: with `fetchFailRate`, an
 * `entries()` read made for appending or applying is refused with
 * ErrLogTemporarilyUnavailable and reported loaded (onEntriesFetched) a little later.
 */
export class SimStorage extends MemoryStorage {
  confStateOverride: ConfState | null = null;
  fetchFailRate = 0;
  fetchRng: RngT | null = null;
  /** Starts loading what a refused read wanted; the harness reports it done later. */
  onFetch: ((ctx: FetchContext) => void) | null = null;
  /** Reads (by context) whose entries were loaded: the next one succeeds. */
  private readonly loaded = new Set<string>();

  override entries(lo: Index, hi: Index, maxSize: number, ctx?: FetchContext): Entry[] {
    if (ctx !== undefined && this.fetchFailRate > 0 && lo < hi && this.onFetch !== null) {
      const key = `${ctx.why}/${ctx.to}`;
      if (this.loaded.has(key)) {
        this.loaded.delete(key);
      } else if (this.fetchRng!.chance(this.fetchFailRate)) {
        this.onFetch(ctx);
        throw new ErrLogTemporarilyUnavailable();
      }
    }
    return super.entries(lo, hi, maxSize);
  }

  /** The entries a refused read wanted are in memory now. */
  markLoaded(ctx: FetchContext): void {
    this.loaded.add(`${ctx.why}/${ctx.to}`);
  }

  override initialState(): InitialState {
    const s = super.initialState();
    return this.confStateOverride === null ? s : { ...s, confState: this.confStateOverride };
  }

  persistedHardState(): HardState {
    return super.initialState().hardState;
  }

  /** The term of entry i as stored, or undefined when compacted or absent. */
  termAt(i: Index): Term | undefined {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    return this.term(i);
  }
}

/** What survives a crash. */
export class Disk {
  storage = new SimStorage();
  /** The hard state as of the last synced write; unsynced changes are lost in a crash. */
  syncedHardState: HardState = emptyHardState();
  /** A durable state machine (applied index and ConfState persisted with it). */
  readonly sm: StateMachine;

  constructor(user: UserStateMachine | null = null) {
    this.sm = new StateMachine(user);
  }

  isEmpty(): boolean {
    const st = this.storage;
    const hs = st.persistedHardState();
    return (
      st.lastIndex() === 0 &&
      isEmptySnap(st.snapshot()) &&
      hs.term === 0 &&
      hs.vote === 0 &&
      hs.commit === 0
    );
  }

  /** Rebuilds the storage as a restarting process would: snapshot, then the log after it. */
  reload(): void {
    const old = this.storage;
    const st = new SimStorage();
    const snap = old.snapshot();
    if (!isEmptySnap(snap)) st.applySnapshot(snap);
    const lo = Math.max(snap.metadata.index + 1, old.firstIndex());
    const hi = old.lastIndex() + 1;
    if (lo < hi) st.append(old.entries(lo, hi, Number.POSITIVE_INFINITY));
    st.setHardState(old.persistedHardState());
    this.storage = st;
  }
}

export class SimNode {
  readonly disk: Disk;
  raw: RawNode | null = null;
  /** Bumped on every crash: storage-thread events of an older incarnation are void. */
  incarnation = 0;
  /** asyncStorageWrites: pending writes of the append and apply threads, FIFO. */
  readonly appendQueue: Message[] = [];
  readonly applyQueue: Message[] = [];
  appendBusyUntil = 0;
  applyBusyUntil = 0;
  /** The highest index this node ever knew (and persisted) as committed. */
  commitChecked = 0;
  /** Pipelined sync mode: the Ready handed out and not yet written (advance() pending). */
  pendingReady: Ready | null = null;
  /** A conf change was applied since the last snapshot: take one once it can be durable. */
  confSnapshotWanted = false;
  /** Ready handling steps, for stats. */
  readies = 0;

  constructor(
    readonly id: NodeId,
    readonly raftOpts: RaftOptions,
    /** The voters it bootstraps with when its storage is empty (initial members only). */
    readonly bootstrapPeers: NodeId[] | null,
    user: UserStateMachine | null = null,
  ) {
    this.disk = new Disk(user);
  }

  get up(): boolean {
    return this.raw !== null;
  }

  get sm(): StateMachine {
    return this.disk.sm;
  }

  get storage(): SimStorage {
    return this.disk.storage;
  }

  get isLeader(): boolean {
    return this.raw !== null && this.raw.raft.state === StateType.Leader;
  }

  get term(): Term {
    return this.raw !== null ? this.raw.raft.term : this.storage.persistedHardState().term;
  }

  get asyncWrites(): boolean {
    return this.raftOpts.asyncStorageWrites === true;
  }
}

const enum EventKind {
  Deliver = 0,
  AppendDone = 1,
  ApplyDone = 2,
  /** Pipelined sync mode: the pending Ready's write is done (persist, send, apply, advance). */
  ReadyDone = 3,
  /** Async log fetch: the storage loaded what a refused read wanted. */
  FetchDone = 4,
}

interface SimEvent extends HeapItem {
  kind: EventKind;
  /** The node the event happens at. */
  node: NodeId;
  /** Deliver: the sender. */
  from: NodeId;
  msg: Message | null;
  bytes: Uint8Array | null;
  /** AppendDone/ApplyDone/ReadyDone/FetchDone: the incarnation that queued it. */
  inc: number;
  /** FetchDone: the refused read. */
  fetch?: FetchContext;
}

interface Report {
  node: NodeId;
  peer: NodeId;
  snapshot: SnapshotStatus | null;
}

export interface ClusterStats {
  ticks: number;
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  readies: number;
  crashes: number;
  restarts: number;
  /** MsgSnap delivered. */
  snapshots: number;
  /** Conf-change entries applied (on any node). */
  confChangesApplied: number;
  /** Times a leader applied a conf change that entered a joint configuration. */
  jointEntered: number;
  /** ReadIndex requests made, and ReadStates returned. */
  reads: number;
  readsServed: number;
  /** Storage reads refused with ErrLogTemporarilyUnavailable (async log fetch). */
  fetches: number;
}

function readKey(ctx: Uint8Array): string {
  let s = '';
  for (let i = 0; i < ctx.length; i++) s += String.fromCharCode(ctx[i]!);
  return s;
}

function termAtRaft(raw: RawNode): TermAt {
  const log = raw.raft.raftLog;
  return (i) => {
    try {
      return log.term(i);
    } catch {
      return undefined;
    }
  };
}

/** Decodes a committed conf-change entry the way the application must, to apply it. */
export function decodeConfChangeEntry(e: Entry): ConfChange | ConfChangeV2 | null {
  if (e.type === EntryType.EntryConfChange) return decodeConfChange(e.data);
  if (e.type === EntryType.EntryConfChangeV2) return decodeConfChangeV2(e.data);
  return null;
}

export class Cluster {
  readonly seed: number;
  readonly rng: Rng;
  readonly net: Network;
  readonly checker = new Checker();
  readonly nodes = new Map<NodeId, SimNode>();
  readonly opts: ClusterOptions;
  now = 0;
  readonly stats: ClusterStats = {
    ticks: 0,
    sent: 0,
    delivered: 0,
    dropped: 0,
    duplicated: 0,
    readies: 0,
    crashes: 0,
    restarts: 0,
    snapshots: 0,
    confChangesApplied: 0,
    jointEntered: 0,
    reads: 0,
    readsServed: 0,
    fetches: 0,
  };
  /** Called after every conf change a node applies (scenario drivers track membership). */
  onConfChange: ((node: SimNode, cs: ConfState, e: Entry) => void) | null = null;
  /** Pending reads by context: the index a linearizable read must reach (see readIndex). */
  private readonly reads = new Map<string, { node: NodeId; minIndex: Index }>();
  private readSeq = 0;
  private readonly events = new EventHeap<SimEvent>();
  private seq = 0;
  private readonly reports: Report[] = [];
  private readonly traceLimit: number;
  private readonly traceLines: string[] = [];

  constructor(opts: ClusterOptions) {
    this.opts = opts;
    this.seed = opts.seed;
    this.rng = new Rng(opts.seed);
    this.net = new Network(this.rng.fork(), opts.network);
    this.traceLimit = opts.trace === true ? 5000 : typeof opts.trace === 'number' ? opts.trace : 0;
    const voters = opts.voters ?? [1, 2, 3];
    const learners = opts.learners ?? [];
    const init = opts.init ?? 'bootstrap';
    if (init === 'bootstrap' && learners.length > 0) {
      throw new Error("initial learners need init: 'snapshot'");
    }
    if (opts.readyLoop !== undefined && opts.raft?.asyncStorageWrites === true) {
      throw new Error(
        'readyLoop drives the synchronous Ready contract: not with asyncStorageWrites',
      );
    }
    for (const id of [...voters, ...learners]) {
      const node = new SimNode(
        id,
        this.nodeOptions(),
        init === 'bootstrap' ? voters : null,
        opts.stateMachine?.(id) ?? null,
      );
      this.nodes.set(id, node);
      if (init === 'snapshot') {
        const snap: Snapshot = {
          data: encodeSnapshotData(1, 0),
          metadata: { index: 1, term: 1, confState: newConfState({ voters, learners }) },
        };
        node.storage.applySnapshot(snap);
        node.sm.restore(snap);
        this.checker.observeSnapshotState(id, 1, 0);
      }
      this.startNode(node, 'applied');
    }
  }

  private nodeOptions(extra: RaftOptions = {}): RaftOptions {
    return { electionTick: 10, heartbeatTick: 1, ...this.opts.raft, ...extra };
  }

  // ---- tracing -------------------------------------------------------------------------

  get tracing(): boolean {
    return this.traceLimit > 0;
  }

  trace(line: string): void {
    if (this.traceLimit === 0) return;
    this.traceLines.push(`[${this.now}] ${line}`);
    if (this.traceLines.length > this.traceLimit * 2) {
      this.traceLines.splice(0, this.traceLines.length - this.traceLimit);
    }
  }

  /** The last traced lines (empty unless trace is on). */
  traceTail(n = this.traceLimit): string[] {
    return this.traceLines.slice(-n);
  }

  // ---- nodes ---------------------------------------------------------------------------

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** The nodes that are up. */
  upNodes(): SimNode[] {
    const out: SimNode[] = [];
    for (const n of this.nodes.values()) if (n.raw !== null) out.push(n);
    return out;
  }

  /** The up node that leads the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.isLeader && (best === undefined || n.term > best.term)) best = n;
    }
    return best;
  }

  /**
   * Adds a node with an empty storage and starts it; it joins once a conf change adds it and
   * the leader reaches it. Ids must never be reused.
   */
  addNode(id: NodeId, raft: RaftOptions = {}): SimNode {
    if (this.nodes.has(id)) throw new Error(`node ${id} exists`);
    const node = new SimNode(
      id,
      this.nodeOptions(raft),
      null,
      this.opts.stateMachine?.(id) ?? null,
    );
    this.nodes.set(id, node);
    this.startNode(node, 'applied');
    this.trace(`add node ${id}`);
    return node;
  }

  /**
   * Stops a node: a crash at `point` in its Ready handling (sync mode; 'idle' stops between
   * Readys). Unpersisted state, unsynced hard state and pending storage writes are lost.
   */
  crash(id: NodeId, point: CrashPoint = 'idle'): void {
    const node = this.node(id);
    const raw = node.raw;
    if (raw === null) return;
    this.trace(`crash ${id} at ${point}`);
    this.stats.crashes++;
    const pending = node.pendingReady;
    node.pendingReady = null;
    if (
      point !== 'idle' &&
      point !== 'beforePersist' &&
      !node.asyncWrites &&
      (pending !== null || raw.hasReady())
    ) {
      const rd = pending ?? raw.ready();
      if (this.opts.readyLoop !== undefined) {
        this.runReadyLoop(node, rd, point);
      } else {
        this.persistReady(node, rd);
        if (point === 'afterSend' || point === 'afterApply') {
          for (const m of rd.messages) this.send(node, m);
        }
        if (point === 'afterApply') this.applyEntries(node, rd.committedEntries);
      }
    } else if (point !== 'idle' && point !== 'beforePersist' && node.asyncWrites) {
      // The storage threads die mid-way: the oldest write is durable (and, past afterSend,
      // its responses to peers are out), but nothing was stepped back into raft.
      const m = node.appendQueue.shift();
      if (m !== undefined) {
        this.persistAppend(node, m);
        if (point === 'afterSend' || point === 'afterApply') {
          for (const r of m.responses) if (r.to !== node.id) this.send(node, r);
        }
      }
      const a = point === 'afterApply' ? node.applyQueue.shift() : undefined;
      if (a !== undefined) this.applyEntries(node, a.entries);
    }
    node.raw = null;
    node.incarnation++;
    node.appendQueue.length = 0;
    node.applyQueue.length = 0;
    node.appendBusyUntil = 0;
    node.applyBusyUntil = 0;
    node.storage.setHardState(node.disk.syncedHardState);
    this.checker.resetNode(id);
  }

  /** Starts a stopped node from its disk. */
  restart(id: NodeId, mode: RestartMode = 'applied'): void {
    const node = this.node(id);
    if (node.raw !== null) throw new Error(`node ${id} is up`);
    this.stats.restarts++;
    this.startNode(node, mode);
  }

  /** Lets node's storage refuse reads for appending or applying (async log fetch). */
  private wireFetch(node: SimNode): void {
    const f = this.opts.fetch;
    const st = node.disk.storage;
    if (f === undefined || f.failRate <= 0) return;
    st.fetchFailRate = f.failRate;
    st.fetchRng = this.rng;
    const inc = node.incarnation;
    st.onFetch = (ctx) => {
      this.stats.fetches++;
      this.trace(`fetch ${ctx.why} ${ctx.to} at ${node.id}`);
      this.events.push({
        at: this.now + (f.max > f.min ? this.rng.range(f.min, f.max) : f.min),
        key: this.nextKey(),
        kind: EventKind.FetchDone,
        node: node.id,
        from: node.id,
        msg: null,
        bytes: null,
        inc,
        fetch: ctx,
      });
    };
  }

  private startNode(node: SimNode, mode: RestartMode): void {
    this.startRawNode(node, mode);
    this.wireFetch(node);
  }

  private startRawNode(node: SimNode, mode: RestartMode): void {
    const disk = node.disk;
    const config: Config = {
      electionTick: 10,
      heartbeatTick: 1,
      ...node.raftOpts,
      id: node.id,
      storage: disk.storage,
      random: this.rng.fork().asFunction(),
    };
    if (disk.isEmpty()) {
      // Nothing was ever persisted: start from scratch (an initial member bootstraps again).
      disk.sm.restore({
        data: encodeSnapshotData(0, 0),
        metadata: { index: 0, term: 0, confState: newConfState() },
      });
      node.raw = new RawNode(config);
      if (node.bootstrapPeers !== null)
        node.raw.bootstrap(node.bootstrapPeers.map((p) => ({ id: p })));
      this.trace(`start ${node.id} (fresh${node.bootstrapPeers !== null ? ', bootstrap' : ''})`);
      return;
    }
    const st = disk.storage;
    const hs = st.persistedHardState();
    const snapIndex = st.snapshot().metadata.index;
    const sm = disk.sm;
    if (mode === 'applied' && sm.appliedIndex <= hs.commit && sm.appliedIndex >= snapIndex) {
      st.confStateOverride = sm.confState;
      node.raw = new RawNode({ ...config, applied: sm.appliedIndex });
      st.confStateOverride = null;
      this.trace(`start ${node.id} (applied ${sm.appliedIndex}, commit ${hs.commit})`);
    } else {
      disk.reload();
      const snap = disk.storage.snapshot();
      if (isEmptySnap(snap)) {
        sm.restore({
          data: encodeSnapshotData(0, 0),
          metadata: { index: 0, term: 0, confState: newConfState() },
        });
      } else {
        sm.restore(snap);
      }
      node.raw = new RawNode({ ...config, storage: disk.storage });
      this.trace(`start ${node.id} (replay from ${snapIndex}, commit ${hs.commit})`);
    }
    this.afterStep(node);
  }

  // ---- driving -------------------------------------------------------------------------

  /** Advances the clock by n ticks, running every node to quiescence after each. */
  tick(n = 1): void {
    const skip = this.opts.tickSkipRate ?? 0;
    for (let i = 0; i < n; i++) {
      this.now++;
      this.stats.ticks++;
      for (const node of this.nodes.values()) {
        const raw = node.raw;
        if (raw === null || (skip > 0 && this.rng.chance(skip))) continue;
        raw.tick();
        this.afterStep(node);
      }
      this.stabilize();
    }
  }

  /**
   * Handles every Ready and delivers every message and storage write due now, until nothing
   * is left to do at this tick.
   */
  stabilize(): void {
    for (let round = 0; ; round++) {
      if (round > 100_000) throw new Error('no quiescence within one tick (message storm?)');
      let busy = false;
      for (const node of this.nodes.values()) {
        const raw = node.raw;
        if (node.pendingReady === null && raw?.hasReady()) {
          busy = true;
          this.handleReady(node);
        }
      }
      if (this.reports.length > 0) {
        busy = true;
        this.flushReports();
      }
      const ev = this.events;
      const due: SimEvent[] = [];
      for (let top = ev.peek(); top !== undefined && top.at <= this.now; top = ev.peek()) {
        due.push(ev.pop()!);
      }
      for (const e of due) {
        busy = true;
        this.processEvent(e);
      }
      if (!busy) return;
    }
  }

  /** Ticks until `done()` holds (checked after every tick); returns the ticks it took. */
  runUntil(done: () => boolean, maxTicks: number, what = 'condition'): number {
    for (let i = 0; i <= maxTicks; i++) {
      if (done()) return i;
      if (i < maxTicks) this.tick();
    }
    throw new Error(`${what} not reached within ${maxTicks} ticks`);
  }

  /** Messages and storage writes in flight. */
  get pendingEvents(): number {
    return this.events.size;
  }

  // ---- client operations ---------------------------------------------------------------

  /** Proposes data at node id; false if the proposal was dropped (or the node is down). */
  propose(id: NodeId, data: Uint8Array): boolean {
    const node = this.node(id);
    if (node.raw === null) return false;
    try {
      node.raw.propose(data);
    } catch (err) {
      if (err instanceof ErrProposalDropped) return false;
      throw err;
    }
    this.afterStep(node);
    return true;
  }

  proposeConfChange(id: NodeId, cc: ConfChange | ConfChangeV2): boolean {
    const node = this.node(id);
    if (node.raw === null) return false;
    try {
      node.raw.proposeConfChange(cc);
    } catch (err) {
      if (err instanceof ErrProposalDropped) return false;
      throw err;
    }
    this.trace(`propose conf change at ${id}`);
    this.afterStep(node);
    return true;
  }

  campaign(id: NodeId): void {
    const node = this.node(id);
    if (node.raw === null) return;
    node.raw.campaign();
    this.afterStep(node);
  }

  /**
   * Requests a linearizable read (ReadIndex) at node id. When its ReadState comes back, its
   * index must cover everything known committed anywhere when the read was requested.
   */
  readIndex(id: NodeId): void {
    const node = this.node(id);
    if (node.raw === null) return;
    const ctx = new Uint8Array(8);
    new DataView(ctx.buffer).setFloat64(0, ++this.readSeq);
    this.reads.set(readKey(ctx), { node: id, minIndex: this.checker.maxCommitted });
    this.stats.reads++;
    node.raw.readIndex(ctx);
    this.afterStep(node);
  }

  private checkReadStates(node: SimNode, rd: Ready): void {
    for (const rs of rd.readStates) {
      const key = readKey(rs.requestCtx);
      const req = this.reads.get(key);
      if (req === undefined) continue; // a duplicate answer
      this.reads.delete(key);
      this.stats.readsServed++;
      if (req.node !== node.id) {
        throw new Error(`node ${node.id} got the ReadState of a read made at node ${req.node}`);
      }
      // Lease-based reads are not linearizable in etcd's design either: a partitioned leader
      // keeps its lease until the next CheckQuorum round, up to two election timeouts after it
      // last heard from a quorum, while followers may elect a new leader after one
      // (etcd-io/raft#166). Only ReadOnlySafe reads are held to linearizability.
      if (node.raftOpts.readOnlyOption === ReadOnlyOption.LeaseBased) continue;
      if (rs.index < req.minIndex) {
        throw new SafetyViolation(
          'linearizable reads',
          `node ${node.id} got read index ${rs.index}, but ${req.minIndex} was committed before the read was requested`,
        );
      }
    }
  }

  transferLeader(id: NodeId, to: NodeId): void {
    const node = this.node(id);
    if (node.raw === null) return;
    this.trace(`transfer leader ${id} -> ${to}`);
    node.raw.transferLeader(to);
    this.afterStep(node);
  }

  forgetLeader(id: NodeId): void {
    const node = this.node(id);
    if (node.raw === null) return;
    node.raw.forgetLeader();
    this.afterStep(node);
  }

  /**
   * Takes a snapshot of node id's state machine and compacts its log, keeping `keep` entries
   * before the snapshot. Returns false when there is nothing new to snapshot (or the node is
   * mid-apply with async writes).
   */
  compact(id: NodeId, keep = 0): boolean {
    const node = this.node(id);
    const raw = node.raw;
    if (raw === null) return false;
    const sm = node.sm;
    const st = node.storage;
    const idx = sm.appliedIndex;
    // Only at an index raft knows applied, and whose commit is durable.
    if (idx !== raw.basicStatus().applied || idx > st.persistedHardState().commit) return false;
    if (idx <= st.snapshot().metadata.index || idx > st.lastIndex()) return false;
    st.createSnapshot(idx, sm.confState, sm.snapshotData());
    node.disk.syncedHardState = st.persistedHardState();
    const c = idx - keep;
    if (c > st.firstIndex() - 1) st.compact(c);
    this.trace(`compact ${id} snapshot ${idx}, first index ${st.firstIndex()}`);
    return true;
  }

  // ---- network faults (see Network for more) -------------------------------------------

  partition(...groups: NodeId[][]): void {
    this.trace(`partition ${groups.map((g) => `{${g.join(',')}}`).join(' ')}`);
    this.net.partition(groups);
  }

  isolate(id: NodeId): void {
    this.trace(`isolate ${id}`);
    this.net.isolate(id);
  }

  heal(): void {
    this.trace('heal');
    this.net.heal();
  }

  // ---- internals -----------------------------------------------------------------------

  private handleReady(node: SimNode): void {
    const raw = node.raw!;
    const rd = raw.ready();
    node.readies++;
    this.stats.readies++;
    if (this.tracing) this.traceReady(node, rd);
    if (rd.readStates.length > 0) this.checkReadStates(node, rd);
    if (node.asyncWrites) {
      for (const m of rd.messages) {
        if (m.to === LocalAppendThread) this.queueWrite(node, m, EventKind.AppendDone);
        else if (m.to === LocalApplyThread) this.queueWrite(node, m, EventKind.ApplyDone);
        else this.send(node, m);
      }
      this.afterStep(node);
      return;
    }
    const pd = this.opts.pipelineDelay;
    if (pd !== undefined) {
      // Written later; until then the node keeps receiving messages but makes no Ready.
      node.pendingReady = rd;
      this.events.push({
        at: this.now + (pd.max > pd.min ? this.rng.range(pd.min, pd.max) : pd.min),
        key: this.nextKey(),
        kind: EventKind.ReadyDone,
        node: node.id,
        from: node.id,
        msg: null,
        bytes: null,
        inc: node.incarnation,
      });
      this.afterStep(node);
      return;
    }
    this.finishReady(node, rd);
  }

  /** Persist, send, apply, advance: the rest of the synchronous Ready contract. */
  private finishReady(node: SimNode, rd: Ready): void {
    if (this.opts.readyLoop !== undefined) {
      this.runReadyLoop(node, rd, null);
    } else {
      this.persistReady(node, rd);
      for (const m of rd.messages) this.send(node, m);
      this.applyEntries(node, rd.committedEntries);
    }
    node.raw!.advance();
    this.afterStep(node);
  }

  /**
   * Runs the user's Ready loop over rd's steps; with `crashAt`, stops it right after that
   * step (before any, for 'beforePersist'). Each step must be called exactly once.
   */
  private runReadyLoop(node: SimNode, rd: Ready, crashAt: CrashPoint | null): void {
    const done = new Set<string>();
    const step = (name: 'persist' | 'send' | 'apply', fn: () => void) => () => {
      if (done.has(name)) throw new Error(`readyLoop called ${name}() twice for one Ready`);
      if (crashAt === 'beforePersist') throw new CrashHere();
      done.add(name);
      fn();
      if (crashAt !== null && crashAt === `after${name[0]!.toUpperCase()}${name.slice(1)}`) {
        throw new CrashHere();
      }
    };
    const steps: ReadySteps = {
      ready: rd,
      persist: step('persist', () => this.persistReady(node, rd)),
      send: step('send', () => {
        for (const m of rd.messages) this.send(node, m);
      }),
      apply: step('apply', () => this.applyEntries(node, rd.committedEntries)),
    };
    try {
      this.opts.readyLoop!(steps);
    } catch (err) {
      if (err instanceof CrashHere) return;
      throw err;
    }
    if (crashAt === null && done.size !== 3) {
      const missing = ['persist', 'send', 'apply'].filter((n) => !done.has(n));
      throw new Error(
        `readyLoop returned without calling ${missing.map((n) => `${n}()`).join(', ')}`,
      );
    }
  }

  private traceReady(node: SimNode, rd: Ready): void {
    const parts: string[] = [];
    if (rd.softState)
      parts.push(`soft=${StateType[rd.softState.raftState]}/lead ${rd.softState.lead}`);
    if (rd.hardState) {
      const h = rd.hardState;
      parts.push(`hs=term ${h.term} vote ${h.vote} commit ${h.commit}`);
    }
    if (rd.snapshot) parts.push(`snap=${rd.snapshot.metadata.index}/${rd.snapshot.metadata.term}`);
    if (rd.entries.length > 0) {
      const e0 = rd.entries[0]!;
      const e1 = rd.entries[rd.entries.length - 1]!;
      parts.push(`ents=${e0.term}/${e0.index}..${e1.term}/${e1.index}`);
    }
    if (rd.committedEntries.length > 0) {
      const e0 = rd.committedEntries[0]!;
      const e1 = rd.committedEntries[rd.committedEntries.length - 1]!;
      parts.push(`apply=${e0.index}..${e1.index}`);
    }
    parts.push(`msgs=${rd.messages.length}`);
    this.trace(`ready ${node.id}: ${parts.join(' ')}`);
  }

  private persistReady(node: SimNode, rd: Ready): void {
    this.persist(node, rd.snapshot ?? null, rd.entries, rd.hardState, rd.mustSync);
  }

  /** Writes a snapshot, entries and a hard state to node's disk, checking as it goes. */
  private persist(
    node: SimNode,
    snap: Snapshot | null,
    entries: readonly Entry[],
    hs: HardState | undefined,
    sync: boolean,
  ): void {
    const disk = node.disk;
    const st = disk.storage;
    if (snap !== null && !isEmptySnap(snap)) {
      st.applySnapshot(snap);
      disk.sm.restore(snap);
      this.checker.observeSnapshotState(node.id, disk.sm.baseIndex, disk.sm.baseHash);
      sync = true;
    }
    if (entries.length > 0) {
      const first = entries[0]!.index;
      if (first <= node.commitChecked) {
        throw new SafetyViolation(
          'commit durability',
          `node ${node.id} overwrites its log from ${first}, but knew ${node.commitChecked} committed`,
        );
      }
      st.append(entries);
      for (const e of entries) {
        this.checker.observePersistedEntry(
          node.id,
          e.index,
          e.term,
          st.termAt(e.index - 1),
          e.type,
          e.data,
        );
      }
      sync = true;
    }
    if (hs !== undefined) st.setHardState(hs);
    if (sync) disk.syncedHardState = st.persistedHardState();
    const cur = st.persistedHardState();
    if (cur.commit > node.commitChecked) {
      const from = node.commitChecked + 1;
      node.commitChecked = cur.commit;
      this.checker.observeCommit(node.id, cur.term, cur.commit, (i) => st.termAt(i), from);
    }
    this.snapshotAfterConfChange(node);
  }

  private applyEntries(node: SimNode, ents: readonly Entry[]): void {
    const sm = node.sm;
    const raw = node.raw!;
    for (const e of ents) {
      if (e.index <= sm.appliedIndex) {
        // Async writes only: an apply that completes after a newer snapshot was installed.
        if (!node.asyncWrites) {
          throw new Error(
            `node ${node.id} was handed entry ${e.index} to apply again (applied ${sm.appliedIndex})`,
          );
        }
        continue;
      }
      sm.apply(e);
      this.checker.observeApply(node.id, e.index, e.term, e.type, e.data, sm.hash);
      if (sm.user !== null && e.type === EntryType.EntryNormal && e.data.length > 0) {
        this.opts.onApply?.(node.id, e, sm.lastResult);
      }
      const cc = decodeConfChangeEntry(e);
      if (cc !== null) {
        const cs = raw.applyConfChange(cc);
        sm.confState = cs;
        node.confSnapshotWanted = true;
        this.stats.confChangesApplied++;
        if (node.isLeader && cs.votersOutgoing.length > 0) this.stats.jointEntered++;
        this.snapshotAfterConfChange(node);
        this.trace(
          `apply conf change ${e.term}/${e.index} at ${node.id}: voters [${cs.voters}] outgoing [${cs.votersOutgoing}] learners [${cs.learners}] next [${cs.learnersNext}]${cs.autoLeave ? ' autoleave' : ''}`,
        );
        this.onConfChange?.(node, cs, e);
      }
    }
  }

  /**
   * Keeps the snapshot a leader would send to a new member up to date: once the log no
   * longer starts at 1, a snapshot older than the member's addition does not include it, and
   * the member refuses it (etcd: "should never happen"; applications snapshot often enough).
   */
  private snapshotAfterConfChange(node: SimNode): void {
    if (!node.confSnapshotWanted) return;
    const st = node.storage;
    const sm = node.sm;
    const idx = sm.appliedIndex;
    if (st.firstIndex() <= 1 || idx <= st.snapshot().metadata.index) {
      node.confSnapshotWanted = false;
      return;
    }
    // A snapshot above the durable commit index would not survive a restart (async writes:
    // applies may overtake the append thread); wait until the commit index is written.
    if (idx > st.persistedHardState().commit || idx > st.lastIndex()) return;
    node.confSnapshotWanted = false;
    st.createSnapshot(idx, sm.confState, sm.snapshotData());
    // Writing a snapshot syncs the disk (as etcd's WAL does), the hard state included.
    node.disk.syncedHardState = st.persistedHardState();
    this.trace(`snapshot ${node.id} at ${idx} after a conf change`);
  }

  private queueWrite(node: SimNode, m: Message, kind: EventKind): void {
    const d = this.opts.storageDelay ?? { min: 0, max: 1 };
    const delay = d.max > d.min ? this.rng.range(d.min, d.max) : d.min;
    let at = this.now + delay;
    if (kind === EventKind.AppendDone) {
      node.appendQueue.push(m);
      at = Math.max(at, node.appendBusyUntil);
      node.appendBusyUntil = at;
    } else {
      node.applyQueue.push(m);
      at = Math.max(at, node.applyBusyUntil);
      node.applyBusyUntil = at;
    }
    this.events.push({
      at,
      key: this.nextKey(),
      kind,
      node: node.id,
      from: node.id,
      msg: null,
      bytes: null,
      inc: node.incarnation,
    });
  }

  private nextKey(): number {
    return this.net.opts.shuffle ? this.rng.u32() : this.seq++;
  }

  /** Per directed link, the (at, key) of the last in-order message sent on it. */
  private readonly linkLast = new Map<number, { at: number; key: number }>();

  private send(from: SimNode, m: Message): void {
    if (m.to === from.id)
      throw new Error(`node ${from.id} sent a message to itself: ${describeMessage(m)}`);
    if (m.to === LocalAppendThread || m.to === LocalApplyThread) {
      throw new Error(`local message on the network: ${describeMessage(m)}`);
    }
    this.stats.sent++;
    const route = this.net.route(from.id, m.to);
    if (route.dropped !== null) {
      this.stats.dropped++;
      if (this.tracing) this.trace(`drop (${route.dropped}) ${describeMessage(m)}`);
      this.maybeReportLoss(from.id, m, route.dropped === 'cut');
      return;
    }
    if (route.delays.length > 1) this.stats.duplicated += route.delays.length - 1;
    const bytes = this.opts.codec === true ? encodeMessage(m) : null;
    // A snapshot takes at least a tick to transfer.
    const minDelay = m.type === MessageType.MsgSnap ? 1 : 0;
    for (let i = 0; i < route.delays.length; i++) {
      let at = this.now + Math.max(route.delays[i]!, minDelay);
      let key = this.nextKey();
      if (!route.reordered[i]) {
        // Like a connection, a link delivers in order unless this message is reordered on
        // purpose (reorderRate): never before the link's previous message.
        const lk = from.id * 1_000_003 + m.to;
        const last = this.linkLast.get(lk);
        if (last !== undefined && (at < last.at || (at === last.at && key < last.key))) {
          at = last.at;
          key = last.key + 1e-6;
        }
        this.linkLast.set(lk, { at, key });
      }
      this.events.push({
        at,
        key,
        kind: EventKind.Deliver,
        node: m.to,
        from: from.id,
        msg: bytes === null ? m : null,
        bytes,
        inc: 0,
      });
    }
  }

  /** A lost snapshot is always reported (a real transport knows); other losses sometimes. */
  private maybeReportLoss(from: NodeId, m: Message, cut: boolean): void {
    if (m.type === MessageType.MsgSnap) {
      this.reports.push({ node: from, peer: m.to, snapshot: SnapshotStatus.Failure });
    } else if (cut && this.rng.chance(this.net.opts.unreachableRate)) {
      this.reports.push({ node: from, peer: m.to, snapshot: null });
    }
  }

  private flushReports(): void {
    const rs = this.reports.splice(0);
    for (const r of rs) {
      const node = this.nodes.get(r.node);
      if (node === undefined || node.raw === null) continue;
      if (r.snapshot !== null) {
        this.trace(`report snapshot to ${r.peer} at ${r.node}: ${SnapshotStatus[r.snapshot]}`);
        node.raw.reportSnapshot(r.peer, r.snapshot);
      } else {
        this.trace(`report unreachable ${r.peer} at ${r.node}`);
        node.raw.reportUnreachable(r.peer);
      }
      this.afterStep(node);
    }
  }

  private processEvent(e: SimEvent): void {
    const node = this.nodes.get(e.node);
    if (e.kind !== EventKind.Deliver) {
      if (node === undefined || node.raw === null || node.incarnation !== e.inc) return;
      if (e.kind === EventKind.AppendDone) this.completeAppend(node);
      else if (e.kind === EventKind.ApplyDone) this.completeApply(node);
      else if (e.kind === EventKind.FetchDone) {
        node.storage.markLoaded(e.fetch!);
        node.raw.onEntriesFetched(e.fetch!);
        this.afterStep(node);
      } else {
        const rd = node.pendingReady!;
        node.pendingReady = null;
        this.finishReady(node, rd);
      }
      return;
    }
    const m = e.bytes !== null ? decodeMessage(e.bytes) : { ...e.msg! };
    if (node === undefined || node.raw === null || this.net.isCut(e.from, e.node)) {
      this.stats.dropped++;
      if (this.tracing) this.trace(`drop (down or cut) ${describeMessage(m)}`);
      this.maybeReportLoss(e.from, m, true);
      return;
    }
    this.stats.delivered++;
    if (this.tracing) this.trace(`deliver ${describeMessage(m)}`);
    if (m.type === MessageType.MsgSnap) {
      this.stats.snapshots++;
      this.reports.push({ node: e.from, peer: e.node, snapshot: SnapshotStatus.Finish });
    }
    this.stepNode(node, m);
  }

  private stepNode(node: SimNode, m: Message): void {
    try {
      node.raw!.step(m);
    } catch (err) {
      if (!(err instanceof ErrStepPeerNotFound) && !(err instanceof ErrProposalDropped)) throw err;
    }
    this.afterStep(node);
  }

  private completeAppend(node: SimNode): void {
    const m = node.appendQueue.shift();
    if (m === undefined) throw new Error(`node ${node.id}: append thread event without a write`);
    if (this.tracing) this.trace(`append done at ${node.id}: ${describeMessage(m)}`);
    this.persistAppend(node, m);
    this.deliverResponses(node, m.responses);
  }

  /** Writes what a MsgStorageAppend carries (an all-zero hard state means unchanged). */
  private persistAppend(node: SimNode, m: Message): void {
    const hs =
      m.term !== 0 || m.vote !== 0 || m.commit !== 0
        ? { term: m.term, vote: m.vote, commit: m.commit }
        : undefined;
    this.persist(node, m.snapshot, m.entries, hs, true);
  }

  private completeApply(node: SimNode): void {
    const m = node.applyQueue.shift();
    if (m === undefined) throw new Error(`node ${node.id}: apply thread event without a write`);
    if (this.tracing) this.trace(`apply done at ${node.id}: ${describeMessage(m)}`);
    this.applyEntries(node, m.entries);
    this.deliverResponses(node, m.responses);
  }

  private deliverResponses(node: SimNode, responses: readonly Message[]): void {
    for (const r of responses) {
      if (r.to === node.id) {
        if (node.raw === null) return;
        this.stepNode(node, r);
      } else {
        this.send(node, r);
      }
    }
  }

  /** Runs the per-step checks for node (leadership and leader completeness). */
  afterStep(node: SimNode): void {
    const raw = node.raw;
    if (raw === null) return;
    const r = raw.raft;
    if (r.state === StateType.Leader) {
      this.checker.observeLeader(node.id, r.term);
      this.checker.checkLeaderCompleteness(
        node.id,
        r.term,
        termAtRaft(raw),
        r.raftLog.firstIndex(),
      );
    }
  }

  // ---- end-of-run checks ---------------------------------------------------------------

  /**
   * Checks that the given nodes applied the same entries in the same order (same applied
   * index and state hash) and returns that index.
   */
  checkConverged(ids: readonly NodeId[]): Index {
    let ref: SimNode | undefined;
    for (const id of ids) {
      const n = this.node(id);
      if (ref === undefined) {
        ref = n;
        continue;
      }
      if (n.sm.appliedIndex !== ref.sm.appliedIndex || n.sm.hash !== ref.sm.hash) {
        throw new SafetyViolation(
          'state machine safety',
          `node ${ref.id} applied ${ref.sm.appliedIndex} (state ${ref.sm.hash}), node ${n.id} applied ${n.sm.appliedIndex} (state ${n.sm.hash})`,
        );
      }
      // The same entries applied: your state machine must have reached the same state.
      const a = ref.sm.userDigest();
      const b = n.sm.userDigest();
      if (a !== b) {
        throw new SafetyViolation(
          'user state machine determinism',
          `nodes ${ref.id} and ${n.id} applied the same ${n.sm.appliedIndex} entries but their state machines differ: ${short(a)} vs ${short(b)}`,
        );
      }
    }
    return ref?.sm.appliedIndex ?? 0;
  }

  /** A one-line summary of every node, for failure reports. */
  describeNodes(): string {
    const lines: string[] = [];
    for (const n of this.nodes.values()) {
      const st = n.storage;
      const hs = st.persistedHardState();
      let s = `node ${n.id}: ${n.raw === null ? 'down' : StateType[n.raw.raft.state]}`;
      s += ` term ${n.term} hs(term ${hs.term} vote ${hs.vote} commit ${hs.commit})`;
      s += ` log ${st.firstIndex()}..${st.lastIndex()} applied ${n.sm.appliedIndex}`;
      if (n.raw !== null) {
        const c = n.raw.status().config;
        s += ` lead ${n.raw.raft.lead} committed ${n.raw.raft.raftLog.committed} voters [${c.voters}]`;
        if (c.votersOutgoing.length > 0) s += ` outgoing [${c.votersOutgoing}]`;
        if (c.learners.length > 0) s += ` learners [${c.learners}]`;
        if (c.learnersNext.length > 0) s += ` learnersNext [${c.learnersNext}]`;
      }
      lines.push(s);
    }
    return lines.join('\n');
  }
}

function short(s: string | null): string {
  return s === null ? 'none' : s.length > 60 ? `${s.slice(0, 60)}…` : s;
}
