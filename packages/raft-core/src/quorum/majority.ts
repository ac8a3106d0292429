// Majority quorums: the committed index and the election result of one voter set.
// Pure set arithmetic; see joint.ts for two sets at once (joint consensus).
import type { Index, NodeId } from '../raftpb.js';

export enum VoteResult {
  /** Not enough votes either way yet. */
  VotePending = 1,
  /** The quorum can no longer be reached. */
  VoteLost = 2,
  /** A quorum voted yes. */
  VoteWon = 3,
}

/** Looks up the index a voter has acknowledged; undefined when it has none. */
export interface AckedIndexer {
  ackedIndex(id: NodeId): Index | undefined;
}

/** Returned by committedIndex for an empty config: it agrees to everything. */
export const INFINITE_INDEX = Number.MAX_SAFE_INTEGER;

export class MajorityConfig {
  /** Scratch space for committedIndex, so the hot path allocates nothing. */
  private scratch: number[] = [];

  constructor(readonly ids: Set<NodeId> = new Set()) {}

  get size(): number {
    return this.ids.size;
  }

  /** The ids in ascending order (deterministic iteration). */
  sorted(): NodeId[] {
    return [...this.ids].sort((a, b) => a - b);
  }

  toString(): string {
    return `(${this.sorted().join(' ')})`;
  }

  /**
   * The largest index that a majority of the voters has acknowledged: sort the acked indexes
   * descending and take the one at position n/2 (voters without an ack count as 0).
   */
  committedIndex(l: AckedIndexer): Index {
    const n = this.ids.size;
    if (n === 0) return INFINITE_INDEX;
    if (n === 1) {
      for (const id of this.ids) return l.ackedIndex(id) ?? 0;
    }
    const srt = this.scratch;
    // Setting an array's length is a runtime call: only when the voter count changed.
    if (srt.length !== n) srt.length = n;
    let i = 0;
    for (const id of this.ids) srt[i++] = l.ackedIndex(id) ?? 0;
    // Insertion sort, descending: n is a handful of voters.
    for (let a = 1; a < n; a++) {
      const v = srt[a]!;
      let b = a - 1;
      while (b >= 0 && srt[b]! < v) {
        srt[b + 1] = srt[b]!;
        b--;
      }
      srt[b + 1] = v;
    }
    return srt[n >> 1]!;
  }

  /**
   * The outcome of an election given the votes cast so far (true = granted). Voters missing
   * from `votes` have not voted yet. An empty config wins (it never stands in the way).
   */
  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    if (this.ids.size === 0) return VoteResult.VoteWon;
    let yes = 0;
    let missing = 0;
    for (const id of this.ids) {
      const v = votes.get(id);
      if (v === undefined) missing++;
      else if (v) yes++;
    }
    const q = (this.ids.size >> 1) + 1;
    if (yes >= q) return VoteResult.VoteWon;
    if (yes + missing >= q) return VoteResult.VotePending;
    return VoteResult.VoteLost;
  }
}
