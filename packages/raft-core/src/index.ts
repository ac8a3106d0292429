export * from './raftpb.js';
export * from './errors.js';
export * from './logger.js';
export * from './storage.js';
export * from './codec.js';
export * from './codec-fast.js';
export {
  type Config,
  LocalAppendThread,
  LocalApplyThread,
  isLocalMsgTarget,
  validateConfig,
} from './config.js';
export { ReadOnlyOption, type ReadState } from './read-only.js';
export { StateType, CampaignType, type SoftState, Raft, confChangeToMsg } from './raft.js';
export { RawNode, type Ready, type Peer, SnapshotStatus } from './raw-node.js';
export type { BasicStatus, Status, ProgressStatus, ConfigStatus } from './status.js';
export { ProgressStateType } from './tracker/progress.js';
export { Inflights } from './tracker/inflights.js';
export { Progress } from './tracker/progress.js';
export { ProgressTracker, TrackerConfig } from './tracker/tracker.js';
export { MajorityConfig, JointConfig, VoteResult, type AckedIndexer } from './quorum/index.js';
export {
  Changer,
  restore as restoreConfState,
  checkInvariants,
  asV2,
  enterJoint,
  leaveJoint,
  type AnyConfChange,
} from './confchange/index.js';
export { describeMessage, describeEntry, describeReady, describeEntries } from './describe.js';
