// Helpers that read a ConfChange or ConfChangeV2 the way raft applies it.
import {
  type ConfChange,
  ConfChangeTransition,
  type ConfChangeV2,
  EMPTY_BYTES,
} from '../raftpb.js';

export type AnyConfChange = ConfChange | ConfChangeV2;

export function isConfChangeV2(cc: AnyConfChange): cc is ConfChangeV2 {
  return (cc as ConfChangeV2).changes !== undefined;
}

/** The V2 form of either kind of conf change (a V1 change is one simple change). */
export function asV2(cc: AnyConfChange): ConfChangeV2 {
  if (isConfChangeV2(cc)) return cc;
  return {
    transition: ConfChangeTransition.ConfChangeTransitionAuto,
    changes: [{ type: cc.type, nodeId: cc.nodeId }],
    context: cc.context ?? EMPTY_BYTES,
  };
}

/**
 * Whether the change uses joint consensus (more than one change, or a joint transition asked
 * for explicitly), and if so whether the joint state is left automatically.
 */
export function enterJoint(cc: ConfChangeV2): { ok: boolean; autoLeave: boolean } {
  if (cc.transition !== ConfChangeTransition.ConfChangeTransitionAuto || cc.changes.length > 1) {
    switch (cc.transition) {
      case ConfChangeTransition.ConfChangeTransitionAuto:
      case ConfChangeTransition.ConfChangeTransitionJointImplicit:
        return { ok: true, autoLeave: true };
      case ConfChangeTransition.ConfChangeTransitionJointExplicit:
        return { ok: true, autoLeave: false };
      default:
        throw new Error(`unknown conf change transition ${cc.transition}`);
    }
  }
  return { ok: false, autoLeave: false };
}

/** Whether the change leaves a joint configuration: an empty ConfChangeV2 (context aside). */
export function leaveJoint(cc: ConfChangeV2): boolean {
  return cc.transition === ConfChangeTransition.ConfChangeTransitionAuto && cc.changes.length === 0;
}
