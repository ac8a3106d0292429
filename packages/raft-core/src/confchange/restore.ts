// Rebuilds a tracker configuration from a ConfState (on start or when a snapshot is restored)
// by replaying it as a sequence of conf changes on an empty configuration.
import { type ConfChangeSingle, ConfChangeType, type ConfState } from '../raftpb.js';
import { type ChangeResult, Changer, type ChangerTracker } from './changer.js';

/**
 * Translates a ConfState into the changes that build the outgoing config from nothing
 * (`outgoing`) and the changes that then enter the joint config it describes (`incoming`).
 *
 * For voters=(1 2 3) learners=(5) outgoing=(1 2 4 6) learnersNext=(4):
 *   outgoing = add 1, add 2, add 4, add 6
 *   incoming = remove 1, 2, 4, 6; add 1, 2, 3; add-learner 5; add-learner 4
 */
export function toConfChangeSingle(cs: ConfState): {
  outgoing: ConfChangeSingle[];
  incoming: ConfChangeSingle[];
} {
  const outgoing: ConfChangeSingle[] = [];
  const incoming: ConfChangeSingle[] = [];
  for (const id of cs.votersOutgoing)
    outgoing.push({ type: ConfChangeType.ConfChangeAddNode, nodeId: id });
  for (const id of cs.votersOutgoing)
    incoming.push({ type: ConfChangeType.ConfChangeRemoveNode, nodeId: id });
  for (const id of cs.voters) incoming.push({ type: ConfChangeType.ConfChangeAddNode, nodeId: id });
  for (const id of cs.learners)
    incoming.push({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: id });
  for (const id of cs.learnersNext) {
    incoming.push({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: id });
  }
  return { outgoing, incoming };
}

/**
 * Enacts `cs` starting from the (empty) configuration of `tracker`. Throws
 * ErrInvalidConfChange if the ConfState is not a valid configuration.
 */
export function restore(tracker: ChangerTracker, lastIndex: number, cs: ConfState): ChangeResult {
  const { outgoing, incoming } = toConfChangeSingle(cs);
  let cur: ChangeResult = { config: tracker.config, progress: tracker.progress };
  const changer = (): Changer =>
    new Changer(
      {
        config: cur.config,
        progress: cur.progress,
        maxInflight: tracker.maxInflight,
        maxInflightBytes: tracker.maxInflightBytes,
      },
      lastIndex,
    );
  if (outgoing.length === 0) {
    // Not joint: apply the incoming changes one at a time.
    for (const cc of incoming) cur = changer().simple([cc]);
  } else {
    // Joint: build the outgoing config as if it were the current one, then enter the joint
    // state, which moves it to the outgoing side and builds the incoming side.
    for (const cc of outgoing) cur = changer().simple([cc]);
    cur = changer().enterJoint(cs.autoLeave, incoming);
  }
  return cur;
}
