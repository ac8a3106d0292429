// The leader's view of the cluster: the configuration (who votes, who learns) and one
// Progress per member. Also tallies election votes.
import { JointConfig } from '../quorum/joint.js';
import { VoteResult } from '../quorum/majority.js';
import type { ConfState, Index, NodeId } from '../raftpb.js';
import type { Progress } from './progress.js';

/**
 * A configuration. Invariants (checked by confchange): learners and voters are disjoint;
 * learnersNext holds nodes that are outgoing voters and become learners when the joint
 * configuration is left.
 */
export class TrackerConfig {
  constructor(
    readonly voters: JointConfig = new JointConfig(),
    /** Leave the joint configuration automatically once it is committed. */
    public autoLeave = false,
    readonly learners: Set<NodeId> = new Set(),
    readonly learnersNext: Set<NodeId> = new Set(),
  ) {}

  clone(): TrackerConfig {
    return new TrackerConfig(
      this.voters.clone(),
      this.autoLeave,
      new Set(this.learners),
      new Set(this.learnersNext),
    );
  }

  toString(): string {
    let s = `voters=${this.voters}`;
    if (this.learners.size > 0) s += ` learners=(${sortedIds(this.learners).join(' ')})`;
    if (this.learnersNext.size > 0) {
      s += ` learners_next=(${sortedIds(this.learnersNext).join(' ')})`;
    }
    if (this.autoLeave) s += ' autoleave';
    return s;
  }
}

export type ProgressMap = Map<NodeId, Progress>;

export function sortedIds(ids: Iterable<NodeId>): NodeId[] {
  return [...ids].sort((a, b) => a - b);
}

export class ProgressTracker {
  config: TrackerConfig = new TrackerConfig();
  private _progress: ProgressMap = new Map();
  /** The member ids in ascending order, cached: visiting them is on the hot path. */
  private _ids: NodeId[] = [];
  votes: Map<NodeId, boolean> = new Map();
  /** Scratch AckedIndexer over the progress map (avoids a closure per commit check). */
  private readonly matchIndexer = {
    progress: this._progress,
    ackedIndex(id: NodeId): Index | undefined {
      return this.progress.get(id)?.match;
    },
  };

  constructor(
    readonly maxInflight: number,
    readonly maxInflightBytes: number,
  ) {}

  get progress(): ProgressMap {
    return this._progress;
  }

  set progress(p: ProgressMap) {
    this._progress = p;
    this.matchIndexer.progress = p;
    this._ids = sortedIds(p.keys());
  }

  /** Member ids (voters and learners), ascending. Do not mutate. */
  get ids(): readonly NodeId[] {
    return this._ids;
  }

  /** The ConfState describing the active configuration. */
  confState(): ConfState {
    return {
      voters: this.config.voters.incoming.sorted(),
      votersOutgoing: this.config.voters.outgoing.sorted(),
      learners: sortedIds(this.config.learners),
      learnersNext: sortedIds(this.config.learnersNext),
      autoLeave: this.config.autoLeave,
    };
  }

  /** Whether there is exactly one voter and no joint configuration. */
  isSingleton(): boolean {
    return this.config.voters.incoming.size === 1 && !this.config.voters.isJoint();
  }

  /** The largest log index known to be replicated on a quorum of voters. */
  committed(): Index {
    return this.config.voters.committedIndex(this.matchIndexer);
  }

  /** Calls f for each member, in ascending id order. */
  visit(f: (id: NodeId, pr: Progress) => void): void {
    const ids = this._ids;
    for (let i = 0; i < ids.length; i++) f(ids[i]!, this._progress.get(ids[i]!)!);
  }

  /** Whether a quorum of voters has been active since the last check (CheckQuorum). */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const [id, pr] of this._progress) {
      if (!pr.isLearner) votes.set(id, pr.recentActive);
    }
    return this.config.voters.voteResult(votes) === VoteResult.VoteWon;
  }

  /** Voter ids, ascending. */
  voterNodes(): NodeId[] {
    return sortedIds(this.config.voters.ids());
  }

  /** Learner ids, ascending. */
  learnerNodes(): NodeId[] {
    return sortedIds(this.config.learners);
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  /** Records a vote from `id` unless it already voted. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** Counts the votes of the current voters and says whether the election is decided. */
  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this._progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: this.config.voters.voteResult(this.votes) };
  }
}
