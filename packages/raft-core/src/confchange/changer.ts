// Validated configuration transitions: copy the tracker's config and progress, apply the
// changes to the copy, check the invariants, and hand back the result. The tracker itself is
// never touched, so a failed change leaves nothing behind.
import { ErrInvalidConfChange } from '../errors.js';
import { MajorityConfig } from '../quorum/majority.js';
import { JointConfig } from '../quorum/joint.js';
import { type ConfChangeSingle, ConfChangeType, type Index, type NodeId } from '../raftpb.js';
import { Inflights } from '../tracker/inflights.js';
import { Progress } from '../tracker/progress.js';
import { type ProgressMap, TrackerConfig } from '../tracker/tracker.js';

export interface ChangerTracker {
  readonly config: TrackerConfig;
  readonly progress: ProgressMap;
  readonly maxInflight: number;
  readonly maxInflightBytes: number;
}

export interface ChangeResult {
  config: TrackerConfig;
  progress: ProgressMap;
}

export class Changer {
  constructor(
    readonly tracker: ChangerTracker,
    /** The raft log's last index: new members are probed from here. */
    readonly lastIndex: Index,
  ) {}

  /**
   * Enters a joint configuration: the current voters become the outgoing set and the changes
   * make the incoming set. With autoLeave, raft leaves the joint state by itself once the
   * change is committed.
   */
  enterJoint(autoLeave: boolean, ccs: readonly ConfChangeSingle[]): ChangeResult {
    const { config, progress } = this.checkAndCopy();
    if (config.voters.isJoint()) throw new ErrInvalidConfChange('config is already joint');
    if (config.voters.incoming.size === 0) {
      // Adding to an empty config is allowed (bootstrap), making it joint is not.
      throw new ErrInvalidConfChange("can't make a zero-voter config joint");
    }
    // The current voters become the outgoing set; the changes then shape the incoming set.
    const cfg = new TrackerConfig(
      new JointConfig(
        config.voters.incoming,
        new MajorityConfig(new Set(config.voters.incoming.ids)),
      ),
      autoLeave,
      config.learners,
      config.learnersNext,
    );
    this.apply(cfg, progress, ccs);
    return checkAndReturn(cfg, progress);
  }

  /**
   * Leaves a joint configuration: the outgoing set is dropped, staged learners become
   * learners, and members in neither set are removed.
   */
  leaveJoint(): ChangeResult {
    const { config, progress } = this.checkAndCopy();
    if (!config.voters.isJoint()) throw new ErrInvalidConfChange("can't leave a non-joint config");
    for (const id of config.learnersNext) {
      config.learners.add(id);
      progress.get(id)!.isLearner = true;
    }
    config.learnersNext.clear();
    for (const id of config.voters.outgoing.ids) {
      if (!config.voters.incoming.ids.has(id) && !config.learners.has(id)) progress.delete(id);
    }
    const cfg = new TrackerConfig(
      new JointConfig(config.voters.incoming, new MajorityConfig()),
      false,
      config.learners,
      config.learnersNext,
    );
    return checkAndReturn(cfg, progress);
  }

  /**
   * Applies changes that alter the voters by at most one, without joint consensus. More than
   * one voter changing at once is refused: it could break the overlap of quorums.
   */
  simple(ccs: readonly ConfChangeSingle[]): ChangeResult {
    const { config, progress } = this.checkAndCopy();
    if (config.voters.isJoint()) {
      throw new ErrInvalidConfChange("can't apply simple config change in joint config");
    }
    this.apply(config, progress, ccs);
    if (symdiff(this.tracker.config.voters.incoming.ids, config.voters.incoming.ids) > 1) {
      throw new ErrInvalidConfChange('more than one voter changed without entering joint config');
    }
    return checkAndReturn(config, progress);
  }

  private apply(cfg: TrackerConfig, trk: ProgressMap, ccs: readonly ConfChangeSingle[]): void {
    for (const cc of ccs) {
      // A zero node id marks a change the application decided not to apply.
      if (cc.nodeId === 0) continue;
      switch (cc.type) {
        case ConfChangeType.ConfChangeAddNode:
          this.makeVoter(cfg, trk, cc.nodeId);
          break;
        case ConfChangeType.ConfChangeAddLearnerNode:
          this.makeLearner(cfg, trk, cc.nodeId);
          break;
        case ConfChangeType.ConfChangeRemoveNode:
          this.remove(cfg, trk, cc.nodeId);
          break;
        case ConfChangeType.ConfChangeUpdateNode:
          break;
        default:
          throw new ErrInvalidConfChange(`unexpected conf change type ${cc.type}`);
      }
    }
    if (cfg.voters.incoming.size === 0) throw new ErrInvalidConfChange('removed all voters');
  }

