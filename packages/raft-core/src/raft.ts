// The raft state machine: roles, terms, elections, replication, reads, transfers and
// configuration changes. It only reacts to step() and tick(); what it wants done (messages
// to send, entries to persist) accumulates in `msgs`, `msgsAfterAppend` and the log, and
// RawNode hands it to the application as a Ready. Thesis sections are cited where a rule is
// implemented.
import {
  decodeConfChange,
  decodeConfChangeV2,
  encodeConfChange as encodeConfChangeV1,
  encodeConfChangeV2,
} from './codec.js';
import { type ResolvedConfig, isLocalMsgTarget } from './config.js';
import {
  type AnyConfChange,
  Changer,
  asV2,
  enterJoint,
  leaveJoint,
  restore,
} from './confchange/index.js';
import {
  ErrLogTemporarilyUnavailable,
  ErrProposalDropped,
  ErrSnapshotTemporarilyUnavailable,
  RaftError,
} from './errors.js';
import type { Logger } from './logger.js';
import { RaftLog } from './log.js';
import { VoteResult } from './quorum/majority.js';
import {
  type ConfChangeV2,
  type ConfState,
  EMPTY_BYTES,
  EMPTY_ENTRIES,
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
  entsSize,
  isEmptySnap,
  newMessage,
  payloadsSize,
  voteRespMsgType,
} from './raftpb.js';
import { ReadOnly, ReadOnlyOption, type ReadState } from './read-only.js';
import { ProgressStateType } from './tracker/progress.js';
import type { Progress } from './tracker/progress.js';
import { ProgressTracker } from './tracker/tracker.js';

export enum StateType {
  Follower = 0,
  Candidate = 1,
  Leader = 2,
  PreCandidate = 3,
}

export enum CampaignType {
  /** A pre-election round (PreVote) before the real one. */
  PreElection = 'CampaignPreElection',
  /** A normal election. */
  Election = 'CampaignElection',
  /** An election started by a leadership transfer: it overrides leader leases. */
  Transfer = 'CampaignTransfer',
}

const CAMPAIGN_TRANSFER_CTX = new TextEncoder().encode(CampaignType.Transfer);

function isTransferContext(ctx: Uint8Array): boolean {
  if (ctx.length !== CAMPAIGN_TRANSFER_CTX.length) return false;
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== CAMPAIGN_TRANSFER_CTX[i]) return false;
  return true;
}

export interface SoftState {
  lead: NodeId;
  raftState: StateType;
}

export class Raft {
  readonly id: NodeId;
  term: Term = 0;
  vote: NodeId = None;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  trk: ProgressTracker;
  state: StateType = StateType.Follower;
  /** Whether this node is a learner in the current configuration. */
  isLearner = false;
  /** Messages to send once this Ready is handed out. */
  msgs: Message[] = [];
  /**
   * Messages to send only once the unstable state they rest on (entries, term, vote) is
   * durable: MsgAppResp and vote responses (thesis §3.8). Self-addressed ones are stepped
   * back in on advance (or delivered as responses of MsgStorageAppend).
   */
  msgsAfterAppend: Message[] = [];
  lead: NodeId = None;
  /** The target of a leadership transfer in progress, or None. */
  leadTransferee: NodeId = None;
  /**
   * Only one conf change may be pending (in the log, not yet applied): the log index of the
   * latest one. Proposals of another are refused while applied < pendingConfIndex.
   */
  pendingConfIndex: Index = 0;
  /** Payload bytes of uncommitted entries on a leader (for maxUncommittedEntriesSize). */
  uncommittedSize = 0;
  readOnly: ReadOnly;
  /** Ticks since the last election timeout reset (leader/candidate: since becoming one). */
  electionElapsed = 0;
  /** Ticks since the last heartbeat (leader only). */
  heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  /** Randomized in [electionTimeout, 2*electionTimeout) on every reset (§5.2). */
  randomizedElectionTimeout = 0;
  readonly disableProposalForwarding: boolean;
  readonly disableConfChangeValidation: boolean;
  readonly stepDownOnRemoval: boolean;
  readonly logger: Logger;
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  pendingReadIndexMessages: Message[] = [];
  private readonly random: () => number;

  constructor(c: ResolvedConfig) {
    this.id = c.id;
    this.logger = c.logger;
    this.random = c.random;
    this.raftLog = new RaftLog(c.storage, c.logger, c.maxCommittedSizePerReady);
    const { hardState, confState } = c.storage.initialState();
    this.maxMsgSize = c.maxSizePerMsg;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize;
    this.trk = new ProgressTracker(c.maxInflightMsgs, c.maxInflightBytes);
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum;
    this.preVote = c.preVote;
    this.readOnly = new ReadOnly(c.readOnlyOption);
    this.disableProposalForwarding = c.disableProposalForwarding;
    this.disableConfChangeValidation = c.disableConfChangeValidation;
    this.stepDownOnRemoval = c.stepDownOnRemoval;

    const restored = restore(this.trk, this.raftLog.lastIndex(), confState);
    this.switchToConfig(restored.config, restored.progress);
    if (hardState.term !== 0 || hardState.vote !== 0 || hardState.commit !== 0) {
      this.loadState(hardState);
    }
    if (c.applied > 0) this.raftLog.appliedTo(c.applied, 0);
    this.becomeFollower(this.term, None);

    this.logger.info(
      {
        id: this.id,
        peers: this.trk.voterNodes(),
        term: this.term,
        commit: this.raftLog.committed,
        applied: this.raftLog.applied,
        lastIndex: this.raftLog.lastIndex(),
        lastTerm: this.raftLog.lastTerm(),
      },
      'newRaft',
    );
  }

