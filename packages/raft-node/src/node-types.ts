// The public shapes of RaftNode's API that are not options: roles, leader state, status,
// events and lifecycle states.
import { type NodeId, StateType, type Status } from '@tsraft/raft-core';
import type { Member } from './membership.js';

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
  /**
   * This node was removed from the cluster: it applied the conf change, or a member refused
   * its connection as removed. It takes no more requests (ErrRemoved) and stops by itself.
   */
  removed: [];
  /** A storage or state machine failure stopped the node. */
  error: [Error];
}

export type Lifecycle = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

export const ROLES: Record<StateType, Role> = {
  [StateType.Follower]: 'follower',
  [StateType.PreCandidate]: 'pre-candidate',
  [StateType.Candidate]: 'candidate',
  [StateType.Leader]: 'leader',
};