  private makeVoter(cfg: TrackerConfig, trk: ProgressMap, id: NodeId): void {
    const pr = trk.get(id);
    if (pr === undefined) {
      this.initProgress(cfg, trk, id, false);
      return;
    }
    pr.isLearner = false;
    cfg.learners.delete(id);
    cfg.learnersNext.delete(id);
    cfg.voters.incoming.ids.add(id);
  }

  private makeLearner(cfg: TrackerConfig, trk: ProgressMap, id: NodeId): void {
    const pr = trk.get(id);
    if (pr === undefined) {
      this.initProgress(cfg, trk, id, true);
      return;
    }
    if (pr.isLearner) return;
    // Remove it as a voter in the incoming config, but keep its progress.
    this.remove(cfg, trk, id);
    trk.set(id, pr);
    // A voter of the outgoing config can only become a learner when the joint state is left.
    if (cfg.voters.outgoing.ids.has(id)) {
      cfg.learnersNext.add(id);
    } else {
      pr.isLearner = true;
      cfg.learners.add(id);
    }
  }

  private remove(cfg: TrackerConfig, trk: ProgressMap, id: NodeId): void {
    if (!trk.has(id)) return;
    cfg.voters.incoming.ids.delete(id);
    cfg.learners.delete(id);
    cfg.learnersNext.delete(id);
    // An outgoing voter still counts until the joint state is left: keep its progress.
    if (!cfg.voters.outgoing.ids.has(id)) trk.delete(id);
  }

  private initProgress(cfg: TrackerConfig, trk: ProgressMap, id: NodeId, isLearner: boolean): void {
    if (isLearner) cfg.learners.add(id);
    else cfg.voters.incoming.ids.add(id);
    // Probe from the last index (invariant match < next). Mark it recently active so that a
    // CheckQuorum right after the change does not count it as down.
    const pr = new Progress(
      Math.max(this.lastIndex, 1),
      new Inflights(this.tracker.maxInflight, this.tracker.maxInflightBytes),
      isLearner,
    );
    pr.recentActive = true;
    trk.set(id, pr);
  }

  private checkAndCopy(): ChangeResult {
    const config = this.tracker.config.clone();
    const progress: ProgressMap = new Map();
    // A shallow copy suffices: the changer only flips isLearner.
    for (const [id, pr] of this.tracker.progress) progress.set(id, pr.shallowCopy());
    return checkAndReturn(config, progress);
  }
}

function checkAndReturn(config: TrackerConfig, progress: ProgressMap): ChangeResult {
  checkInvariants(config, progress);
  return { config, progress };
}

/** The invariants every configuration must hold; a violation is an ErrInvalidConfChange. */
export function checkInvariants(cfg: TrackerConfig, trk: ProgressMap): void {
  for (const ids of [cfg.voters.ids(), cfg.learners, cfg.learnersNext]) {
    for (const id of ids) {
      if (!trk.has(id)) throw new ErrInvalidConfChange(`no progress for ${id}`);
    }
  }
  // A staged learner was staged because it is a voter in the outgoing config.
  for (const id of cfg.learnersNext) {
    if (!cfg.voters.outgoing.ids.has(id)) {
      throw new ErrInvalidConfChange(`${id} is in LearnersNext, but not Voters[1]`);
    }
    if (trk.get(id)!.isLearner) {
      throw new ErrInvalidConfChange(`${id} is in LearnersNext, but is already marked as learner`);
    }
  }
  // Learners and voters never intersect.
  for (const id of cfg.learners) {
    if (cfg.voters.outgoing.ids.has(id)) {
      throw new ErrInvalidConfChange(`${id} is in Learners and Voters[1]`);
    }
    if (cfg.voters.incoming.ids.has(id)) {
      throw new ErrInvalidConfChange(`${id} is in Learners and Voters[0]`);
    }
    if (!trk.get(id)!.isLearner) {
      throw new ErrInvalidConfChange(`${id} is in Learners, but is not marked as learner`);
    }
  }
  if (!cfg.voters.isJoint()) {
    if (cfg.learnersNext.size > 0) {
      throw new ErrInvalidConfChange('LearnersNext must be empty when not joint');
    }
    if (cfg.autoLeave) throw new ErrInvalidConfChange('AutoLeave must be false when not joint');
  }
}

/** The number of ids in exactly one of the two sets. */
function symdiff(a: Set<NodeId>, b: Set<NodeId>): number {
  let n = 0;
  for (const id of a) if (!b.has(id)) n++;
  for (const id of b) if (!a.has(id)) n++;
  return n;
}
