export { type AckedIndexer, INFINITE_INDEX, MajorityConfig, VoteResult } from './majority.js';
export { JointConfig } from './joint.js';
