// The raftpb types as raft-core uses them: etcd's raftpb, camelCased, numbers as JS numbers.
// proto/raftpb.proto is the wire form of the same types; src/codec.ts converts between them.

/** A raft term. Safe integer; 0 means "none". */
export type Term = number;
/** A log index. Safe integer; 0 means "none" (the log starts at 1). */
export type Index = number;
/** A node id. Safe integer; 0 (`None`) is never a valid id. */
export type NodeId = number;

/** Placeholder node id when there is no leader or no vote. */
export const None: NodeId = 0;

export enum EntryType {
  EntryNormal = 0,
  EntryConfChange = 1,
  EntryConfChangeV2 = 2,
}

export enum MessageType {
  MsgHup = 0,
  MsgBeat = 1,
  MsgProp = 2,
  MsgApp = 3,
  MsgAppResp = 4,
  MsgVote = 5,
  MsgVoteResp = 6,
  MsgSnap = 7,
  MsgHeartbeat = 8,
  MsgHeartbeatResp = 9,
  MsgUnreachable = 10,
  MsgSnapStatus = 11,
  MsgCheckQuorum = 12,
  MsgTransferLeader = 13,
  MsgTimeoutNow = 14,
  MsgReadIndex = 15,
  MsgReadIndexResp = 16,
  MsgPreVote = 17,
  MsgPreVoteResp = 18,
  MsgStorageAppend = 19,
  MsgStorageAppendResp = 20,
  MsgStorageApply = 21,
  MsgStorageApplyResp = 22,
  MsgForgetLeader = 23,
}

export enum ConfChangeType {
  ConfChangeAddNode = 0,
  ConfChangeRemoveNode = 1,
  ConfChangeUpdateNode = 2,
  ConfChangeAddLearnerNode = 3,
}

export enum ConfChangeTransition {
  /** Joint consensus only when needed, left automatically once committed. */
  ConfChangeTransitionAuto = 0,
  /** Always joint consensus, left automatically. */
  ConfChangeTransitionJointImplicit = 1,
  /** Always joint consensus, left by an explicit empty ConfChangeV2. */
  ConfChangeTransitionJointExplicit = 2,
}

export interface Entry {
  term: Term;
  index: Index;
  type: EntryType;
  data: Uint8Array;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  votersOutgoing: NodeId[];
  learnersNext: NodeId[];
  autoLeave: boolean;
}

export interface SnapshotMetadata {
  confState: ConfState;
  index: Index;
  term: Term;
}

export interface Snapshot {
  data: Uint8Array;
  metadata: SnapshotMetadata;
}

export interface HardState {
  term: Term;
  vote: NodeId;
  commit: Index;
}

export interface Message {
  type: MessageType;
  to: NodeId;
  from: NodeId;
  term: Term;
  /** The term of the entry at `index` (MsgApp), or of the last entry (votes). */
  logTerm: Term;
  index: Index;
  entries: Entry[];
  commit: Index;
  /** For MsgStorageAppend: the vote to persist. */
  vote: NodeId;
  snapshot: Snapshot | null;
  reject: boolean;
  rejectHint: Index;
  context: Uint8Array;
  /** For MsgStorageAppend/Apply: the messages to deliver once the local write is done. */
  responses: Message[];
}

export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  context: Uint8Array;
  /** Unused by raft; kept for wire compatibility with etcd. */
  id: number;
}

export interface ConfChangeSingle {
  type: ConfChangeType;
  nodeId: NodeId;
}

export interface ConfChangeV2 {
  transition: ConfChangeTransition;
  changes: ConfChangeSingle[];
  context: Uint8Array;
}

/** Shared immutable empty values: the hot path never allocates an empty array or buffer. */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);
const EMPTY_ENTRIES: Entry[] = Object.freeze([]) as unknown as Entry[];
const EMPTY_MESSAGES: Message[] = Object.freeze([]) as unknown as Message[];
export { EMPTY_ENTRIES, EMPTY_MESSAGES };

/** A Message with every field present (one hidden class for all messages), defaults zero. */
export function newMessage(fields: Partial<Message>): Message {
  return {
    type: fields.type ?? MessageType.MsgHup,
    to: fields.to ?? 0,
    from: fields.from ?? 0,
    term: fields.term ?? 0,
    logTerm: fields.logTerm ?? 0,
    index: fields.index ?? 0,
    entries: fields.entries ?? EMPTY_ENTRIES,
    commit: fields.commit ?? 0,
    vote: fields.vote ?? 0,
    snapshot: fields.snapshot ?? null,
    reject: fields.reject ?? false,
    rejectHint: fields.rejectHint ?? 0,
    context: fields.context ?? EMPTY_BYTES,
    responses: fields.responses ?? EMPTY_MESSAGES,
  };
}

