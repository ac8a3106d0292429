export { type ChangeResult, Changer, type ChangerTracker, checkInvariants } from './changer.js';
export { restore, toConfChangeSingle } from './restore.js';
export {
  type AnyConfChange,
  asV2,
  enterJoint,
  isConfChangeV2,
  leaveJoint,
} from './conf-change-v2.js';
