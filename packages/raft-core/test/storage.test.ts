// MemoryStorage: the in-memory Storage (etcd's storage_test.go, as our own cases). The
// cross-implementation contract lives in test/storage-conformance; these are MemoryStorage's
// own behaviours and its typed errors.
import { describe, expect, it } from 'vitest';
import {
  type Entry,
  ErrCompacted,
  ErrSnapOutOfDate,
  ErrUnavailable,
  ErrUsage,
  MemoryStorage,
  RaftError,
  type Snapshot,
  entsSize,
  newConfState,
  newEntry,
} from '../src/index.js';
import { dataEntry, entsFrom, termIndex } from './util/raft.js';

/** A storage holding a snapshot at 3 (term 3) and entries 4/4, 5/5 (and `more`). */
function storage345(more: Entry[] = []): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot({
    data: new Uint8Array(0),
    metadata: { index: 3, term: 3, confState: newConfState({ voters: [1, 2, 3] }) },
  });
  s.append([...entsFrom(4, 4, 5), ...more]);
  return s;
}

function expectTyped(f: () => unknown, cls: new (...a: never[]) => RaftError, code: string): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(cls);
  expect(err).toBeInstanceOf(RaftError);
  expect((err as RaftError).code).toBe(code);
}

describe('MemoryStorage', () => {
  it('starts empty: first index 1, last index 0, term(0) = 0', () => {
    const s = new MemoryStorage();
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expect(s.initialState()).toEqual({
      hardState: { term: 0, vote: 0, commit: 0 },
      confState: newConfState(),
    });
    expectTyped(() => s.entries(1, 1, 100), ErrUnavailable, 'RAFT_UNAVAILABLE');
  });

  it('term: the snapshot index and every entry; typed errors outside', () => {
    const s = storage345();
    expectTyped(() => s.term(2), ErrCompacted, 'RAFT_COMPACTED');
    expect(s.term(3)).toBe(3);
    expect(s.term(4)).toBe(4);
    expect(s.term(5)).toBe(5);
    expectTyped(() => s.term(6), ErrUnavailable, 'RAFT_UNAVAILABLE');
  });

  it('entries: [lo, hi) within the log, size-limited but never empty', () => {
    const s = storage345(entsFrom(6, 6));
    const size = entsSize(entsFrom(4, 4));
    expectTyped(() => s.entries(2, 6, 1e9), ErrCompacted, 'RAFT_COMPACTED');
    expectTyped(() => s.entries(3, 4, 1e9), ErrCompacted, 'RAFT_COMPACTED');
    expect(termIndex(s.entries(4, 5, 1e9))).toEqual([[4, 4]]);
    expect(termIndex(s.entries(4, 6, 1e9))).toEqual([
      [4, 4],
      [5, 5],
    ]);
    expect(s.entries(4, 7, 1e9)).toHaveLength(3);
    expect(s.entries(4, 7, 0)).toHaveLength(1); // at least one entry
    expect(s.entries(4, 7, size)).toHaveLength(1);
    expect(s.entries(4, 7, size * 2)).toHaveLength(2);
    expect(s.entries(4, 7, size * 2 + 1)).toHaveLength(2);
    expect(s.entries(4, 7, size * 3)).toHaveLength(3);
    expectTyped(() => s.entries(4, 8, 1e9), ErrUnavailable, 'RAFT_UNAVAILABLE');
  });

  it('entries returns a fresh array each time (callers may append to it)', () => {
    const s = storage345();
    const a = s.entries(4, 6, 1e9);
    a.push(dataEntry(6, 6, 'x'));
    a.length = 0;
    expect(s.entries(4, 6, 1e9)).toHaveLength(2);
    expect(s.lastIndex()).toBe(5);
  });

  it('first and last index follow appends and compaction', () => {
    const s = storage345();
    expect(s.firstIndex()).toBe(4);
    expect(s.lastIndex()).toBe(5);
    s.append(entsFrom(6, 5));
    expect(s.lastIndex()).toBe(6);
    s.compact(4);
    expect(s.firstIndex()).toBe(5);
    expect(s.lastIndex()).toBe(6);
  });

  it('compact keeps the term of the compaction point and refuses what it cannot do', () => {
    const cases: Array<{ i: number; err?: string; wfirst: number; wterm: number }> = [
      { i: 2, err: 'RAFT_COMPACTED', wfirst: 4, wterm: 3 },
      { i: 3, err: 'RAFT_COMPACTED', wfirst: 4, wterm: 3 },
      { i: 4, wfirst: 5, wterm: 4 },
      { i: 5, wfirst: 6, wterm: 5 },
      { i: 6, err: 'RAFT_USAGE', wfirst: 4, wterm: 3 }, // beyond the last index
    ];
    for (const c of cases) {
      const s = storage345();
      if (c.err !== undefined) {
        let code: string | undefined;
        try {
          s.compact(c.i);
        } catch (e) {
          code = (e as RaftError).code;
        }
        expect(code, `compact(${c.i})`).toBe(c.err);
      } else {
        s.compact(c.i);
      }
      expect(s.firstIndex(), `compact(${c.i})`).toBe(c.wfirst);
      expect(s.term(c.wfirst - 1), `compact(${c.i})`).toBe(c.wterm);
    }
  });

  it('createSnapshot records the state at an index, with the term of that entry', () => {
    const s = storage345();
    const cs = newConfState({ voters: [1, 2, 3] });
    const data = new Uint8Array([1, 2, 3]);
    const snap = s.createSnapshot(4, cs, data);
    expect(snap.metadata).toEqual({ index: 4, term: 4, confState: cs });
    expect(snap.data).toBe(data);
    expect(s.snapshot()).toBe(snap);
    // The log is left alone until compacted.
    expect(s.firstIndex()).toBe(4);
    // Its ConfState is a copy.
    cs.voters.push(9);
    expect(s.snapshot().metadata.confState.voters).toEqual([1, 2, 3]);
    // Without a ConfState, the previous snapshot's is kept.
    expect(s.createSnapshot(5, undefined, data).metadata.confState.voters).toEqual([1, 2, 3]);
    expectTyped(() => s.createSnapshot(5, cs, data), ErrSnapOutOfDate, 'RAFT_SNAP_OUT_OF_DATE');
    expectTyped(() => s.createSnapshot(3, cs, data), ErrSnapOutOfDate, 'RAFT_SNAP_OUT_OF_DATE');
    expectTyped(() => s.createSnapshot(6, cs, data), ErrUsage, 'RAFT_USAGE');
  });

  it('createSnapshot at an index compaction already dropped is ErrCompacted', () => {
    // Compacted past 4 without a snapshot there: entry 4's term is gone.
    const s = storage345(entsFrom(6, 6, 6));
    s.compact(6);
    expectTyped(
      () => s.createSnapshot(4, undefined, new Uint8Array(0)),
      ErrCompacted,
      'RAFT_COMPACTED',
    );
    // The compaction point itself still has its term.
    expect(s.createSnapshot(6, undefined, new Uint8Array(0)).metadata).toMatchObject({
      index: 6,
      term: 6,
    });
  });

  it('append: ignores the compacted part, truncates a conflicting tail, refuses gaps', () => {
    const cases: Array<{
      name: string;
      ents: Entry[];
      want?: Array<[number, number]>;
      err?: string;
    }> = [
      {
        name: 'same entries',
        ents: [e(3, 3), e(4, 4), e(5, 5)],
        want: [
          [4, 4],
          [5, 5],
        ],
      },
      {
        name: 'replace the tail',
        ents: [e(3, 3), e(6, 4), e(6, 5)],
        want: [
          [6, 4],
          [6, 5],
        ],
      },
      {
        name: 'extend',
        ents: [e(3, 3), e(4, 4), e(5, 5), e(5, 6)],
        want: [
          [4, 4],
          [5, 5],
          [5, 6],
        ],
      },
      { name: 'partly compacted', ents: [e(3, 2), e(3, 3), e(5, 4)], want: [[5, 4]] },
      {
        name: 'all compacted',
        ents: [e(1, 1), e(2, 2)],
        want: [
          [4, 4],
          [5, 5],
        ],
      },
      { name: 'truncate existing', ents: [e(5, 4)], want: [[5, 4]] },
      {
        name: 'append directly',
        ents: [e(5, 6)],
        want: [
          [4, 4],
          [5, 5],
          [5, 6],
        ],
      },
      {
        name: 'nothing',
        ents: [],
        want: [
          [4, 4],
          [5, 5],
        ],
      },
      { name: 'a gap', ents: [e(5, 7)], err: 'RAFT_USAGE' },
    ];
    for (const c of cases) {
      const s = storage345();
      if (c.err !== undefined) {
        expect(() => s.append(c.ents), c.name).toThrow(ErrUsage);
        continue;
      }
      s.append(c.ents);
      expect(termIndex(s.entries(s.firstIndex(), s.lastIndex() + 1, 1e9)), c.name).toEqual(c.want);
      expect(s.term(3), c.name).toBe(3);
    }
  });

  it('applySnapshot replaces everything; an older snapshot is refused', () => {
    const s = storage345(entsFrom(6, 6, 6));
    const snap = (index: number, term: number): Snapshot => ({
      data: new Uint8Array([index]),
      metadata: { index, term, confState: newConfState({ voters: [1, 2] }) },
    });
    s.applySnapshot(snap(10, 7));
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(10);
    expect(s.term(10)).toBe(7);
    expectTyped(() => s.term(9), ErrCompacted, 'RAFT_COMPACTED');
    expectTyped(() => s.entries(11, 11, 1e9), ErrUnavailable, 'RAFT_UNAVAILABLE');
    expect(s.snapshot().metadata.index).toBe(10);
    expect(s.initialState().confState.voters).toEqual([1, 2]);
    expectTyped(() => s.applySnapshot(snap(9, 7)), ErrSnapOutOfDate, 'RAFT_SNAP_OUT_OF_DATE');
    expectTyped(() => s.applySnapshot(snap(10, 7)), ErrSnapOutOfDate, 'RAFT_SNAP_OUT_OF_DATE');
    // Entries continue after the snapshot.
    s.append(entsFrom(11, 8));
    expect(s.lastIndex()).toBe(11);
  });

  it('hard state is stored by value', () => {
    const s = new MemoryStorage();
    const hs = { term: 3, vote: 2, commit: 1 };
    s.setHardState(hs);
    hs.term = 99;
    const got = s.initialState().hardState;
    expect(got).toEqual({ term: 3, vote: 2, commit: 1 });
    got.commit = 42;
    expect(s.initialState().hardState.commit).toBe(1);
  });
});

function e(term: number, index: number): Entry {
  return newEntry({ term, index });
}