/**
 * A zeroed Message of `type` to `to`, as one object literal of the same shape as newMessage's:
 * the hot paths set the few fields they need on it and allocate nothing else.
 */
export function blankMessage(type: MessageType, to: NodeId): Message {
  return {
    type,
    to,
    from: 0,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: EMPTY_ENTRIES,
    commit: 0,
    vote: 0,
    snapshot: null,
    reject: false,
    rejectHint: 0,
    context: EMPTY_BYTES,
    responses: EMPTY_MESSAGES,
  };
}

export function newEntry(fields: Partial<Entry>): Entry {
  return {
    term: fields.term ?? 0,
    index: fields.index ?? 0,
    type: fields.type ?? EntryType.EntryNormal,
    data: fields.data ?? EMPTY_BYTES,
  };
}

export function newConfState(fields: Partial<ConfState> = {}): ConfState {
  return {
    voters: fields.voters ?? [],
    learners: fields.learners ?? [],
    votersOutgoing: fields.votersOutgoing ?? [],
    learnersNext: fields.learnersNext ?? [],
    autoLeave: fields.autoLeave ?? false,
  };
}

export function emptySnapshot(): Snapshot {
  return { data: EMPTY_BYTES, metadata: { confState: newConfState(), index: 0, term: 0 } };
}

export function isEmptySnap(s: Snapshot | null | undefined): boolean {
  return s == null || s.metadata.index === 0;
}

export function emptyHardState(): HardState {
  return { term: 0, vote: 0, commit: 0 };
}

export function isEmptyHardState(h: HardState): boolean {
  return h.term === 0 && h.vote === 0 && h.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** Whether `t` is a response to a local storage write (never sent to a peer). */
export function isLocalMsg(t: MessageType): boolean {
  switch (t) {
    case MessageType.MsgHup:
    case MessageType.MsgBeat:
    case MessageType.MsgUnreachable:
    case MessageType.MsgSnapStatus:
    case MessageType.MsgCheckQuorum:
    case MessageType.MsgStorageAppend:
    case MessageType.MsgStorageAppendResp:
    case MessageType.MsgStorageApply:
    case MessageType.MsgStorageApplyResp:
      return true;
    default:
      return false;
  }
}

/** Whether `t` answers a request (its sender learns something from it). */
export function isResponseMsg(t: MessageType): boolean {
  switch (t) {
    case MessageType.MsgAppResp:
    case MessageType.MsgVoteResp:
    case MessageType.MsgHeartbeatResp:
    case MessageType.MsgUnreachable:
    case MessageType.MsgReadIndexResp:
    case MessageType.MsgPreVoteResp:
    case MessageType.MsgStorageAppendResp:
    case MessageType.MsgStorageApplyResp:
      return true;
    default:
      return false;
  }
}

/** The response type that answers a vote request of type `t`. */
export function voteRespMsgType(t: MessageType): MessageType {
  switch (t) {
    case MessageType.MsgVote:
      return MessageType.MsgVoteResp;
    case MessageType.MsgPreVote:
      return MessageType.MsgPreVoteResp;
    default:
      throw new Error(`not a vote message: ${MessageType[t]}`);
  }
}

/** The bytes an entry counts for in size limits: its payload plus a fixed overhead. */
export function entrySize(e: Entry): number {
  return e.data.length + 24;
}

/** The payload size counted against maxUncommittedEntriesSize (etcd: data only). */
export function payloadSize(e: Entry): number {
  return e.data.length;
}

export function payloadsSize(ents: readonly Entry[]): number {
  let s = 0;
  for (let i = 0; i < ents.length; i++) s += ents[i]!.data.length;
  return s;
}

export function entsSize(ents: readonly Entry[]): number {
  let s = 0;
  for (let i = 0; i < ents.length; i++) s += entrySize(ents[i]!);
  return s;
}

/**
 * The longest prefix of `ents` whose total size is at most `maxSize`, but at least one entry
 * (so a single entry larger than the limit still makes progress).
 */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]!);
  let limit = 1;
  for (; limit < ents.length; limit++) {
    size += entrySize(ents[limit]!);
    if (size > maxSize) break;
  }
  return limit === ents.length ? ents : ents.slice(0, limit);
}
