// What the HTTP API needs from consensus. The server implements it over a RaftNode
// (raft-adapter.ts); tests of the HTTP layer implement it in memory. Keeping the API behind
// this seam means the request handling can be tested without a cluster.

export type Role = 'leader' | 'follower' | 'candidate' | 'pre-candidate';

export interface PeerProgress {
  id: number;
  match: number;
  next: number;
  /** 'probe' | 'replicate' | 'snapshot'. */
  state: string;
  recentActive: boolean;
  isLearner: boolean;
  pendingSnapshot: number;
  inflight: number;
}

export interface ConsensusStatus {
  id: number;
  role: Role;
  term: number;
  vote: number;
  /** 0 when no leader is known. */
  leader: number;
  commit: number;
  applied: number;
  /** The index of the latest snapshot, and the log kept beside it: [firstIndex, lastIndex]. */
  snapshotIndex: number;
  firstIndex: number;
  lastIndex: number;
  voters: number[];
  learners: number[];
  /** Each peer's replication progress; empty unless this node leads. */
  progress: PeerProgress[];
}

export interface ConsensusMember {
  id: number;
  /** The member's raft (peer) address, host:port, when this node knows it. */
  peerAddr?: string;
  isLearner: boolean;
}

/** Why a consensus call failed; the HTTP layer maps kinds to statuses. */
export type ConsensusErrorKind =
  /** Never appended to the log: safe to retry. */
  | 'dropped'
  /** Appended, but its fate is unknown (leadership lost, or the deadline passed). */
  | 'indeterminate'
  /** The deadline passed or the client went away before anything was proposed. */
  | 'aborted'
  /** The node is stopping or stopped. */
  | 'stopped'
  /** A membership change that the current configuration does not allow. */
  | 'rejected';

export class ConsensusError extends Error {
  constructor(
    readonly kind: ConsensusErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ConsensusError';
  }
}

export interface Consensus {
  readonly id: number;
  /** Resolves with the state machine's result once the entry is applied on this node. */
  propose(data: Uint8Array, signal: AbortSignal): Promise<unknown>;
  /** A linearizable read barrier: afterwards the local state machine reflects every write acknowledged before the call. */
  read(signal: AbortSignal): Promise<void>;
  isLeader(): boolean;
  status(): ConsensusStatus;
  /** The current raft term (what status().term says, without building the status). */
  term(): number;
  members(): ConsensusMember[];
  addMember(id: number, peerAddr: string, learner: boolean, signal: AbortSignal): Promise<void>;
  promoteMember(id: number, signal: AbortSignal): Promise<void>;
  /** Moves a member to a new raft address, through the log (etcd's MemberUpdate). */
  updateMember(id: number, peerAddr: string, signal: AbortSignal): Promise<void>;
  removeMember(id: number, signal: AbortSignal): Promise<void>;
  transferLeadership(to: number, signal: AbortSignal): Promise<void>;
}
