// RaftLog: the stable log in Storage followed by the unstable part in memory, and the
// commit/apply cursors. What etcd/raft's log_test.go checks, as our own cases, plus a
// property test of append/truncate/persist/compact/slice against a plain array model.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Entry,
  ErrCompacted,
  ErrUnavailable,
  MemoryStorage,
  RaftError,
  type Snapshot,
  type Term,
  emptySnapshot,
  entsSize,
  limitSize,
  newConfState,
  newEntry,
} from '../src/index.js';
import { RaftLog } from '../src/log.js';
import { silentLogger } from '../src/logger.js';
import { dataEntry, entsFrom, termIndex } from './util/raft.js';

function newLog(s: MemoryStorage = new MemoryStorage(), maxApplying?: number): RaftLog {
  return new RaftLog(s, silentLogger, maxApplying);
}

function snap(index: number, term: Term): Snapshot {
  return { data: new Uint8Array(0), metadata: { index, term, confState: newConfState() } };
}

/** A log whose storage starts after a snapshot at (offset, offsetTerm), then has `stable`. */
function logWith(
  offset: number,
  offsetTerm: Term,
  stable: Term[],
  unstable: Term[] = [],
): { log: RaftLog; s: MemoryStorage } {
  const s = new MemoryStorage();
  if (offset > 0) s.applySnapshot(snap(offset, offsetTerm));
  s.append(entsFrom(offset + 1, ...stable));
  const log = newLog(s);
  if (unstable.length > 0) log.append(entsFrom(offset + 1 + stable.length, ...unstable));
  return { log, s };
}

const expectRaftError = (f: () => unknown, code: string) => {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(RaftError);
  expect((err as RaftError).code).toBe(code);
};

