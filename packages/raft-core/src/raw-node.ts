// RawNode: the application's handle on a raft state machine. Not safe for concurrent use
// (there is none in JS, but do not call it re-entrantly from inside a Ready handler).
//
// The Ready contract (synchronous mode): after ready(), the application
//   1. writes rd.snapshot, rd.entries and rd.hardState to stable storage (synced if
//      rd.mustSync),
//   2. sends rd.messages (after step 1: some of them acknowledge what step 1 persists),
//   3. applies rd.committedEntries (and conf changes via applyConfChange),
//   4. calls advance().
// With asyncStorageWrites, steps 1 and 3 arrive instead as MsgStorageAppend and
// MsgStorageApply in rd.messages, addressed to LocalAppendThread and LocalApplyThread, and
// their `responses` are stepped back in when each write is done; advance() is not used.
import { clearArray } from './arrays.js';
import { encodeConfChange } from './codec.js';
import {
  type Config,
  LocalAppendThread,
  LocalApplyThread,
  isLocalMsgTarget,
  validateConfig,
} from './config.js';
import { type AnyConfChange, asV2 } from './confchange/conf-change-v2.js';
import { ErrStepLocalMsg, ErrStepPeerNotFound, ErrUsage } from './errors.js';
import {
  ConfChangeType,
  type ConfState,
  EMPTY_BYTES,
  EMPTY_ENTRIES,
  EMPTY_MESSAGES,
  type Entry,
  EntryType,
  type HardState,
  type Index,
  type Message,
  MessageType,
  type NodeId,
  None,
  type Snapshot,
  type Term,
  blankMessage,
  emptyHardState,
  entsSize,
  isEmptyHardState,
  isEmptySnap,
  isLocalMsg,
  isResponseMsg,
  newMessage,
} from './raftpb.js';
import { CampaignType, Raft, type SoftState, StateType, confChangeToMsg } from './raft.js';
import type { ReadState } from './read-only.js';
import { type BasicStatus, type Status, getBasicStatus, getStatus } from './status.js';
import type { FetchContext } from './storage.js';

export enum SnapshotStatus {
  Finish = 1,
  Failure = 2,
}

export interface Peer {
  id: NodeId;
  context?: Uint8Array;
}

/** What the application must do next; see the contract at the top of this file. */
export interface Ready {
  /** The new soft state (leader, role), when it changed. Not persisted. */
  softState?: SoftState;
  /** The hard state to persist, when it changed. */
  hardState?: HardState;
  /** Reads that may be served once `index` is applied. */
  readStates: ReadState[];
  /** Entries to persist before sending messages. */
  entries: Entry[];
  /** A snapshot to persist (and restore the state machine from). */
  snapshot?: Snapshot;
  /** Entries to apply: committed on a quorum (and persisted before being applied). */
  committedEntries: Entry[];
  /** Messages to send once entries and hard state are persisted. */
  messages: Message[];
  /** Whether the hard state and entries must be synced to disk before sending messages. */
  mustSync: boolean;
}

export class RawNode {
  /** The raft state machine; exposed for tests and tools, not for application logic. */
  readonly raft: Raft;
  private readonly asyncStorageWrites: boolean;
  private prevSoftSt: SoftState;
  private prevHardSt: HardState;
  // Synchronous mode: what advance() reports back to raft for the Ready handed out. The
  // acknowledgements are kept as fields rather than MsgStorage*Resp messages, which would
  // cost two allocations per Ready on the hot path.
  /** Self-addressed messages that wait for the write (the leader's own MsgAppResp...). */
  private stepsOnAdvance: Message[] = [];
  private appendAcked = false;
  /** The acknowledgement's fields, as newStorageAppendRespMsg would set them. */
  private ackTerm: Term = 0;
  private ackIndex: Index = 0;
  private ackLogTerm: Term = 0;
  private ackSnap: Snapshot | null = null;
  private appliedOnAdvance: Entry[] = EMPTY_ENTRIES;
  private readyPending = false;

