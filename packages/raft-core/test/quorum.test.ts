// Quorum arithmetic: the committed index and the election outcome of a majority config and
// of a joint config, checked against brute-force definitions (etcd's quorum/quick_test.go
// idea, our own properties).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JointConfig, MajorityConfig, VoteResult } from '../src/index.js';
import { INFINITE_INDEX } from '../src/quorum/majority.js';

const indexer = (acked: ReadonlyMap<number, number>) => ({
  ackedIndex: (id: number) => acked.get(id),
});

/**
 * The definition: the largest index i such that a majority of the voters acknowledged at
 * least i (voters with no ack count as 0). An empty config commits everything.
 */
function bruteCommitted(ids: number[], acked: ReadonlyMap<number, number>): number {
  if (ids.length === 0) return INFINITE_INDEX;
  const q = Math.floor(ids.length / 2) + 1;
  const candidates = new Set([0, ...ids.map((id) => acked.get(id) ?? 0)]);
  let best = 0;
  for (const i of candidates) {
    const n = ids.filter((id) => (acked.get(id) ?? 0) >= i).length;
    if (n >= q && i > best) best = i;
  }
  return best;
}

/** The definition: won with a majority of yes, lost once a majority is out of reach. */
function bruteVote(ids: number[], votes: ReadonlyMap<number, boolean>): VoteResult {
  if (ids.length === 0) return VoteResult.VoteWon;
  const q = Math.floor(ids.length / 2) + 1;
  const yes = ids.filter((id) => votes.get(id) === true).length;
  const pending = ids.filter((id) => !votes.has(id)).length;
  if (yes >= q) return VoteResult.VoteWon;
  if (yes + pending >= q) return VoteResult.VotePending;
  return VoteResult.VoteLost;
}

/** Up to 7 distinct voter ids from 1..10, and an index (or nothing) for some of 1..10. */
const voters = fc.uniqueArray(fc.integer({ min: 1, max: 10 }), { maxLength: 7 });
const acks = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 10 }), fc.nat({ max: 20 })), { maxLength: 10 })
  .map((pairs) => new Map(pairs));
const votes = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 10 }), fc.boolean()), { maxLength: 10 })
  .map((pairs) => new Map(pairs));