describe('RaftLog', () => {
  it('starts after the storage: committed and applied at the snapshot, unstable after the end', () => {
    const { log } = logWith(100, 5, [5, 6, 6]);
    expect(log.firstIndex()).toBe(101);
    expect(log.lastIndex()).toBe(103);
    expect(log.committed).toBe(100);
    expect(log.applied).toBe(100);
    expect(log.applying).toBe(100);
    expect(log.unstable.offset).toBe(104);
    expect(log.lastTerm()).toBe(6);
  });

  it('findConflict: the first entry that is new or differs in term, else 0', () => {
    const { log } = logWith(0, 0, [1, 2, 3]);
    const cases: Array<{ ents: Entry[]; want: number }> = [
      { ents: [], want: 0 },
      // all present
      { ents: entsFrom(1, 1, 2, 3), want: 0 },
      { ents: entsFrom(2, 2, 3), want: 0 },
      { ents: entsFrom(3, 3), want: 0 },
      // new entries after the end
      { ents: entsFrom(1, 1, 2, 3, 4, 4), want: 4 },
      { ents: entsFrom(2, 2, 3, 4, 5), want: 4 },
      { ents: entsFrom(4, 4, 4), want: 4 },
      // conflicts
      { ents: entsFrom(1, 4, 4), want: 1 },
      { ents: entsFrom(2, 1, 4, 4), want: 2 },
      { ents: entsFrom(3, 1, 2, 4, 4), want: 3 },
    ];
    for (const [i, c] of cases.entries()) expect(log.findConflict(c.ents), `#${i}`).toBe(c.want);
  });

  it('findConflictByTerm: the last index <= i whose term is <= t (0 where unknown)', () => {
    // Compacted up to 10 (term 3), then terms 3 4 4 5 5 at 11..15.
    const { log } = logWith(10, 3, [3, 4, 4, 5, 5]);
    const cases: Array<{ index: number; term: Term; want: [number, Term] }> = [
      { index: 15, term: 5, want: [15, 5] },
      { index: 15, term: 6, want: [15, 5] },
      { index: 15, term: 4, want: [13, 4] },
      { index: 12, term: 4, want: [12, 4] },
      { index: 15, term: 3, want: [11, 3] },
      // index 10 is the snapshot: its term is known
      { index: 10, term: 3, want: [10, 3] },
      // below that nothing is known: term 0 at the first unknown index
      { index: 15, term: 2, want: [9, 0] },
      { index: 9, term: 9, want: [9, 0] },
      { index: 0, term: 0, want: [0, 0] },
    ];
    for (const c of cases) {
      const got = log.findConflictByTerm(c.index, c.term);
      expect([got.index, got.term], `(${c.index}, ${c.term})`).toEqual(c.want);
    }
  });

  it('isUpToDate: a later last term, or the same last term and at least as long (§5.4.1)', () => {
    const { log } = logWith(0, 0, [1, 2, 3]);
    const cases: Array<[number, Term, boolean]> = [
      // later last term: any length
      [2, 4, true],
      [3, 4, true],
      [4, 4, true],
      // earlier last term: never
      [2, 2, false],
      [3, 2, false],
      [4, 2, false],
      // same last term: at least as long
      [2, 3, false],
      [3, 3, true],
      [4, 3, true],
    ];
    for (const [index, term, want] of cases) {
      expect(log.isUpToDate(index, term), `(${index}, ${term})`).toBe(want);
    }
  });

  it('append truncates a conflicting tail, also into the storage part', () => {
    const cases: Array<{ ents: Entry[]; want: Term[]; unstableOffset: number }> = [
      { ents: [], want: [1, 2], unstableOffset: 3 },
      { ents: entsFrom(3, 2), want: [1, 2, 2], unstableOffset: 3 },
      // conflicts with index 1: everything replaced
      { ents: entsFrom(1, 2), want: [2], unstableOffset: 1 },
      // conflicts with index 2
      { ents: entsFrom(2, 3, 3), want: [1, 3, 3], unstableOffset: 2 },
    ];
    for (const [i, c] of cases.entries()) {
      const { log } = logWith(0, 0, [1, 2]);
      const last = log.append(c.ents);
      expect(last, `#${i}`).toBe(c.want.length);
      expect(
        log.allEntries().map((e) => e.term),
        `#${i}`,
      ).toEqual(c.want);
      expect(log.unstable.offset, `#${i}`).toBe(c.unstableOffset);
    }
  });

  it('append refuses to overwrite committed entries', () => {
    const { log } = logWith(0, 0, [1, 2, 3]);
    log.commitTo(2);
    expectRaftError(() => log.append(entsFrom(2, 4)), 'RAFT_INVARIANT');
    log.append(entsFrom(3, 4)); // just after the commit index is fine
    expect(log.lastTerm()).toBe(4);
  });

  it('maybeAppend: appends only on a match, truncates conflicts, commits up to the last new entry', () => {
    const prev = [1, 2, 3];
    const lastIndex = 3;
    const lastTerm = 3;
    const commit = 1;
    const cases: Array<{
      logTerm: Term;
      index: number;
      committed: number;
      ents: Entry[];
      wlast: number | undefined;
      wcommit: number;
      wpanic?: boolean;
    }> = [
      // no match: nothing appended, nothing committed
      {
        logTerm: lastTerm - 1,
        index: lastIndex,
        committed: lastIndex,
        ents: entsFrom(4, 4),
        wlast: undefined,
        wcommit: commit,
      },
      {
        logTerm: lastTerm,
        index: lastIndex + 1,
        committed: lastIndex,
        ents: entsFrom(5, 4),
        wlast: undefined,
        wcommit: commit,
      },
      // match at the last entry
      {
        logTerm: lastTerm,
        index: lastIndex,
        committed: lastIndex,
        ents: [],
        wlast: lastIndex,
        wcommit: lastIndex,
      },
      {
        logTerm: lastTerm,
        index: lastIndex,
        committed: lastIndex + 1,
        ents: [],
        wlast: lastIndex,
        wcommit: lastIndex,
      }, // never past the last new entry
      {
        logTerm: lastTerm,
        index: lastIndex,
        committed: lastIndex - 1,
        ents: [],
        wlast: lastIndex,
        wcommit: lastIndex - 1,
      },
      {
        logTerm: lastTerm,
        index: lastIndex,
        committed: 0,
        ents: [],
        wlast: lastIndex,
        wcommit: commit,
      }, // never backwards
      { logTerm: 0, index: 0, committed: lastIndex, ents: [], wlast: 0, wcommit: commit },
      {
        logTerm: lastTerm,
        index: lastIndex,
        committed: lastIndex,
        ents: entsFrom(4, 4),
        wlast: 4,
        wcommit: lastIndex,
      },
      {
        logTerm: lastTerm,
        index: lastIndex,
        committed: lastIndex + 1,
        ents: entsFrom(4, 4),
        wlast: 4,
        wcommit: 4,
      },
      {
        logTerm: lastTerm,
        index: lastIndex,
        committed: lastIndex + 2,
        ents: entsFrom(4, 4),
        wlast: 4,
        wcommit: 4,
      },
      {
        logTerm: lastTerm,
        index: lastIndex,
        committed: lastIndex + 2,
        ents: entsFrom(4, 4, 4),
        wlast: 5,
        wcommit: 5,
      },
      // match in the middle
      {
        logTerm: lastTerm - 1,
        index: lastIndex - 1,
        committed: lastIndex,
        ents: entsFrom(3, 4),
        wlast: 3,
        wcommit: 3,
      },
      {
        logTerm: lastTerm - 2,
        index: lastIndex - 2,
        committed: lastIndex,
        ents: entsFrom(2, 4),
        wlast: 2,
        wcommit: 2,
      },
      // a conflict with a committed entry is an invariant violation
      {
        logTerm: lastTerm - 3,
        index: lastIndex - 3,
        committed: lastIndex,
        ents: entsFrom(1, 4),
        wlast: undefined,
        wcommit: 0,
        wpanic: true,
      },
      {
        logTerm: lastTerm - 2,
        index: lastIndex - 2,
        committed: lastIndex,
        ents: entsFrom(2, 4, 4),
        wlast: 3,
        wcommit: 3,
      },
    ];
    for (const [i, c] of cases.entries()) {
      const log = newLog();
      log.append(entsFrom(1, ...prev));
      log.committed = commit;
      if (c.wpanic) {
        expectRaftError(
          () => log.maybeAppend(c.index, c.logTerm, c.committed, c.ents),
          'RAFT_INVARIANT',
        );
        continue;
      }
      const got = log.maybeAppend(c.index, c.logTerm, c.committed, c.ents);
      expect(got, `#${i}`).toBe(c.wlast);
      expect(log.committed, `#${i}`).toBe(c.wcommit);
      if (got !== undefined && c.ents.length > 0) {
        expect(log.slice(c.index + 1, got + 1, Number.MAX_SAFE_INTEGER), `#${i}`).toEqual(c.ents);
      }
    }
  });

  it('term: known for [firstIndex-1, lastIndex], typed errors outside, unstable part first', () => {
    const { log } = logWith(100, 5, [5, 6], [6, 7]); // 101,102 stable; 103,104 unstable
    expect(log.term(100)).toBe(5); // the snapshot's term: kept for matching appends
    expect(log.term(101)).toBe(5);
    expect(log.term(102)).toBe(6);
    expect(log.term(103)).toBe(6);
    expect(log.term(104)).toBe(7);
    expect(() => log.term(99)).toThrow(ErrCompacted);
    expect(() => log.term(105)).toThrow(ErrUnavailable);
    expect(log.zeroTermOnOutOfBounds(99)).toBe(0);
    expect(log.zeroTermOnOutOfBounds(105)).toBe(0);
    expect(log.matchTerm(104, 7)).toBe(true);
    expect(log.matchTerm(104, 6)).toBe(false);
    expect(log.matchTerm(99, 0)).toBe(false);
  });

  it('term and firstIndex follow an unstable snapshot', () => {
    const { log } = logWith(0, 0, [1, 1, 1]);
    log.restore(snap(10, 4));
    expect(log.firstIndex()).toBe(11);
    expect(log.lastIndex()).toBe(10);
    expect(log.committed).toBe(10);
    expect(log.term(10)).toBe(4);
    expect(() => log.term(9)).toThrow(ErrCompacted);
    expect(() => log.term(11)).toThrow(ErrUnavailable);
    expect(log.snapshot().metadata.index).toBe(10);
    expect(log.hasNextUnstableSnapshot()).toBe(true);
    // Nothing is applied while a snapshot is pending.
    expect(log.hasNextCommittedEnts(true)).toBe(false);
    expect(log.nextCommittedEnts(true)).toEqual([]);
    log.append(entsFrom(11, 4));
    expect(log.lastIndex()).toBe(11);
  });

  it('slice spans storage and unstable, honours maxSize, and checks its bounds', () => {
    const { log } = logWith(100, 1, [1, 2, 2], [3, 3]); // 101..103 stable, 104..105 unstable
    const all = log.allEntries();
    expect(termIndex(all)).toEqual([
      [1, 101],
      [2, 102],
      [2, 103],
      [3, 104],
      [3, 105],
    ]);
    const size = entsSize(all.slice(0, 1)); // every entry here has the same size
    const cases: Array<[number, number, number, number]> = [
      // lo, hi, maxSize, want count
      [101, 101, Number.MAX_SAFE_INTEGER, 0],
      [101, 104, Number.MAX_SAFE_INTEGER, 3], // storage only
      [104, 106, Number.MAX_SAFE_INTEGER, 2], // unstable only
      [102, 106, Number.MAX_SAFE_INTEGER, 4], // across
      [101, 106, 0, 1], // at least one entry
      [101, 106, size, 1],
      [101, 106, size * 2, 2],
      [101, 106, size * 3, 3],
      [101, 106, size * 4 - 1, 3], // the 4th (first unstable) does not fit
      [101, 106, size * 4, 4],
      [103, 106, size * 2, 2],
      [104, 106, size, 1],
    ];
    for (const [lo, hi, max, want] of cases) {
      const got = log.slice(lo, hi, max);
      expect(got, `slice(${lo}, ${hi}, ${max})`).toEqual(all.slice(lo - 101, lo - 101 + want));
    }
    expect(() => log.slice(100, 102, 1000)).toThrow(ErrCompacted);
    expectRaftError(() => log.slice(104, 107, 1000), 'RAFT_INVARIANT');
    expectRaftError(() => log.slice(104, 103, 1000), 'RAFT_INVARIANT');
    expect(log.entries(106, 1000)).toEqual([]);
  });

  it('commitTo only moves forward, and never past the last index', () => {
    const { log } = logWith(0, 0, [1, 2, 3]);
    log.commitTo(2);
    expect(log.committed).toBe(2);
    log.commitTo(1);
    expect(log.committed).toBe(2);
    log.commitTo(3);
    expect(log.committed).toBe(3);
    expectRaftError(() => log.commitTo(4), 'RAFT_INVARIANT');
  });

  it('maybeCommit commits only an index of the given term (§5.4.2)', () => {
    const { log } = logWith(0, 0, [1, 2, 2, 3]);
    expect(log.maybeCommit(2, 1)).toBe(false);
    expect(log.maybeCommit(3, 2)).toBe(true);
    expect(log.committed).toBe(3);
    expect(log.maybeCommit(3, 2)).toBe(false); // not newer
    expect(log.maybeCommit(2, 2)).toBe(false);
  });

  it('appliedTo keeps applied <= committed and never goes back', () => {
    const { log } = logWith(0, 0, [1, 1, 1, 1]);
    log.commitTo(3);
    log.appliedTo(2, 0);
    expect(log.applied).toBe(2);
    expect(log.applying).toBe(2);
    expectRaftError(() => log.appliedTo(1, 0), 'RAFT_INVARIANT');
    expectRaftError(() => log.appliedTo(4, 0), 'RAFT_INVARIANT');
    log.appliedTo(3, 0);
    expect(log.applied).toBe(3);
  });

  it('committed entries: from applying+1, unstable ones only if allowed, size-paced', () => {
    // 1..3 stable, 4..6 unstable; committed 5.
    const mk = (applied: number, applying: number, allow: boolean) => {
      const { log } = logWith(0, 0, [1, 1, 1], [1, 1, 1]);
      // Entries up to `applying` were handed out when they were all that was committed;
      // the commit index moved on since.
      log.commitTo(applying);
      log.appliedTo(applied, 0);
      if (applying > applied) log.acceptApplying(applying, 0, allow);
      expect(log.applyingEntsPaused).toBe(false);
      log.commitTo(5);
      return log;
    };
    const cases: Array<[number, number, boolean, number[]]> = [
      // applied, applying, allowUnstable, want indexes
      [0, 0, false, [1, 2, 3]],
      [0, 0, true, [1, 2, 3, 4, 5]],
      [1, 1, false, [2, 3]],
      [1, 2, false, [3]],
      [1, 3, false, []],
      [1, 3, true, [4, 5]],
      [3, 3, false, []],
      [3, 4, true, [5]],
      [5, 5, true, []],
    ];
    for (const [applied, applying, allow, want] of cases) {
      const log = mk(applied, applying, allow);
      const where = `applied ${applied} applying ${applying} allowUnstable ${allow}`;
      expect(log.hasNextCommittedEnts(allow), where).toBe(want.length > 0);
      expect(
        log.nextCommittedEnts(allow).map((e) => e.index),
        where,
      ).toEqual(want);
    }
    // Paused (the apply budget is spent): nothing, whatever is committed.
    const paused = mk(0, 0, true);
    paused.applyingEntsPaused = true;
    expect(paused.hasNextCommittedEnts(true)).toBe(false);
    expect(paused.nextCommittedEnts(true)).toEqual([]);
  });

  it('applying is paused while maxApplyingEntsSize bytes are out, and resumes as they apply', () => {
    const s = new MemoryStorage();
    const ents = Array.from({ length: 6 }, (_, i) => dataEntry(i + 1, 1, 'x'.repeat(10)));
    s.append(ents);
    const one = entsSize(ents.slice(0, 1));
    const log = newLog(s, one * 2);
    log.commitTo(6);
    const first = log.nextCommittedEnts(true);
    expect(first.map((e) => e.index)).toEqual([1, 2]);
    log.acceptApplying(2, entsSize(first), true);
    expect(log.applyingEntsPaused).toBe(true);
    expect(log.hasNextCommittedEnts(true)).toBe(false);
    expect(log.nextCommittedEnts(true)).toEqual([]);
    // One applied: room for one more.
    log.appliedTo(1, one);
    expect(log.applyingEntsPaused).toBe(false);
    const next = log.nextCommittedEnts(true);
    expect(next.map((e) => e.index)).toEqual([3]);
    log.acceptApplying(3, entsSize(next), true);
    log.appliedTo(3, one * 2);
    expect(log.applyingEntsSize).toBe(0);
    expect(log.nextCommittedEnts(true).map((e) => e.index)).toEqual([4, 5]);
  });

  it('acceptApplying pauses when the slice was cut short by the size budget', () => {
    const s = new MemoryStorage();
    const ents = Array.from({ length: 4 }, (_, i) => dataEntry(i + 1, 1, 'abc'));
    s.append(ents);
    const log = newLog(s, entsSize(ents.slice(0, 1)) * 3 - 1); // room for 2, not 3
    log.commitTo(4);
    const got = log.nextCommittedEnts(true);
    expect(got).toHaveLength(2);
    log.acceptApplying(2, entsSize(got), true);
    // Under the budget, but the next slice could not make progress beyond it: wait.
    expect(log.applyingEntsSize).toBeLessThan(log.maxApplyingEntsSize);
    expect(log.applyingEntsPaused).toBe(true);
    expectRaftError(() => log.acceptApplying(5, 0, true), 'RAFT_INVARIANT');
  });

  it('unstable entries are handed out once, then become stable', () => {
    const { log, s } = logWith(0, 0, [1, 1], [2, 2]);
    expect(log.hasNextUnstableEnts()).toBe(true);
    expect(termIndex(log.nextUnstableEnts())).toEqual([
      [2, 3],
      [2, 4],
    ]);
    log.acceptUnstable();
    expect(log.hasNextUnstableEnts()).toBe(false);
    expect(log.nextUnstableEnts()).toEqual([]);
    expect(log.hasNextOrInProgressUnstableEnts()).toBe(true);
    // Entries written meanwhile are the next ones to hand out.
    log.append(entsFrom(5, 2));
    expect(termIndex(log.nextUnstableEnts())).toEqual([[2, 5]]);
    s.append(log.unstable.entries.slice(0, 2));
    log.stableTo(4, 2);
    expect(log.unstable.offset).toBe(5);
    // A stale acknowledgement (the entry was replaced since) is ignored.
    log.stableTo(5, 1);
    expect(log.unstable.offset).toBe(5);
    expect(log.lastIndex()).toBe(5);
  });

  it('compaction in storage moves firstIndex; compacted entries give ErrCompacted', () => {
    const { log, s } = logWith(0, 0, [1, 1, 2, 2, 3, 3, 3, 4, 4, 4]);
    log.commitTo(10);
    log.appliedTo(10, 0);
    s.compact(5);
    expect(log.firstIndex()).toBe(6);
    expect(log.lastIndex()).toBe(10);
    expect(log.term(5)).toBe(3); // the compaction point's term is kept
    expect(() => log.term(4)).toThrow(ErrCompacted);
    expect(() => log.slice(4, 8, 1000)).toThrow(ErrCompacted);
    expect(() => log.entries(5, 1000)).toThrow(ErrCompacted);
    expect(log.entries(6, Number.MAX_SAFE_INTEGER).map((e) => e.term)).toEqual([3, 3, 4, 4, 4]);
    // Appending after compaction still works, and the unstable part sits on top.
    log.append(entsFrom(11, 5));
    expect(log.lastIndex()).toBe(11);
    expect(log.term(11)).toBe(5);
    s.compact(10);
    expect(log.firstIndex()).toBe(11);
    expect(log.term(10)).toBe(4);
  });

  it('restore replaces the log with a snapshot and commits up to it', () => {
    const { log } = logWith(0, 0, [1, 1, 1]);
    log.restore(snap(1000, 1000));
    expect(log.allEntries()).toEqual([]);
    expect(log.firstIndex()).toBe(1001);
    expect(log.committed).toBe(1000);
    expect(log.unstable.offset).toBe(1001);
    expect(log.term(1000)).toBe(1000);
    log.stableSnapTo(1000);
    expect(log.hasNextOrInProgressSnapshot()).toBe(false);
  });

  it('is empty and consistent over an empty storage', () => {
    const log = newLog();
    expect(log.firstIndex()).toBe(1);
    expect(log.lastIndex()).toBe(0);
    expect(log.lastTerm()).toBe(0);
    expect(log.term(0)).toBe(0);
    expect(log.allEntries()).toEqual([]);
    expect(log.snapshot()).toEqual(emptySnapshot());
    expect(log.findConflict(entsFrom(1, 1))).toBe(1);
    expect(log.isUpToDate(0, 0)).toBe(true);
  });

  // A random mix of what raft does to its log — appends that may truncate the unstable or
  // stable tail, persisting, committing, applying, compacting storage — checked after every
  // step against a plain array of terms.
  it('matches an array model under appends, truncations, persistence and compaction', () => {
    type Op =
      | { kind: 'append'; back: number; terms: number[] }
      | { kind: 'persist' }
      | { kind: 'commit'; frac: number }
      | { kind: 'compact'; frac: number }
      | { kind: 'slice'; a: number; b: number; max: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('append' as const),
        back: fc.nat({ max: 6 }),
        terms: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }),
      }),
      fc.record({ kind: fc.constant('persist' as const) }),
      fc.record({
        kind: fc.constant('commit' as const),
        frac: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
      fc.record({
        kind: fc.constant('compact' as const),
        frac: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
      fc.record({
        kind: fc.constant('slice' as const),
        a: fc.double({ min: 0, max: 1, noNaN: true }),
        b: fc.double({ min: 0, max: 1, noNaN: true }),
        max: fc.nat({ max: 200 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const s = new MemoryStorage();
        const log = newLog(s);
        // model[i] is the term of entry i; model[0] stands for "before the log".
        let model: Term[] = [0];
        const entryOf = (i: number) => newEntry({ index: i, term: model[i]! });
        for (const o of ops) {
          switch (o.kind) {
            case 'append': {
              const last = model.length - 1;
              const from = Math.max(log.committed + 1, last + 1 - o.back);
              const ents = o.terms.map((term, k) => newEntry({ index: from + k, term }));
              log.append(ents);
              model = model.slice(0, from).concat(o.terms);
              break;
            }
            case 'persist': {
              const ents = log.nextUnstableEnts();
              s.append(ents);
              log.acceptUnstable();
              if (ents.length > 0) {
                const l = ents[ents.length - 1]!;
                log.stableTo(l.index, l.term);
              }
              break;
            }
            case 'commit': {
              const lo = log.committed;
              // Only what is durable gets committed here (the storage holds it).
              const hi = Math.min(log.lastIndex(), log.unstable.offset - 1);
              if (hi > lo) {
                const c = lo + Math.ceil((hi - lo) * o.frac);
                log.commitTo(c);
                log.appliedTo(c, 0);
              }
              break;
            }
            case 'compact': {
              const lo = s.firstIndex() - 1;
              const hi = Math.min(log.applied, s.lastIndex());
              if (hi > lo) s.compact(lo + Math.max(1, Math.ceil((hi - lo) * o.frac)));
              break;
            }
            case 'slice': {
              const first = log.firstIndex();
              const end = log.lastIndex() + 1;
              let lo = first + Math.floor((end - first) * o.a);
              let hi = first + Math.floor((end - first) * o.b);
              if (lo > hi) [lo, hi] = [hi, lo];
              const want: Entry[] = [];
              for (let i = lo; i < hi; i++) want.push(entryOf(i));
              expect(log.slice(lo, hi, o.max)).toEqual(limitSize(want, o.max));
              break;
            }
          }
          // Invariants after every step.
          expect(log.lastIndex()).toBe(model.length - 1);
          const first = log.firstIndex();
          expect(first).toBe(s.firstIndex());
          for (let i = first - 1; i < model.length; i++) expect(log.term(i)).toBe(model[i]);
          if (first > 1) expect(() => log.term(first - 2)).toThrow(ErrCompacted);
          expect(log.allEntries()).toEqual(model.slice(first).map((_, k) => entryOf(first + k)));
          expect(log.applied).toBeLessThanOrEqual(log.committed);
          expect(log.committed).toBeLessThanOrEqual(log.lastIndex());
          const u = log.unstable;
          expect(u.offset).toBeLessThanOrEqual(u.offsetInProgress);
          expect(u.offsetInProgress).toBeLessThanOrEqual(u.offset + u.entries.length);
        }
      }),
      { numRuns: 300 },
    );
  });
});