  constructor(config: Config) {
    const c = validateConfig(config);
    this.raft = new Raft(c);
    this.asyncStorageWrites = c.asyncStorageWrites;
    this.prevSoftSt = this.raft.softState();
    this.prevHardSt = this.raft.hardState();
  }

  /**
   * Sets up a fresh cluster member: the log starts with one ConfChangeAddNode per peer,
   * committed at term 1. Only on an empty storage; a restart must not call it.
   */
  bootstrap(peers: readonly Peer[]): void {
    if (peers.length === 0) throw new ErrUsage('must provide at least one peer to bootstrap');
    const r = this.raft;
    if (r.raftLog.storage.lastIndex() !== 0)
      throw new ErrUsage("can't bootstrap a nonempty Storage");
    // Nothing is persisted yet: the first Ready must carry the hard state.
    this.prevHardSt = emptyHardState();
    r.becomeFollower(1, None);
    const ents: Entry[] = peers.map((p, i) => ({
      term: 1,
      index: i + 1,
      type: EntryType.EntryConfChange,
      data: encodeConfChange({
        type: ConfChangeType.ConfChangeAddNode,
        nodeId: p.id,
        context: p.context ?? EMPTY_BYTES,
        id: 0,
      }),
    }));
    r.raftLog.append(ents);
    // Commit them, and apply them here so that the configuration is known at once; the
    // application still sees them in committedEntries and applies them again (harmless:
    // adding a member twice is a no-op). As in etcd, campaign() only works once they are
    // applied, i.e. after the first Ready is handled.
    r.raftLog.committed = ents.length;
    for (const p of peers) {
      r.applyConfChange(
        asV2({ type: ConfChangeType.ConfChangeAddNode, nodeId: p.id, context: EMPTY_BYTES, id: 0 }),
      );
    }
  }

  /** Advances the logical clock by one tick (election and heartbeat timeouts count ticks). */
  tick(): void {
    this.raft.tick();
  }

  /**
   * Advances only the election clock, for a quiesced group that stopped ticking: no
   * heartbeats, no elections are caused by it.
   */
  tickQuiesced(): void {
    this.raft.electionElapsed++;
  }

  /** Starts an election now (with a pre-vote round when preVote is on). */
  campaign(): void {
    this.raft.step(newMessage({ type: MessageType.MsgHup }));
  }

  /** Proposes data for the log. Throws ErrProposalDropped when it cannot be appended. */
  propose(data: Uint8Array): void {
    const r = this.raft;
    const ents = [{ term: 0, index: 0, type: EntryType.EntryNormal, data }];
    // A leader takes it directly: the MsgProp a follower forwards (or a candidate drops) is
    // not needed, nor the copy a MsgProp's entries get. The hot path of every workload.
    if (r.state === StateType.Leader) {
      r.proposeAsLeader(ents);
      return;
    }
    const m = blankMessage(MessageType.MsgProp, 0);
    m.from = r.id;
    m.entries = ents;
    r.step(m);
  }

  /**
   * The index of the last entry in the log, persisted or not. Right after a propose() that
   * did not throw on a leader, it is the index the proposal got (a driver tracking its own
   * proposals needs it; etcd's Node answers the same through its Ready entries).
   */
  lastIndex(): Index {
    return this.raft.raftLog.lastIndex();
  }

  /** Proposes a configuration change (ConfChange or ConfChangeV2). */
  proposeConfChange(cc: AnyConfChange): void {
    this.raft.step(confChangeToMsg(cc));
  }

  /**
   * Applies a committed configuration change to this node. Call it for every committed
   * conf-change entry, in order; returns the resulting ConfState (to persist with snapshots).
   */
  applyConfChange(cc: AnyConfChange): ConfState {
    return this.raft.applyConfChange(asV2(cc));
  }