describe('MajorityConfig', () => {
  it('committedIndex examples', () => {
    const cases: Array<[number[], Array<[number, number]>, number]> = [
      [[], [], INFINITE_INDEX],
      [[1], [[1, 5]], 5],
      [[1], [], 0],
      [
        [1, 2],
        [
          [1, 5],
          [2, 3],
        ],
        3,
      ], // both must have it
      [
        [1, 2, 3],
        [
          [1, 5],
          [2, 3],
        ],
        3,
      ],
      [[1, 2, 3], [[1, 5]], 0],
      [
        [1, 2, 3],
        [
          [1, 5],
          [2, 5],
          [3, 1],
        ],
        5,
      ],
      [
        [1, 2, 3, 4],
        [
          [1, 9],
          [2, 8],
          [3, 7],
          [4, 6],
        ],
        7,
      ],
      [
        [1, 2, 3, 4, 5],
        [
          [1, 9],
          [2, 8],
          [3, 7],
          [4, 6],
          [5, 5],
        ],
        7,
      ],
      [
        [1, 2, 3],
        [
          [1, 5],
          [4, 100],
          [5, 100],
        ],
        0,
      ], // non-voters do not count
    ];
    for (const [ids, acked, want] of cases) {
      expect(new MajorityConfig(new Set(ids)).committedIndex(indexer(new Map(acked)))).toBe(want);
    }
  });

  it('committedIndex is the largest index a majority acknowledged', () => {
    fc.assert(
      fc.property(voters, acks, (ids, acked) => {
        const c = new MajorityConfig(new Set(ids));
        expect(c.committedIndex(indexer(acked))).toBe(bruteCommitted(ids, acked));
        // Scratch space is reused: a second call with other acks is just as right.
        const doubled = new Map([...acked].map(([k, v]) => [k, v * 2]));
        expect(c.committedIndex(indexer(doubled))).toBe(bruteCommitted(ids, doubled));
      }),
      { numRuns: 1000 },
    );
  });

  it('committedIndex only grows when acknowledgements grow', () => {
    fc.assert(
      fc.property(
        voters,
        acks,
        fc.integer({ min: 1, max: 10 }),
        fc.nat({ max: 5 }),
        (ids, acked, id, more) => {
          const c = new MajorityConfig(new Set(ids));
          const before = c.committedIndex(indexer(acked));
          const grown = new Map(acked);
          grown.set(id, (acked.get(id) ?? 0) + more);
          expect(c.committedIndex(indexer(grown))).toBeGreaterThanOrEqual(before);
        },
      ),
    );
  });

  it('voteResult examples', () => {
    const cases: Array<[number[], Array<[number, boolean]>, VoteResult]> = [
      [[], [], VoteResult.VoteWon],
      [[1], [], VoteResult.VotePending],
      [[1], [[1, true]], VoteResult.VoteWon],
      [[1], [[1, false]], VoteResult.VoteLost],
      [[1, 2], [[1, true]], VoteResult.VotePending],
      [
        [1, 2],
        [
          [1, true],
          [2, false],
        ],
        VoteResult.VoteLost,
      ],
      [
        [1, 2, 3],
        [
          [1, true],
          [2, true],
        ],
        VoteResult.VoteWon,
      ],
      [
        [1, 2, 3],
        [
          [1, false],
          [2, false],
        ],
        VoteResult.VoteLost,
      ],
      [
        [1, 2, 3],
        [
          [1, true],
          [2, false],
        ],
        VoteResult.VotePending,
      ],
      [
        [1, 2, 3, 4],
        [
          [1, true],
          [2, true],
          [3, false],
        ],
        VoteResult.VotePending,
      ],
      [
        [1, 2, 3, 4],
        [
          [1, true],
          [2, false],
          [3, false],
        ],
        VoteResult.VoteLost,
      ],
      [
        [1, 2, 3],
        [
          [4, true],
          [5, true],
        ],
        VoteResult.VotePending,
      ], // non-voters do not count
    ];
    for (const [ids, v, want] of cases) {
      expect(new MajorityConfig(new Set(ids)).voteResult(new Map(v)), `${ids} ${v}`).toBe(want);
    }
  });

  it('voteResult matches its definition', () => {
    fc.assert(
      fc.property(voters, votes, (ids, v) => {
        expect(new MajorityConfig(new Set(ids)).voteResult(v)).toBe(bruteVote(ids, v));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('JointConfig', () => {
  it('commits what both halves commit; decides votes only when both halves agree', () => {
    fc.assert(
      fc.property(voters, voters, acks, votes, (inc, out, acked, v) => {
        const j = new JointConfig(
          new MajorityConfig(new Set(inc)),
          new MajorityConfig(new Set(out)),
        );
        expect(j.committedIndex(indexer(acked))).toBe(
          Math.min(bruteCommitted(inc, acked), bruteCommitted(out, acked)),
        );
        const a = bruteVote(inc, v);
        const b = bruteVote(out, v);
        let want: VoteResult;
        if (a === VoteResult.VoteWon && b === VoteResult.VoteWon) want = VoteResult.VoteWon;
        else if (a === VoteResult.VoteLost || b === VoteResult.VoteLost) want = VoteResult.VoteLost;
        else want = VoteResult.VotePending;
        expect(j.voteResult(v)).toBe(want);
        expect(j.isJoint()).toBe(out.length > 0);
        expect([...j.ids()].sort((x, y) => x - y)).toEqual(
          [...new Set([...inc, ...out])].sort((x, y) => x - y),
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('a non-joint config behaves as its incoming majority', () => {
    fc.assert(
      fc.property(voters, acks, votes, (ids, acked, v) => {
        const m = new MajorityConfig(new Set(ids));
        const j = new JointConfig(new MajorityConfig(new Set(ids)));
        expect(j.committedIndex(indexer(acked))).toBe(m.committedIndex(indexer(acked)));
        expect(j.voteResult(v)).toBe(m.voteResult(v));
      }),
    );
  });

  it('renders as etcd does', () => {
    expect(new JointConfig(new MajorityConfig(new Set([3, 1, 2]))).toString()).toBe('(1 2 3)');
    expect(
      new JointConfig(
        new MajorityConfig(new Set([1, 2])),
        new MajorityConfig(new Set([3])),
      ).toString(),
    ).toBe('(1 2)&&(3)');
  });
});