  hasLeader(): boolean {
    return this.lead !== None;
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  // ---- sending -------------------------------------------------------------------------

  /** Queues m, stamping From and Term as the message type requires. */
  send(m: Message): void {
    if (m.from === None) m.from = this.id;
    const t = m.type;
    if (
      t === MessageType.MsgVote ||
      t === MessageType.MsgVoteResp ||
      t === MessageType.MsgPreVote ||
      t === MessageType.MsgPreVoteResp
    ) {
      // Votes carry the term they are for (a pre-vote's is the next term); it must be set.
      if (m.term === 0)
        throw new RaftError('RAFT_INVARIANT', `term should be set when sending ${MessageType[t]}`);
    } else {
      if (m.term !== 0) {
        throw new RaftError(
          'RAFT_INVARIANT',
          `term should not be set when sending ${MessageType[t]} (was ${m.term})`,
        );
      }
      // Proposals and read requests are forwarded and carry no term.
      if (t !== MessageType.MsgProp && t !== MessageType.MsgReadIndex) m.term = this.term;
    }
    if (
      t === MessageType.MsgAppResp ||
      t === MessageType.MsgVoteResp ||
      t === MessageType.MsgPreVoteResp
    ) {
      // Only sent once what they acknowledge is durable (thesis §3.8); see msgsAfterAppend.
      this.msgsAfterAppend.push(m);
    } else {
      if (m.to === this.id)
        throw new RaftError('RAFT_INVARIANT', 'message should not be self-addressed when sending');
      // Anything else sent to a follower ends the chance to merge into its pending MsgApp
      // (the merged entries would overtake it).
      const pr = this.trk.progress.get(m.to);
      if (pr !== undefined) pr.pendingApp = null;
      this.msgs.push(m);
    }
  }

  /** Sends an append (or a snapshot) to `to`, even an empty one to carry the commit index. */
  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends new entries to `to` if its progress allows. With sendIfEmpty, an empty MsgApp is
   * sent too (it conveys the commit index). Returns whether anything was sent or merged.
   */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to)!;
    if (pr.isPaused()) return false;

    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.maybeTerm(prevIndex);
    // The entries the follower needs were compacted: send a snapshot instead.
    if (prevTerm === undefined) return this.maybeSendSnapshot(to, pr);

    let ents: Entry[] = EMPTY_ENTRIES;
    // A full Inflights in StateReplicate only sends empty appends, which still get answered
    // and so unclog a pipeline whose messages were all lost.
    if (pr.state !== ProgressStateType.StateReplicate || !pr.inflights.full()) {
      try {
        ents = this.raftLog.entries(pr.next, this.maxMsgSize, { why: 'append', to });
      } catch (err) {
        if (err instanceof RaftError && err.code === 'RAFT_LOG_TEMPORARILY_UNAVAILABLE') {
          // The storage is loading them; onEntriesFetched retries.
          return false;
        }
        if (!sendIfEmpty) return false;
        return this.maybeSendSnapshot(to, pr);
      }
    }
    if (ents.length === 0 && !sendIfEmpty) return false;

    const committed = this.raftLog.committed;
    if (this.tryMergeAppend(pr, prevIndex, ents, committed)) return true;

