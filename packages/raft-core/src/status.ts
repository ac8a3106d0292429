// Snapshots of a node's state for monitoring, tests and drivers (etcd's Status).
import type { HardState, Index, NodeId } from './raftpb.js';
import type { Raft, SoftState } from './raft.js';
import type { ProgressStateType } from './tracker/progress.js';

export interface BasicStatus {
  id: NodeId;
  hardState: HardState;
  softState: SoftState;
  applied: Index;
  leadTransferee: NodeId;
}

export interface ProgressStatus {
  match: Index;
  next: Index;
  state: ProgressStateType;
  pendingSnapshot: Index;
  recentActive: boolean;
  isLearner: boolean;
  /** Messages and bytes in flight (StateReplicate). */
  inflights: { count: number; bytes: number; size: number };
}

export interface ConfigStatus {
  voters: NodeId[];
  votersOutgoing: NodeId[];
  learners: NodeId[];
  learnersNext: NodeId[];
  autoLeave: boolean;
}

export interface Status extends BasicStatus {
  /** Each peer's replication progress; empty unless this node leads. */
  progress: Map<NodeId, ProgressStatus>;
  config: ConfigStatus;
}

export function getBasicStatus(r: Raft): BasicStatus {
  return {
    id: r.id,
    hardState: r.hardState(),
    softState: r.softState(),
    applied: r.raftLog.applied,
    leadTransferee: r.leadTransferee,
  };
}

export function getProgressStatus(r: Raft): Map<NodeId, ProgressStatus> {
  const m = new Map<NodeId, ProgressStatus>();
  r.trk.visit((id, pr) => {
    m.set(id, {
      match: pr.match,
      next: pr.next,
      state: pr.state,
      pendingSnapshot: pr.pendingSnapshot,
      recentActive: pr.recentActive,
      isLearner: pr.isLearner,
      inflights: { count: pr.inflights.count, bytes: pr.inflights.bytes, size: pr.inflights.size },
    });
  });
  return m;
}

export function getStatus(r: Raft): Status {
  const cs = r.trk.confState();
  return {
    ...getBasicStatus(r),
    progress: r.state === 2 /* Leader */ ? getProgressStatus(r) : new Map(),
    config: {
      voters: cs.voters,
      votersOutgoing: cs.votersOutgoing,
      learners: cs.learners,
      learnersNext: cs.learnersNext,
      autoLeave: cs.autoLeave,
    },
  };
}
