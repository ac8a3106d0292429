// Majority and joint quorums checked against definitions written the slow, obvious way:
// the committed index is the largest index a majority has acknowledged, found by trying
// every candidate; an election's result is what every possible completion of the missing
// votes would give. fast-check prints the seed and the shrunk counterexample on failure.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JointConfig, MajorityConfig, VoteResult } from '../../src/index.js';
import { INFINITE_INDEX } from '../../src/quorum/majority.js';

const RUNS = 500;

type Acks = Map<number, number>;
type Votes = Map<number, boolean>;

const indexer = (acks: Acks) => ({ ackedIndex: (id: number) => acks.get(id) });

/** Largest idx such that more than half of `ids` acked >= idx (0 if none). */
function bruteCommitted(ids: readonly number[], acks: Acks): number {
  if (ids.length === 0) return INFINITE_INDEX;
  const candidates = new Set<number>([0, ...ids.map((id) => acks.get(id) ?? 0)]);
  let best = 0;
  for (const idx of candidates) {
    const n = ids.filter((id) => (acks.get(id) ?? 0) >= idx).length;
    if (2 * n > ids.length && idx > best) best = idx;
  }
  return best;
}

/** Whether the granted votes alone make a strict majority of `ids` (an empty set agrees). */
function majorityGranted(ids: readonly number[], votes: Votes): boolean {
  if (ids.length === 0) return true;
  return 2 * ids.filter((id) => votes.get(id) === true).length > ids.length;
}

/**
 * The outcome by enumeration: Won if every way the missing voters could still vote wins,
 * Lost if none does, Pending otherwise.
 */
function bruteVoteResult(halves: readonly (readonly number[])[], votes: Votes): VoteResult {
  const all = [...new Set(halves.flat())];
  const missing = all.filter((id) => !votes.has(id));
  let wins = 0;
  const total = 1 << missing.length;
  for (let mask = 0; mask < total; mask++) {
    const v = new Map(votes);
    for (let i = 0; i < missing.length; i++) v.set(missing[i]!, (mask & (1 << i)) !== 0);
    if (halves.every((h) => majorityGranted(h, v))) wins++;
  }
  if (wins === total) return VoteResult.VoteWon;
  if (wins === 0) return VoteResult.VoteLost;
  return VoteResult.VotePending;
}

const idSet = (max: number) => fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { maxLength: max });
const acksFor = (ids: number[]) =>
  fc
    .array(fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }), {
      minLength: ids.length,
      maxLength: ids.length,
    })
    .map((xs) => {
      const m: Acks = new Map();
      ids.forEach((id, i) => {
        if (xs[i] !== undefined) m.set(id, xs[i]!);
      });
      return m;
    });
const votesFor = (ids: number[]) =>
  fc
    .array(fc.constantFrom<boolean | undefined>(true, false, undefined), {
      minLength: ids.length,
      maxLength: ids.length,
    })
    .map((xs) => {
      const m: Votes = new Map();
      ids.forEach((id, i) => {
        if (xs[i] !== undefined) m.set(id, xs[i]!);
      });
      return m;
    });

// Two voter sets over ids 1..9 (overlapping at random), with acks/votes for their union.
const joint = fc.tuple(idSet(7), idSet(7)).chain(([a, b]) => {
  const union = [...new Set([...a, ...b])];
  return fc.record({
    incoming: fc.constant(a),
    outgoing: fc.constant(b),
    acks: acksFor(union),
    votes: votesFor(union),
  });
});