    const m = blankMessage(MessageType.MsgApp, to);
    m.index = prevIndex;
    m.logTerm = prevTerm;
    m.entries = ents;
    m.commit = committed;
    this.send(m);
    const bytes = payloadsSize(ents);
    pr.sentEntries(ents.length, bytes);
    pr.sentCommitTo(committed);
    // Later entries may be merged into this message until it is handed out (StateReplicate).
    if (pr.state === ProgressStateType.StateReplicate) {
      pr.pendingApp = m;
      pr.pendingAppBytes = entsSize(ents);
      pr.pendingAppOwned = false;
    }
    return true;
  }

  /**
   * Merges entries into the MsgApp to the same follower still waiting in `msgs`, when they
   * follow on from it and fit in maxSizePerMsg: a burst of proposals leaves as one MsgApp.
   */
  private tryMergeAppend(pr: Progress, prevIndex: Index, ents: Entry[], committed: Index): boolean {
    const m = pr.pendingApp;
    if (m === null || pr.state !== ProgressStateType.StateReplicate) return false;
    const mLast = m.index + m.entries.length;
    if (mLast !== prevIndex) return false;
    // An acknowledgement of an older MsgApp with the same entries freed this one's inflight
    // slot before it was handed out: new entries go in a MsgApp (and an inflight) of their own.
    if (m.entries.length > 0 && pr.match >= mLast) return false;
    // The bound counts entries as raftLog.entries() does (entsSize), so a merged MsgApp is
    // never larger than one built at once; Inflights count payload bytes.
    const size = entsSize(ents);
    if (ents.length > 0 && pr.pendingAppBytes + size > this.maxMsgSize) return false;
    if (ents.length > 0) {
      const bytes = payloadsSize(ents);
      // A commit-only MsgApp has no inflight slot yet: it becomes a new inflight message.
      const wasEmpty = m.entries.length === 0;
      if (wasEmpty) {
        m.entries = ents;
        pr.pendingAppOwned = false;
      } else {
        // The array may be the one Storage.entries() returned: copy it before growing it.
        if (!pr.pendingAppOwned) {
          m.entries = m.entries.slice();
          pr.pendingAppOwned = true;
        }
        for (let i = 0; i < ents.length; i++) m.entries.push(ents[i]!);
      }
      pr.pendingAppBytes += size;
      if (wasEmpty) pr.sentEntries(ents.length, bytes);
      else pr.mergedEntries(ents.length, bytes);
    }
    m.commit = committed;
    pr.sentCommitTo(committed);
    return true;
  }

  private maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) {
      this.logger.debug(
        { id: this.id, to },
        'ignore sending snapshot since it is not recently active',
      );
      return false;
    }
    let snapshot: Snapshot;
    try {
      snapshot = this.raftLog.snapshot();
    } catch (err) {
      if (err instanceof ErrSnapshotTemporarilyUnavailable) {
        this.logger.debug({ id: this.id, to }, 'failed to send snapshot: temporarily unavailable');
        return false;
      }
      throw err;
    }
    if (isEmptySnap(snapshot)) throw new RaftError('RAFT_INVARIANT', 'need non-empty snapshot');
    const { index, term } = snapshot.metadata;
    this.logger.debug(
      { id: this.id, to, snapIndex: index, snapTerm: term, progress: pr.toString() },
      'sent snapshot',
    );
    pr.becomeSnapshot(index);
    this.send(newMessage({ to, type: MessageType.MsgSnap, snapshot }));
    return true;
  }

  /** Sends a heartbeat carrying min(match, committed): never a commit the follower can't have. */
  private sendHeartbeat(to: NodeId, ctx: Uint8Array): void {
    const pr = this.trk.progress.get(to)!;
    const commit = Math.min(pr.match, this.raftLog.committed);
    const m = blankMessage(MessageType.MsgHeartbeat, to);
    m.commit = commit;
    m.context = ctx;
    this.send(m);
    pr.sentCommitTo(commit);
  }

  bcastAppend(): void {
    const ids = this.trk.ids;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id !== this.id) this.sendAppend(id);
    }
  }

  bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx() ?? EMPTY_BYTES);
  }

  private bcastHeartbeatWithCtx(ctx: Uint8Array): void {
    const ids = this.trk.ids;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    }
  }

  /** Commits what a quorum has acknowledged, if it is of this term. */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  // ---- role transitions ----------------------------------------------------------------

  reset(term: Term): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = None;
    }
    this.lead = None;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    this.trk.visit((id, pr) => {
      pr.resetState(ProgressStateType.StateProbe);
      pr.match = id === this.id ? last : 0;
      pr.next = last + 1;
      pr.sentCommit = 0;
      pr.recentActive = false;
    });
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.readOnly.option);
  }

  becomeFollower(term: Term, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = StateType.Follower;
    this.logger.info({ id: this.id, term: this.term }, 'became follower');
  }

  becomeCandidate(): void {
    if (this.state === StateType.Leader) {
      throw new RaftError('RAFT_INVARIANT', 'invalid transition [leader -> candidate]');
    }
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = StateType.Candidate;
    this.logger.info({ id: this.id, term: this.term }, 'became candidate');
  }

  becomePreCandidate(): void {
    if (this.state === StateType.Leader) {
      throw new RaftError('RAFT_INVARIANT', 'invalid transition [leader -> pre-candidate]');
    }
    // A pre-candidate changes neither its term nor its vote.
    this.trk.resetVotes();
    this.lead = None;
    this.state = StateType.PreCandidate;
    this.logger.info({ id: this.id, term: this.term }, 'became pre-candidate');
  }

  becomeLeader(): void {
    if (this.state === StateType.Follower) {
      throw new RaftError('RAFT_INVARIANT', 'invalid transition [follower -> leader]');
    }
    this.reset(this.term);
    this.lead = this.id;
    this.state = StateType.Leader;
    // The leader trivially replicates to itself, and is always active.
    const pr = this.trk.progress.get(this.id)!;
    pr.becomeReplicate();
    pr.recentActive = true;
    // There may be a conf change in the uncommitted tail; assume there is (cheaper than
    // scanning): no new one is accepted before everything up to here is applied.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // An empty entry of the new term (§5.4.2: commits the previous terms' entries, §6.4:
    // lets reads be served). Its payload is 0 bytes, so it never counts against the quota.
    if (
      !this.appendEntry([{ term: 0, index: 0, type: EntryType.EntryNormal, data: EMPTY_BYTES }])
    ) {
      throw new RaftError('RAFT_INVARIANT', 'empty entry was dropped');
    }
    this.logger.info({ id: this.id, term: this.term }, 'became leader');
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout =
      this.electionTimeout + Math.floor(this.random() * this.electionTimeout);
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  /** Whether this node may become leader: a voter, not restoring a snapshot. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasNextOrInProgressSnapshot();
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = None;
  }

  // ---- ticks ---------------------------------------------------------------------------

  tick(): void {
    if (this.state === StateType.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.stepQuietly(newMessage({ from: this.id, type: MessageType.MsgHup }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        this.stepQuietly(newMessage({ from: this.id, type: MessageType.MsgCheckQuorum }));
      }
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === StateType.Leader && this.leadTransferee !== None) {
        this.abortLeaderTransfer();
        // The transfer refused the automatic leave of a joint configuration: propose it now
        // rather than on the next apply, which an idle group never has (etcd waits for it).
        if (this.trk.config.autoLeave && this.raftLog.applied >= this.pendingConfIndex) {
          this.stepQuietly(confChangeToMsg(null));
        }
      }
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.stepQuietly(newMessage({ from: this.id, type: MessageType.MsgBeat }));
    }
  }

  /** Steps a message raft generated itself; failures are only logged. */
  private stepQuietly(m: Message): void {
    try {
      this.step(m);
    } catch (err) {
      this.logger.debug({ id: this.id, err }, `error stepping ${MessageType[m.type]}`);
    }
  }

  // ---- elections -----------------------------------------------------------------------

  hup(t: CampaignType): void {
    if (this.state === StateType.Leader) {
      this.logger.debug({ id: this.id }, 'ignoring MsgHup because already leader');
      return;
    }
    if (!this.promotable()) {
      this.logger.warn({ id: this.id }, 'is unpromotable and can not campaign');
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warn({ id: this.id }, 'cannot campaign: pending configuration changes to apply');
      return;
    }
    this.logger.info({ id: this.id, term: this.term }, 'starting a new election');
    this.campaign(t);
  }

  /** Whether a committed but unapplied entry is a conf change (it may change who votes). */
  private hasUnappliedConfChanges(): boolean {
    const log = this.raftLog;
    if (log.applied >= log.committed) return false;
    let lo = log.applied + 1;
    const hi = log.committed + 1;
    // Page through with the apply size budget, so a long tail is not loaded at once.
    while (lo < hi) {
      let ents: Entry[];
      try {
        ents = log.slice(lo, hi, log.maxApplyingEntsSize);
      } catch (err) {
        // The storage is still loading them (async log fetch): we cannot tell, so assume a
        // conf change may be there and do not campaign now (the apply fetch will catch up).
        if (err instanceof ErrLogTemporarilyUnavailable) return true;
        throw err;
      }
      for (const e of ents) {
        if (e.type === EntryType.EntryConfChange || e.type === EntryType.EntryConfChangeV2)
          return true;
      }
      lo += ents.length;
    }
    return false;
  }

  campaign(t: CampaignType): void {
    if (!this.promotable()) {
      this.logger.warn({ id: this.id }, 'is unpromotable; campaign() should not have been called');
    }
    let term: Term;
    let voteMsg: MessageType;
    if (t === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.MsgPreVote;
      // Pre-votes are asked for the next term, before raising ours.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.MsgVote;
      term = this.term;
    }
    const ids = this.trk.voterNodes();
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of ids) {
      if (id === this.id) {
        // Our own vote counts once it is durable: it comes back through msgsAfterAppend.
        this.send(newMessage({ to: id, term, type: voteRespMsgType(voteMsg) }));
        continue;
      }
      this.logger.info(
        { id: this.id, lastTerm, lastIndex, to: id, term, type: MessageType[voteMsg] },
        'sent vote request',
      );
      this.send(
        newMessage({
          to: id,
          term,
          type: voteMsg,
          index: lastIndex,
          logTerm: lastTerm,
          context: t === CampaignType.Transfer ? CAMPAIGN_TRANSFER_CTX : EMPTY_BYTES,
        }),
      );
    }
  }

  private poll(
    id: NodeId,
    t: MessageType,
    granted: boolean,
  ): ReturnType<ProgressTracker['tallyVotes']> {
    this.logger.info(
      { id: this.id, from: id, type: MessageType[t], granted, term: this.term },
      'received vote',
    );
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes();
  }

  // ---- step ----------------------------------------------------------------------------

  /** The entry point for every message, local or remote. Throws ErrProposalDropped etc. */
  step(m: Message): void {
    // Term handling first (§5.1): newer terms demote us, older messages are mostly ignored.
    if (m.term === 0) {
      // A local message.
    } else if (m.term > this.term) {
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        const force = isTransferContext(m.context);
        const inLease =
          this.checkQuorum && this.lead !== None && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // §4.2.3: within the minimum election timeout of hearing from a leader, a vote
          // request neither raises our term nor gets our vote (a removed node cannot disrupt).
          this.logger.info(
            {
              id: this.id,
              term: this.term,
              from: m.from,
              msgTerm: m.term,
              remaining: this.electionTimeout - this.electionElapsed,
            },
            'ignored vote request: lease is not expired',
          );
          return;
        }
      }
      if (m.type === MessageType.MsgPreVote) {
        // Never change our term in response to a pre-vote.
      } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
        // Granted pre-votes carry the future term we asked for; our term rises only when
        // we win the pre-election.
      } else {
        this.logger.info(
          {
            id: this.id,
            term: this.term,
            type: MessageType[m.type],
            from: m.from,
            msgTerm: m.term,
          },
          'received a message with higher term',
        );
        const leaderMsg =
          m.type === MessageType.MsgApp ||
          m.type === MessageType.MsgHeartbeat ||
          m.type === MessageType.MsgSnap;
        this.becomeFollower(m.term, leaderMsg ? m.from : None);
      }
    } else if (m.term < this.term) {
      if (
        (this.checkQuorum || this.preVote || !this.promotable()) &&
        (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp)
      ) {
        // A leader of an older term still talks to us: perhaps we raised our term in a
        // partition. With checkQuorum or preVote our higher term would not reach it through
        // votes, so tell it with a response; it steps down and a fresh election follows. A
        // node that cannot campaign (a learner) must tell it too: etcd leaves it orphaned.
        this.send(newMessage({ to: m.from, type: MessageType.MsgAppResp }));
      } else if (m.type === MessageType.MsgPreVote) {
        // Rejecting (rather than ignoring) keeps a pre-candidate of an older term from
        // waiting forever.
        this.send(
          newMessage({
            to: m.from,
            term: this.term,
            type: MessageType.MsgPreVoteResp,
            reject: true,
          }),
        );
      } else if (m.type === MessageType.MsgStorageAppendResp) {
        this.storageAppended(m.term, m.index, m.logTerm, m.snapshot);
      } else {
        this.logger.debug(
          {
            id: this.id,
            term: this.term,
            type: MessageType[m.type],
            from: m.from,
            msgTerm: m.term,
          },
          'ignored a message with lower term',
        );
      }
      return;
    }

    switch (m.type) {
      case MessageType.MsgHup:
        this.hup(this.preVote ? CampaignType.PreElection : CampaignType.Election);
        break;
      case MessageType.MsgStorageAppendResp:
        this.storageAppended(m.term, m.index, m.logTerm, m.snapshot);
        break;
      case MessageType.MsgStorageApplyResp:
        this.storageApplied(m.entries);
        break;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote:
        this.handleVoteRequest(m);
        break;
      default:
        switch (this.state) {
          case StateType.Leader:
            this.stepLeader(m);
            break;
          case StateType.Candidate:
          case StateType.PreCandidate:
            this.stepCandidate(m);
            break;
          default:
            this.stepFollower(m);
        }
    }
  }

  private handleVoteRequest(m: Message): void {
    // We can vote if this repeats a vote we cast, or we have not voted and know no leader in
    // this term, or it is a pre-vote for a future term...
    const canVote =
      this.vote === m.from ||
      (this.vote === None && this.lead === None) ||
      (m.type === MessageType.MsgPreVote && m.term > this.term);
    // ...and the candidate's log is at least as up to date as ours (§5.4.1). Learners vote
    // too: a learner may have been promoted without knowing it yet.
    if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
      this.logger.info(
        { id: this.id, term: this.term, type: MessageType[m.type], from: m.from, msgTerm: m.term },
        'cast vote',
      );
      // Answer with the request's term, not ours: for a pre-vote ours is older and the
      // pre-candidate would drop the answer as stale.
      this.send(newMessage({ to: m.from, term: m.term, type: voteRespMsgType(m.type) }));
      if (m.type === MessageType.MsgVote) {
        // Only real votes are recorded.
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.logger.info(
        {
          id: this.id,
          term: this.term,
          type: MessageType[m.type],
          from: m.from,
          msgTerm: m.term,
          vote: this.vote,
        },
        'rejected vote',
      );
      this.send(
        newMessage({ to: m.from, term: this.term, type: voteRespMsgType(m.type), reject: true }),
      );
    }
  }

  /**
   * What MsgStorageAppendResp reports: the log up to (index, logTerm) and `snap` are durable,
   * as written under `term`. RawNode's synchronous advance() calls it without a message.
   */
  storageAppended(term: Term, index: Index, logTerm: Term, snap: Snapshot | null): void {
    // Entries acknowledged under an older term may since have been overwritten: not stable.
    // A snapshot is term-independent and still counts.
    if (term >= this.term && index !== 0) this.raftLog.stableTo(index, logTerm);
    if (snap !== null) this.appliedSnap(snap);
  }

  /** What MsgStorageApplyResp reports: `ents` were applied (synchronous advance() too). */
  storageApplied(ents: readonly Entry[]): void {
    if (ents.length === 0) return;
    this.appliedTo(ents[ents.length - 1]!.index, entsSize(ents));
    this.reduceUncommittedSize(payloadsSize(ents));
  }

  private stepLeader(m: Message): void {
    // Messages that need no progress for m.from.
    switch (m.type) {
      case MessageType.MsgBeat:
        this.bcastHeartbeat();
        return;
      case MessageType.MsgCheckQuorum:
        if (!this.trk.quorumActive()) {
          this.logger.warn({ id: this.id }, 'stepped down to follower since quorum is not active');
          this.becomeFollower(this.term, None);
        }
        // Everyone but us starts the next round as inactive.
        this.trk.visit((id, pr) => {
          if (id !== this.id) pr.recentActive = false;
        });
        return;
      case MessageType.MsgProp:
        this.handleProposal(m);
        return;
      case MessageType.MsgReadIndex:
        // §6.4: a new leader does not know the commit index until it commits an entry of its
        // own term; reads wait for that. A single voter too (unlike etcd): after a restart its
        // commit index may lag what it committed before (the commit is written unsynced).
        if (!this.committedEntryInCurrentTerm()) {
          this.pendingReadIndexMessages.push(m);
          return;
        }
        this.sendMsgReadIndexResponse(m);
        return;
      case MessageType.MsgForgetLeader:
        return; // nothing to forget on the leader
    }

    const pr = this.trk.progress.get(m.from);
    if (pr === undefined) {
      this.logger.debug({ id: this.id, from: m.from }, 'no progress available');
      return;
    }
    switch (m.type) {
      case MessageType.MsgAppResp:
        this.handleAppendResponse(m, pr);
        break;
      case MessageType.MsgHeartbeatResp:
        this.handleHeartbeatResponse(m, pr);
        break;
      case MessageType.MsgSnapStatus:
        if (pr.state !== ProgressStateType.StateSnapshot) return;
        if (m.reject) {
          // Probe from before the snapshot: it was never applied.
          pr.pendingSnapshot = 0;
        }
        pr.becomeProbe();
        this.logger.debug(
          { id: this.id, to: m.from, failed: m.reject, progress: pr.toString() },
          'snapshot status',
        );
        // After success wait for the follower's MsgAppResp; after failure, for a heartbeat.
        pr.msgAppFlowPaused = true;
        break;
      case MessageType.MsgUnreachable:
        // An optimistic pipeline to an unreachable peer has probably lost messages.
        if (pr.state === ProgressStateType.StateReplicate) pr.becomeProbe();
        this.logger.debug(
          { id: this.id, to: m.from, progress: pr.toString() },
          'failed to send message: unreachable',
        );
        break;
      case MessageType.MsgTransferLeader:
        this.handleTransferLeader(m, pr);
        break;
    }
  }

  private handleProposal(m: Message): void {
    // Copy the entries: the leader assigns term and index, and the caller's objects (or a
    // duplicated message) must never alias what is in the log.
    const src = m.entries;
    const es: Entry[] = new Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const e = src[i]!;
      es[i] = { term: 0, index: 0, type: e.type, data: e.data };
    }
    this.proposeAsLeader(es);
  }

  /**
   * A proposal on this leader. `es` now belongs to raft (term, index and, for a refused conf
   * change, type and data are set in place): RawNode.propose() builds them fresh and comes
   * here directly, without a MsgProp and its copy. Throws ErrProposalDropped.
   */
  proposeAsLeader(es: Entry[]): void {
    if (es.length === 0) throw new RaftError('RAFT_INVARIANT', 'stepped empty MsgProp');
    if (!this.trk.progress.has(this.id)) {
      // Removed from the configuration while leading: take no new proposals.
      throw new ErrProposalDropped(
        'proposal dropped: this leader was removed from the configuration',
      );
    }
    if (this.leadTransferee !== None) {
      this.logger.debug(
        { id: this.id, term: this.term, transferee: this.leadTransferee },
        'transfer in progress; dropping proposal',
      );
      throw new ErrProposalDropped('proposal dropped: leadership transfer in progress');
    }
    let pendingConfIndex = this.pendingConfIndex;
    for (let i = 0; i < es.length; i++) {
      const e = es[i]!;
      if (e.type !== EntryType.EntryConfChange && e.type !== EntryType.EntryConfChangeV2) continue;
      const cc =
        e.type === EntryType.EntryConfChange
          ? decodeConfChange(e.data)
          : decodeConfChangeV2(e.data);
      const failed = this.confChangeRefusal(cc, pendingConfIndex);
      if (failed !== '' && !this.disableConfChangeValidation) {
        this.logger.info(
          { id: this.id, config: this.trk.config.toString(), reason: failed },
          'ignoring conf change',
        );
        e.type = EntryType.EntryNormal;
        e.data = EMPTY_BYTES;
      } else {
        pendingConfIndex = this.raftLog.lastIndex() + i + 1;
      }
    }
    if (!this.appendEntry(es)) {
      throw new ErrProposalDropped(
        'proposal dropped: uncommitted entries exceed maxUncommittedEntriesSize',
      );
    }
    this.pendingConfIndex = pendingConfIndex;
    this.bcastAppend();
  }

  /** Why a proposed conf change must be refused, or '' if it may go ahead. */
  private confChangeRefusal(cc: AnyConfChange, pendingConfIndex: Index): string {
    // pendingConfIndex includes changes earlier in the same proposal (etcd updates it as it
    // goes): two changes in one MsgProp must not both pass.
    const alreadyPending = pendingConfIndex > this.raftLog.applied;
    const alreadyJoint = this.trk.config.voters.isJoint();
    const wantsLeaveJoint = asV2(cc).changes.length === 0;
    if (alreadyPending) {
      return `possible unapplied conf change at index ${pendingConfIndex} (applied to ${this.raftLog.applied})`;
    }
    if (alreadyJoint && !wantsLeaveJoint) return 'must transition out of joint config first';
    if (!alreadyJoint && wantsLeaveJoint) return 'not in joint state; refusing empty conf change';
    return '';
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    // Also reached on advance, when the leader acknowledges its own appended entries.
    pr.recentActive = true;
    if (m.reject) {
      // The follower's log does not match at m.index. rejectHint is its guess at the last
      // matching index, logTerm the term it has there. When logTerm is set, skip straight
      // past every entry of ours with a higher term: a divergent uncommitted tail is probed
      // in one step per term instead of one per entry.
      this.logger.debug(
        { id: this.id, from: m.from, logTerm: m.logTerm, index: m.index, hint: m.rejectHint },
        'received MsgAppResp rejection',
      );
      let nextProbeIdx = m.rejectHint;
      if (m.logTerm > 0)
        nextProbeIdx = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
        this.logger.debug(
          { id: this.id, to: m.from, progress: pr.toString() },
          'decreased progress',
        );
        if (pr.state === ProgressStateType.StateReplicate) pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    // A probing follower that confirms it matches (even at the same index) can replicate.
    const wasMatch = pr.match;
    if (
      !pr.maybeUpdate(m.index) &&
      !(wasMatch === m.index && pr.state === ProgressStateType.StateProbe)
    ) {
      return;
    }
    if (pr.state === ProgressStateType.StateProbe) {
      pr.becomeReplicate();
    } else if (
      pr.state === ProgressStateType.StateSnapshot &&
      pr.match + 1 >= this.raftLog.firstIndex()
    ) {
      // Whatever snapshot it applied, the follower can now be caught up from the log.
      this.logger.debug(
        { id: this.id, to: m.from, progress: pr.toString() },
        'recovered from needing snapshot',
      );
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === ProgressStateType.StateReplicate) {
      pr.inflights.freeLE(m.index);
    }

    if (this.maybeCommit()) {
      // A new commit in our term: pending reads may now be served.
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    } else if (m.from !== this.id && pr.canBumpCommit(this.raftLog.committed)) {
      // It may not know the latest commit index; tell it now rather than at the next heartbeat.
      this.sendAppend(m.from);
    }
    // Flow control may have opened up (probe -> replicate, or several inflights freed):
    // send as much as allowed, without empty messages.
    if (m.from !== this.id) {
      while (this.maybeSendAppend(m.from, false)) {
        // keep sending while flow control allows
      }
    }
    // A transfer waits for the transferee to catch up.
    if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
      this.logger.info({ id: this.id, to: m.from }, 'sent MsgTimeoutNow after received MsgAppResp');
      this.sendTimeoutNow(m.from);
    }
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    pr.msgAppFlowPaused = false;
    // An append now (empty if nothing is new) unclogs a full pipeline whose messages were
    // lost, and moves a caught-up follower in StateProbe back to StateReplicate.
    if (pr.match < this.raftLog.lastIndex() || pr.state === ProgressStateType.StateProbe) {
      this.sendAppend(m.from);
    }
    if (this.readOnly.option !== ReadOnlyOption.Safe || m.context.length === 0) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (acks === undefined || this.trk.config.voters.voteResult(acks) !== VoteResult.VoteWon)
      return;
    for (const rs of this.readOnly.advance(m.context)) this.respondToReadIndex(rs.req, rs.index);
  }

  private handleTransferLeader(m: Message, pr: Progress): void {
    if (pr.isLearner) {
      this.logger.debug(
        { id: this.id, transferee: m.from },
        'ignored transferring leadership to a learner',
      );
      return;
    }
    const transferee = m.from;
    if (this.leadTransferee !== None) {
      if (this.leadTransferee === transferee) {
        this.logger.info(
          { id: this.id, transferee },
          'transfer to the same node is already in progress',
        );
        return;
      }
      this.abortLeaderTransfer();
    }
    if (transferee === this.id) {
      this.logger.debug({ id: this.id }, 'already leader; ignored transferring leadership to self');
      return;
    }
    this.logger.info({ id: this.id, term: this.term, transferee }, 'starts to transfer leadership');
    // The transfer must finish within an election timeout (see tickHeartbeat).
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    if (pr.match === this.raftLog.lastIndex()) {
      this.sendTimeoutNow(transferee);
    } else {
      this.sendAppend(transferee);
    }
  }

  private stepCandidate(m: Message): void {
    // Only the responses of our current candidacy count (a candidate may still receive
    // pre-vote responses from its pre-candidacy).
    const myVoteRespType =
      this.state === StateType.PreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
    switch (m.type) {
      case MessageType.MsgProp:
        this.logger.info({ id: this.id, term: this.term }, 'no leader; dropping proposal');
        throw new ErrProposalDropped('proposal dropped: no leader');
      case MessageType.MsgApp:
        this.becomeFollower(m.term, m.from); // m.term === this.term: a leader was elected
        this.handleAppendEntries(m);
        break;
      case MessageType.MsgHeartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        break;
      case MessageType.MsgSnap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        break;
      case myVoteRespType: {
        const { granted, rejected, result } = this.poll(m.from, m.type, !m.reject);
        this.logger.info(
          { id: this.id, granted, rejected, type: MessageType[m.type] },
          'vote tally',
        );
        if (result === VoteResult.VoteWon) {
          if (this.state === StateType.PreCandidate) {
            this.campaign(CampaignType.Election);
          } else if (this.trk.votes.get(this.id) !== true) {
            // Others granted a quorum, but our own vote, and with it our term, is not durable
            // yet (async storage writes send MsgVote before it is): lead once it is. A leader
            // that crashed before then would restart in the old term, win this term again
            // with the same (repeated) votes and append different entries at the same
            // indexes of the same term. (etcd leads at once.)
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (result === VoteResult.VoteLost) {
          // A pre-vote response carries our future term: stay at ours.
          this.becomeFollower(this.term, None);
        }
        break;
      }
      case MessageType.MsgTimeoutNow:
        this.logger.debug(
          { id: this.id, term: this.term, from: m.from },
          'ignored MsgTimeoutNow as candidate',
        );
        break;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.MsgProp:
        if (this.lead === None) {
          this.logger.info({ id: this.id, term: this.term }, 'no leader; dropping proposal');
          throw new ErrProposalDropped('proposal dropped: no leader');
        }
        if (this.disableProposalForwarding) {
          this.logger.info(
            { id: this.id, lead: this.lead },
            'not forwarding to leader; dropping proposal',
          );
          throw new ErrProposalDropped('proposal dropped: proposal forwarding is disabled');
        }
        m.to = this.lead;
        this.send(m);
        break;
      case MessageType.MsgApp:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        break;
      case MessageType.MsgHeartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        break;
      case MessageType.MsgSnap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        break;
      case MessageType.MsgTransferLeader:
        this.forwardToLeader(m, 'leader transfer msg');
        break;
      case MessageType.MsgForgetLeader:
        // Under a lease, forgetting the leader could let us vote while it still serves reads.
        if (this.readOnly.option === ReadOnlyOption.LeaseBased) {
          this.logger.error({ id: this.id }, 'ignoring MsgForgetLeader due to ReadOnlyLeaseBased');
          return;
        }
        if (this.lead !== None) {
          this.logger.info({ id: this.id, lead: this.lead, term: this.term }, 'forgetting leader');
          this.lead = None;
        }
        break;
      case MessageType.MsgTimeoutNow:
        this.logger.info(
          { id: this.id, term: this.term, from: m.from },
          'received MsgTimeoutNow; starting election',
        );
        // A transfer skips the pre-vote: the old leader asked for it, nobody is partitioned.
        this.hup(CampaignType.Transfer);
        break;
      case MessageType.MsgReadIndex:
        this.forwardToLeader(m, 'index reading msg');
        break;
      case MessageType.MsgReadIndexResp:
        if (m.entries.length !== 1) {
          this.logger.error(
            { id: this.id, from: m.from, count: m.entries.length },
            'invalid MsgReadIndexResp',
          );
          return;
        }
        this.readStates.push({ index: m.index, requestCtx: m.entries[0]!.data });
        break;
    }
  }

  /** Sends m on to the leader, or drops it (logged) when no leader is known. */
  private forwardToLeader(m: Message, what: string): void {
    if (this.lead === None) {
      this.logger.info({ id: this.id, term: this.term }, `no leader; dropping ${what}`);
      return;
    }
    m.to = this.lead;
    this.send(m);
  }

  // ---- followers: appends, heartbeats, snapshots ---------------------------------------

  handleAppendEntries(m: Message): void {
    const log = this.raftLog;
    if (m.index < log.committed) {
      // Everything up to our commit index is known to match: tell the leader where we are.
      const resp = blankMessage(MessageType.MsgAppResp, m.from);
      resp.index = log.committed;
      this.send(resp);
      return;
    }
    const lastNewIndex = log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNewIndex !== undefined) {
      const resp = blankMessage(MessageType.MsgAppResp, m.from);
      resp.index = lastNewIndex;
      this.send(resp);
      return;
    }
    this.logger.debug(
      {
        id: this.id,
        logTerm: log.zeroTermOnOutOfBounds(m.index),
        index: m.index,
        msgLogTerm: m.logTerm,
        from: m.from,
      },
      'rejected MsgApp',
    );
    // Hint the largest (index, term) with index <= m.index and term <= m.logTerm in our log:
    // the leader can skip our whole divergent tail of later terms.
    const hint = log.findConflictByTerm(Math.min(m.index, log.lastIndex()), m.logTerm);
    this.send(
      newMessage({
        to: m.from,
        type: MessageType.MsgAppResp,
        index: m.index,
        reject: true,
        rejectHint: hint.index,
        logTerm: hint.term,
      }),
    );
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send(newMessage({ to: m.from, type: MessageType.MsgHeartbeatResp, context: m.context }));
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    const sindex = s?.metadata.index ?? 0;
    const sterm = s?.metadata.term ?? 0;
    if (s !== null && this.restore(s)) {
      this.logger.info(
        { id: this.id, commit: this.raftLog.committed, sindex, sterm },
        'restored snapshot',
      );
      this.send(
        newMessage({ to: m.from, type: MessageType.MsgAppResp, index: this.raftLog.lastIndex() }),
      );
    } else {
      this.logger.info(
        { id: this.id, commit: this.raftLog.committed, sindex, sterm },
        'ignored snapshot',
      );
      this.send(
        newMessage({ to: m.from, type: MessageType.MsgAppResp, index: this.raftLog.committed }),
      );
    }
  }

  /**
   * Restores the log and configuration from a snapshot. Returns false if it was ignored
   * (obsolete, or we already have its last entry: then only the commit index moves).
   */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.state !== StateType.Follower) {
      // Never expected; defend by stepping down rather than restoring as leader.
      this.logger.warn(
        { id: this.id },
        'attempted to restore snapshot as leader; should never happen',
      );
      this.becomeFollower(this.term + 1, None);
      return false;
    }
    const cs = s.metadata.confState;
    if (
      !cs.voters.includes(this.id) &&
      !cs.learners.includes(this.id) &&
      !cs.votersOutgoing.includes(this.id)
    ) {
      this.logger.warn(
        { id: this.id },
        'attempted to restore snapshot but it is not in the ConfState',
      );
      return false;
    }
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We already have the snapshot's last entry: just fast-forward the commit index.
      this.logger.info(
        { id: this.id, index: s.metadata.index },
        'fast-forwarded commit to snapshot',
      );
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    if (this.raftLog.applying > this.raftLog.applied) {
      // Committed entries handed to the application are still being applied; conf changes
      // among them would then be applied on top of the snapshot's configuration. Ignore the
      // snapshot until they are; the leader sends it again. (etcd restores regardless.)
      this.logger.info(
        { id: this.id, applying: this.raftLog.applying, applied: this.raftLog.applied },
        'ignored snapshot while applying committed entries',
      );
      return false;
    }
    this.raftLog.restore(s);
    this.trk = new ProgressTracker(this.trk.maxInflight, this.trk.maxInflightBytes);
    const restored = restore(this.trk, this.raftLog.lastIndex(), cs);
    this.switchToConfig(restored.config, restored.progress);
    return true;
  }

  // ---- configuration -------------------------------------------------------------------

  applyConfChange(cc: ConfChangeV2): ConfState {
    const changer = new Changer(this.trk, this.raftLog.lastIndex());
    let result: ReturnType<Changer['simple']>;
    if (leaveJoint(cc)) {
      result = changer.leaveJoint();
    } else {
      const j = enterJoint(cc);
      result = j.ok ? changer.enterJoint(j.autoLeave, cc.changes) : changer.simple(cc.changes);
    }
    return this.switchToConfig(result.config, result.progress);
  }

  /**
   * Makes a new configuration current, and does what it implies: step down if removed, commit
   * what the new quorum allows, probe new members, abort a transfer to a removed node.
   */
  switchToConfig(
    config: ProgressTracker['config'],
    progress: ProgressTracker['progress'],
  ): ConfState {
    this.trk.config = config;
    this.trk.progress = progress;
    this.logger.info({ id: this.id, config: config.toString() }, 'switched to configuration');
    const cs = this.trk.confState();
    const pr = progress.get(this.id);
    this.isLearner = pr?.isLearner === true;

    if ((pr === undefined || this.isLearner) && this.state === StateType.Leader) {
      // Removed or demoted while leading.
      if (this.stepDownOnRemoval) this.becomeFollower(this.term, None);
      return cs;
    }
    if (this.state !== StateType.Leader || cs.voters.length === 0) return cs;

    if (this.maybeCommit()) {
      // The new quorum commits more: tell everyone.
      this.bcastAppend();
    } else {
      // Probe the new members now rather than at the next heartbeat.
      this.trk.visit((id) => {
        if (id !== this.id) this.maybeSendAppend(id, false);
      });
    }
    if (this.leadTransferee !== None && !this.trk.config.voters.has(this.leadTransferee)) {
      this.abortLeaderTransfer();
    }
    return cs;
  }

  loadState(hs: HardState): void {
    if (hs.commit < this.raftLog.committed || hs.commit > this.raftLog.lastIndex()) {
      throw new RaftError(
        'RAFT_INVARIANT',
        `${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
      );
    }
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---- applying ------------------------------------------------------------------------

  appliedTo(index: Index, size: number): void {
    const oldApplied = this.raftLog.applied;
    const newApplied = Math.max(index, oldApplied);
    this.raftLog.appliedTo(newApplied, size);
    if (
      this.trk.config.autoLeave &&
      newApplied >= this.pendingConfIndex &&
      this.state === StateType.Leader
    ) {
      // The joint configuration is committed and applied: leave it. An empty ConfChangeV2
      // has no payload, so the uncommitted quota never refuses it; a transfer in progress
      // can, and then this is retried on the next apply.
      const m = confChangeToMsg(null);
      try {
        this.step(m);
        this.logger.info(
          { id: this.id, config: this.trk.config.toString() },
          'initiating automatic transition out of joint configuration',
        );
      } catch (err) {
        this.logger.debug(
          { id: this.id, err },
          'not initiating automatic transition out of joint configuration',
        );
      }
    }
  }

  appliedSnap(snap: Snapshot): void {
    const index = snap.metadata.index;
    this.raftLog.stableSnapTo(index);
    this.appliedTo(index, 0);
  }

  /** Appends entries as leader; false if the uncommitted-size quota refuses them. */
  appendEntry(es: Entry[]): boolean {
    let li = this.raftLog.lastIndex();
    for (let i = 0; i < es.length; i++) {
      es[i]!.term = this.term;
      es[i]!.index = li + 1 + i;
    }
    if (!this.increaseUncommittedSize(es)) {
      this.logger.warn(
        { id: this.id },
        'appending new entries would exceed uncommitted entry size limit; dropping proposal',
      );
      return false;
    }
    li = this.raftLog.append(es);
    // Acknowledge our own entries once durable: a self-addressed MsgAppResp, delivered back
    // after the write. Consecutive self-acks merge into the newest one.
    const after = this.msgsAfterAppend;
    const prev = after.length > 0 ? after[after.length - 1]! : undefined;
    if (
      prev !== undefined &&
      prev.type === MessageType.MsgAppResp &&
      prev.to === this.id &&
      !prev.reject &&
      prev.term === this.term
    ) {
      prev.index = li;
    } else {
      const ack = blankMessage(MessageType.MsgAppResp, this.id);
      ack.index = li;
      this.send(ack);
    }
    return true;
  }

  private increaseUncommittedSize(ents: readonly Entry[]): boolean {
    const s = payloadsSize(ents);
    // An empty tail accepts any size (no livelock on one big proposal); empty payloads are
    // always accepted (new-term and leave-joint entries).
    if (this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize)
      return false;
    this.uncommittedSize += s;
    return true;
  }

  private reduceUncommittedSize(s: number): void {
    // The estimate may undercount, never overcount: saturate at 0.
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }

  // ---- reads and transfers -------------------------------------------------------------

  private committedEntryInCurrentTerm(): boolean {
    return this.raftLog.zeroTermOnOutOfBounds(this.raftLog.committed) === this.term;
  }

  /** Answers a read: locally as a ReadState, or with a MsgReadIndexResp to a follower. */
  private respondToReadIndex(req: Message, readIndex: Index): void {
    if (req.from === None || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: req.entries[0]!.data });
      return;
    }
    this.send(
      newMessage({
        type: MessageType.MsgReadIndexResp,
        to: req.from,
        index: readIndex,
        entries: req.entries,
      }),
    );
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (!this.committedEntryInCurrentTerm()) {
      this.logger.error(
        { id: this.id },
        'pending MsgReadIndex should be released only after first commit in current term',
      );
      return;
    }
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.sendMsgReadIndexResponse(m);
  }

  private sendMsgReadIndexResponse(m: Message): void {
    // Alone in the cluster there is no one to confirm the leadership with.
    if (this.readOnly.option === ReadOnlyOption.Safe && !this.trk.isSingleton()) {
      // Confirm leadership with a heartbeat round carrying the request's context.
      const ctx = m.entries[0]!.data;
      this.readOnly.addRequest(this.raftLog.committed, m);
      this.readOnly.recvAck(this.id, ctx);
      this.bcastHeartbeatWithCtx(ctx);
    } else {
      this.respondToReadIndex(m, this.raftLog.committed);
    }
  }

  sendTimeoutNow(to: NodeId): void {
    this.send(newMessage({ to, type: MessageType.MsgTimeoutNow }));
  }

  /** Retries what waited on a Storage fetch (see Storage / ErrLogTemporarilyUnavailable). */
  onEntriesFetched(why: 'append' | 'apply', to: NodeId): void {
    if (why === 'apply') {
      this.raftLog.applyFetchPending = false;
      return;
    }
    if (this.state !== StateType.Leader || !this.trk.progress.has(to) || to === this.id) return;
    this.sendAppend(to);
  }

  isLocalTarget(id: NodeId): boolean {
    return isLocalMsgTarget(id);
  }
}

/** A MsgProp carrying a conf change (null: the empty ConfChangeV2 that leaves a joint state). */
export function confChangeToMsg(cc: AnyConfChange | null): Message {
  let type = EntryType.EntryConfChangeV2;
  let data = EMPTY_BYTES;
  if (cc !== null) {
    if ('changes' in cc) {
      data = encodeConfChangeV2(cc);
    } else {
      type = EntryType.EntryConfChange;
      data = encodeConfChangeV1(cc);
    }
  }
  return newMessage({ type: MessageType.MsgProp, entries: [{ term: 0, index: 0, type, data }] });
}