  /** Steps a message received from a peer (or a local storage-thread response). */
  step(m: Message): void {
    // Local messages must not arrive over the network.
    if (isLocalMsg(m.type) && !isLocalMsgTarget(m.from)) throw new ErrStepLocalMsg();
    if (isResponseMsg(m.type) && !isLocalMsgTarget(m.from) && !this.raft.trk.progress.has(m.from)) {
      throw new ErrStepPeerNotFound();
    }
    this.raft.step(m);
  }

  /** Whether ready() would return something to do. Cheap; call it before ready(). */
  hasReady(): boolean {
    const r = this.raft;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0) return true;
    if (r.raftLog.hasNextUnstableEnts()) return true;
    if (r.raftLog.hasNextCommittedEnts(!this.asyncStorageWrites)) return true;
    if (r.state !== this.prevSoftSt.raftState || r.lead !== this.prevSoftSt.lead) return true;
    const hs = this.prevHardSt;
    if (
      (r.term !== hs.term || r.vote !== hs.vote || r.raftLog.committed !== hs.commit) &&
      !(r.term === 0 && r.vote === 0 && r.raftLog.committed === 0)
    ) {
      return true;
    }
    if (r.raftLog.hasNextUnstableSnapshot()) return true;
    return r.readStates.length > 0;
  }

  /**
   * Returns what to persist, send and apply, and takes ownership of it: the next ready()
   * only returns what is new. In synchronous mode call advance() when done.
   */
  ready(): Ready {
    if (this.readyPending && !this.asyncStorageWrites) {
      throw new ErrUsage('ready() called again before advance()');
    }
    const rd = this.readyWithoutAccept();
    this.acceptReady(rd);
    return rd;
  }

  private readyWithoutAccept(): Ready {
    const r = this.raft;
    const rd: Ready = {
      readStates: r.readStates,
      entries: r.raftLog.nextUnstableEnts(),
      committedEntries: r.raftLog.nextCommittedEnts(!this.asyncStorageWrites),
      messages: r.msgs,
      mustSync: false,
    };
    // Soft and hard state objects are allocated only when they changed.
    const pss = this.prevSoftSt;
    if (r.state !== pss.raftState || r.lead !== pss.lead) rd.softState = r.softState();
    const phs = this.prevHardSt;
    const termOrVoteChanged = r.term !== phs.term || r.vote !== phs.vote;
    if (termOrVoteChanged || r.raftLog.committed !== phs.commit) rd.hardState = r.hardState();
    const snap = r.raftLog.nextUnstableSnapshot();
    if (snap !== null) rd.snapshot = snap;
    // Term, vote and entries must be durable before messages that rely on them go out.
    rd.mustSync = rd.entries.length > 0 || termOrVoteChanged;

    // rd.messages is raft's outbox itself (acceptReady gives raft a new one), so pushing
    // onto it hands the messages out.
    if (this.asyncStorageWrites) {
      if (this.needStorageAppendMsg(rd)) rd.messages.push(this.newStorageAppendMsg(rd));
      if (rd.committedEntries.length > 0)
        rd.messages.push(this.newStorageApplyMsg(rd.committedEntries));
    } else {
      // The Ready contract sends messages only after entries are persisted, so responses
      // that wait for durability can go out with this Ready (except self-addressed ones,
      // which advance() steps back in).
      const after = r.msgsAfterAppend;
      for (let i = 0; i < after.length; i++) if (after[i]!.to !== r.id) rd.messages.push(after[i]!);
    }
    // Nothing to send: hand out the shared empty array and let raft keep its (empty) outbox.
    if (rd.messages.length === 0) rd.messages = EMPTY_MESSAGES;
    return rd;
  }

  private acceptReady(rd: Ready): void {
    const r = this.raft;
    if (rd.softState !== undefined) this.prevSoftSt = rd.softState;
    if (rd.hardState !== undefined) this.prevHardSt = rd.hardState;
    if (rd.readStates.length > 0) r.readStates = [];
    if (!this.asyncStorageWrites) {
      const steps = this.stepsOnAdvance;
      const after = r.msgsAfterAppend;
      for (let i = 0; i < after.length; i++) if (after[i]!.to === r.id) steps.push(after[i]!);
      this.appendAcked = this.needStorageAppendRespMsg(rd);
      if (this.appendAcked) {
        const hasEnts = r.raftLog.hasNextOrInProgressUnstableEnts();
        this.ackTerm = r.term;
        this.ackIndex = hasEnts ? r.raftLog.lastIndex() : 0;
        this.ackLogTerm = hasEnts ? r.raftLog.lastTerm() : 0;
        this.ackSnap = rd.snapshot ?? null;
      }
      this.appliedOnAdvance = rd.committedEntries;
      this.readyPending = true;
    }
    if (rd.messages === r.msgs) r.msgs = [];
    // Its messages were copied out above (or into the MsgStorageAppend): the array is reused.
    clearArray(r.msgsAfterAppend);
    // The queued MsgApps are handed out: nothing more may be merged into them.
    const ids = r.trk.ids;
    const progress = r.trk.progress;
    for (let i = 0; i < ids.length; i++) progress.get(ids[i]!)!.pendingApp = null;
    r.raftLog.acceptUnstable();
    const ce = rd.committedEntries;
    if (ce.length > 0) {
      r.raftLog.acceptApplying(ce[ce.length - 1]!.index, entsSize(ce), !this.asyncStorageWrites);
    }
  }

  /**
   * Tells raft the last Ready was processed (synchronous mode): persisted entries become
   * stable, applied entries applied, and the node's own acknowledgements are counted.
   */
  advance(): void {
    if (this.asyncStorageWrites)
      throw new ErrUsage('advance() must not be called with asyncStorageWrites');
    const r = this.raft;
    const steps = this.stepsOnAdvance;
    const acked = this.appendAcked;
    const snap = this.ackSnap;
    const applied = this.appliedOnAdvance;
    this.appendAcked = false;
    this.ackSnap = null;
    this.appliedOnAdvance = EMPTY_ENTRIES;
    this.readyPending = false;
    // In the order the messages of asynchronous mode are delivered: the self-addressed
    // responses, then the append acknowledgement, then the apply acknowledgement.
    if (steps.length > 0) {
      // Stepping cannot add to steps (only ready() does): it is emptied after, and reused.
      try {
        for (let i = 0; i < steps.length; i++) r.step(steps[i]!);
      } finally {
        clearArray(steps);
      }
    }
    if (acked) r.storageAppended(this.ackTerm, this.ackIndex, this.ackLogTerm, snap);
    r.storageApplied(applied);
  }

  private needStorageAppendMsg(rd: Ready): boolean {
    return (
      rd.entries.length > 0 ||
      rd.hardState !== undefined ||
      !isEmptySnap(rd.snapshot) ||
      this.raft.msgsAfterAppend.length > 0
    );
  }

  private needStorageAppendRespMsg(rd: Ready): boolean {
    return this.raft.raftLog.hasNextOrInProgressUnstableEnts() || !isEmptySnap(rd.snapshot);
  }

  private newStorageAppendMsg(rd: Ready): Message {
    const r = this.raft;
    const m = newMessage({
      type: MessageType.MsgStorageAppend,
      to: LocalAppendThread,
      from: r.id,
      entries: rd.entries,
    });
    if (rd.hardState !== undefined && !isEmptyHardState(rd.hardState)) {
      // The hard state travels in term/vote/commit; all zero means "unchanged".
      m.term = rd.hardState.term;
      m.vote = rd.hardState.vote;
      m.commit = rd.hardState.commit;
    }
    if (rd.snapshot !== undefined) m.snapshot = rd.snapshot;
    // Delivered once the write is done: the durable-only responses, then our own ack. The
    // self MsgAppResp comes first so that it still finds the entries in the unstable log.
    const responses = r.msgsAfterAppend.slice();
    if (this.needStorageAppendRespMsg(rd)) responses.push(this.newStorageAppendRespMsg(rd));
    m.responses = responses;
    return m;
  }

  /**
   * The acknowledgement that everything up to the log's last (index, term) is durable. It
   * carries the current term: if the term changes before it is stepped, the entries it names
   * may have been overwritten by a newer append still in flight, and it is ignored (a later
   * one, from a Ready after the term change, will do).
   */
  private newStorageAppendRespMsg(rd: Ready): Message {
    const r = this.raft;
    const m = blankMessage(MessageType.MsgStorageAppendResp, r.id);
    m.from = LocalAppendThread;
    m.term = r.term;
    if (r.raftLog.hasNextOrInProgressUnstableEnts()) {
      m.index = r.raftLog.lastIndex();
      m.logTerm = r.raftLog.lastTerm();
    }
    if (rd.snapshot !== undefined) m.snapshot = rd.snapshot;
    return m;
  }

  private newStorageApplyMsg(ents: Entry[]): Message {
    return newMessage({
      type: MessageType.MsgStorageApply,
      to: LocalApplyThread,
      from: this.raft.id,
      entries: ents,
      responses: [newStorageApplyRespMsg(this.raft.id, ents)],
    });
  }

  /** Reports that messages to `id` could not be delivered (the leader backs off to probing). */
  reportUnreachable(id: NodeId): void {
    this.stepQuietly(newMessage({ type: MessageType.MsgUnreachable, from: id }));
  }

  /** Reports how sending a snapshot to `id` ended; replication then resumes. */
  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    this.stepQuietly(
      newMessage({
        type: MessageType.MsgSnapStatus,
        from: id,
        reject: status === SnapshotStatus.Failure,
      }),
    );
  }

  /** Asks the leader to hand leadership to `transferee` (forwarded when not the leader). */
  transferLeader(transferee: NodeId): void {
    this.stepQuietly(newMessage({ type: MessageType.MsgTransferLeader, from: transferee }));
  }

  /**
   * Forgets the current leader (a follower that knows it is gone can then vote at once,
   * without waiting out the leader's lease). No-op on a leader or under lease-based reads.
   */
  forgetLeader(): void {
    this.raft.step(newMessage({ type: MessageType.MsgForgetLeader }));
  }

  /**
   * Requests a linearizable read: a ReadState with `ctx` appears in a later Ready once the
   * read index is known; serve the read when the applied index reaches it. `ctx` must be
   * unique per request.
   */
  readIndex(ctx: Uint8Array): void {
    this.stepQuietly(
      newMessage({
        type: MessageType.MsgReadIndex,
        entries: [{ term: 0, index: 0, type: EntryType.EntryNormal, data: ctx }],
      }),
    );
  }

  /**
   * The storage finished loading entries it refused earlier with ErrLogTemporarilyUnavailable;
   * raft retries the read that wanted them.
   */
  onEntriesFetched(ctx: FetchContext): void {
    this.raft.onEntriesFetched(ctx.why, ctx.to);
  }

  status(): Status {
    return getStatus(this.raft);
  }

  basicStatus(): BasicStatus {
    return getBasicStatus(this.raft);
  }

  private stepQuietly(m: Message): void {
    try {
      this.raft.step(m);
    } catch {
      // These requests are advisory: a dropped one changes nothing.
    }
  }
}

function newStorageApplyRespMsg(id: NodeId, ents: Entry[]): Message {
  // Committed entries apply under no particular term: term stays 0.
  const m = blankMessage(MessageType.MsgStorageApplyResp, id);
  m.from = LocalApplyThread;
  m.entries = ents;
  return m;
}

export { CampaignType, StateType };