describe('MajorityConfig', () => {
  it('committedIndex is the largest index a majority acknowledged', () => {
    fc.assert(
      fc.property(
        idSet(9).chain((ids) => fc.tuple(fc.constant(ids), acksFor(ids))),
        ([ids, acks]) => {
          const c = new MajorityConfig(new Set(ids));
          expect(c.committedIndex(indexer(acks))).toBe(bruteCommitted(ids, acks));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('voteResult agrees with enumerating every completion of the missing votes', () => {
    fc.assert(
      fc.property(
        idSet(9).chain((ids) => fc.tuple(fc.constant(ids), votesFor(ids))),
        ([ids, votes]) => {
          const c = new MajorityConfig(new Set(ids));
          expect(c.voteResult(votes)).toBe(bruteVoteResult([ids], votes));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('votes of non-members do not count', () => {
    fc.assert(
      fc.property(
        idSet(5).chain((ids) => fc.tuple(fc.constant(ids), votesFor(ids))),
        fc.boolean(),
        ([ids, votes], outsider) => {
          const c = new MajorityConfig(new Set(ids));
          const withOutsiders = new Map(votes);
          for (const id of [10, 11, 12, 13, 14, 15]) withOutsiders.set(id, outsider);
          expect(c.voteResult(withOutsiders)).toBe(c.voteResult(votes));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('the committed index is the largest index whose acknowledgers win a vote', () => {
    fc.assert(
      fc.property(
        idSet(9).chain((ids) => fc.tuple(fc.constant(ids), acksFor(ids))),
        ([ids, acks]) => {
          fc.pre(ids.length > 0);
          const c = new MajorityConfig(new Set(ids));
          const committed = c.committedIndex(indexer(acks));
          const votesAt = (idx: number): Votes =>
            new Map(ids.map((id) => [id, (acks.get(id) ?? 0) >= idx]));
          expect(c.voteResult(votesAt(committed))).toBe(VoteResult.VoteWon);
          expect(c.voteResult(votesAt(committed + 1))).toBe(VoteResult.VoteLost);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('JointConfig', () => {
  it('committedIndex needs a majority in both halves', () => {
    fc.assert(
      fc.property(joint, ({ incoming, outgoing, acks }) => {
        const c = new JointConfig(
          new MajorityConfig(new Set(incoming)),
          new MajorityConfig(new Set(outgoing)),
        );
        const union = [...new Set([...incoming, ...outgoing])];
        // Brute force: the largest candidate index a majority of each half acknowledged.
        let best = 0;
        for (const idx of new Set([0, ...union.map((id) => acks.get(id) ?? 0)])) {
          const ok = [incoming, outgoing].every(
            (h) =>
              h.length === 0 || 2 * h.filter((id) => (acks.get(id) ?? 0) >= idx).length > h.length,
          );
          if (ok && idx > best) best = idx;
        }
        const expected = incoming.length === 0 && outgoing.length === 0 ? INFINITE_INDEX : best;
        expect(c.committedIndex(indexer(acks))).toBe(expected);
      }),
      { numRuns: RUNS },
    );
  });

  it('voteResult agrees with enumerating every completion of the missing votes', () => {
    fc.assert(
      fc.property(joint, ({ incoming, outgoing, votes }) => {
        const c = new JointConfig(
          new MajorityConfig(new Set(incoming)),
          new MajorityConfig(new Set(outgoing)),
        );
        expect(c.voteResult(votes)).toBe(bruteVoteResult([incoming, outgoing], votes));
      }),
      { numRuns: RUNS },
    );
  });

  it('with an empty outgoing half it is the majority config of the incoming half', () => {
    fc.assert(
      fc.property(joint, ({ incoming, acks, votes }) => {
        const j = new JointConfig(new MajorityConfig(new Set(incoming)));
        const m = new MajorityConfig(new Set(incoming));
        expect(j.isJoint()).toBe(false);
        expect(j.committedIndex(indexer(acks))).toBe(m.committedIndex(indexer(acks)));
        expect(j.voteResult(votes)).toBe(m.voteResult(votes));
      }),
      { numRuns: RUNS },
    );
  });

  it('is symmetric in its halves', () => {
    fc.assert(
      fc.property(joint, ({ incoming, outgoing, acks, votes }) => {
        const a = new JointConfig(
          new MajorityConfig(new Set(incoming)),
          new MajorityConfig(new Set(outgoing)),
        );
        const b = new JointConfig(
          new MajorityConfig(new Set(outgoing)),
          new MajorityConfig(new Set(incoming)),
        );
        expect(a.committedIndex(indexer(acks))).toBe(b.committedIndex(indexer(acks)));
        expect(a.voteResult(votes)).toBe(b.voteResult(votes));
      }),
      { numRuns: RUNS },
    );
  });

  it('either half without a majority blocks both commit and election', () => {
    // (1 2 3)&&(3 4 5): only 3, 4, 5 are up. The incoming half has a majority, the outgoing
    // half does not (thesis §4.3: decisions need both).
    const c = new JointConfig(
      new MajorityConfig(new Set([3, 4, 5])),
      new MajorityConfig(new Set([1, 2, 3])),
    );
    const acks: Acks = new Map([
      [3, 10],
      [4, 10],
      [5, 10],
    ]);
    expect(c.committedIndex(indexer(acks))).toBe(0);
    const votes: Votes = new Map([
      [1, false],
      [2, false],
      [3, true],
      [4, true],
      [5, true],
    ]);
    expect(c.voteResult(votes)).toBe(VoteResult.VoteLost);
    votes.delete(1);
    votes.delete(2);
    expect(c.voteResult(votes)).toBe(VoteResult.VotePending);
    votes.set(2, true);
    expect(c.voteResult(votes)).toBe(VoteResult.VoteWon);
  });
});
