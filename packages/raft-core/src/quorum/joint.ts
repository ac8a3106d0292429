// Joint quorums (Raft thesis §4.3): a decision needs a majority in both the incoming and the
// outgoing voter set. Outside a joint configuration the outgoing set is empty and agrees to all.
import type { Index, NodeId } from '../raftpb.js';
import { type AckedIndexer, MajorityConfig, VoteResult } from './majority.js';

export class JointConfig {
  constructor(
    /** The incoming (current) voters. */
    readonly incoming: MajorityConfig = new MajorityConfig(),
    /** The outgoing voters; empty unless in a joint configuration. */
    readonly outgoing: MajorityConfig = new MajorityConfig(),
  ) {}

  /** Whether the configuration is joint (an outgoing voter set exists). */
  isJoint(): boolean {
    return this.outgoing.size > 0;
  }

  /** The union of both voter sets. */
  ids(): Set<NodeId> {
    const s = new Set(this.incoming.ids);
    for (const id of this.outgoing.ids) s.add(id);
    return s;
  }

  has(id: NodeId): boolean {
    return this.incoming.ids.has(id) || this.outgoing.ids.has(id);
  }

  toString(): string {
    return this.isJoint() ? `${this.incoming}&&${this.outgoing}` : this.incoming.toString();
  }

  committedIndex(l: AckedIndexer): Index {
    const a = this.incoming.committedIndex(l);
    const b = this.outgoing.committedIndex(l);
    return Math.min(a, b);
  }

  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    const r1 = this.incoming.voteResult(votes);
    const r2 = this.outgoing.voteResult(votes);
    if (r1 === r2) return r1; // both won, lost or pending
    if (r1 === VoteResult.VoteLost || r2 === VoteResult.VoteLost) return VoteResult.VoteLost;
    return VoteResult.VotePending; // one won, the other pending
  }

  clone(): JointConfig {
    return new JointConfig(
      new MajorityConfig(new Set(this.incoming.ids)),
      new MajorityConfig(new Set(this.outgoing.ids)),
    );
  }
}
