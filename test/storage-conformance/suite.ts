// The Storage conformance suite: what raft-core expects of any Storage, written once and run
// against MemoryStorage, LevelStorage, and anyone's own implementation:
//
//   import { describeStorageConformance } from '<tsraft>/test/storage-conformance/suite.js';
//   describeStorageConformance('MyStorage', async () => ({ storage, setHardState, ... }));
//
// A target adapts a storage's write side (sync or async) to one shape. Durable targets also
// give `reopen`, and every check then runs a second time on the reopened storage. The suite
// drives storages the way raft does: the commit index never exceeds the last index, and
// committed entries are never truncated.
import fc from 'fast-check';
import {
  type ConfState,
  type Entry,
  ErrCompacted,
  ErrSnapOutOfDate,
  ErrUnavailable,
  ErrUsage,
  type HardState,
  type Index,
  MemoryStorage,
  type Snapshot,
  type Storage,
  entrySize,
  newConfState,
  newEntry,
} from '@tsraft/raft-core';
import { afterEach, describe, expect, it } from 'vitest';

/** A storage and its write side, as the suite drives it. */
export interface ConformanceTarget {
  readonly storage: Storage;
  setHardState(hs: HardState): void | Promise<void>;
  append(entries: Entry[]): void | Promise<void>;
  applySnapshot(snap: Snapshot): void | Promise<void>;
  createSnapshot(
    i: Index,
    cs: ConfState | undefined,
    data: Uint8Array,
  ): Snapshot | Promise<Snapshot>;
  compact(i: Index): void | Promise<void>;
  /** Durable storages: close, open again from disk, and return the reopened target. */
  reopen?: () => Promise<ConformanceTarget>;
  /** Releases the target (and its files). */
  close?: () => void | Promise<void>;
}

export type TargetFactory = () => ConformanceTarget | Promise<ConformanceTarget>;

/** The target for raft-core's MemoryStorage (and the suite's reference model). */
export function memoryStorageTarget(s = new MemoryStorage()): ConformanceTarget {
  return {
    storage: s,
    setHardState: (hs) => s.setHardState(hs),
    append: (ents) => s.append(ents),
    applySnapshot: (snap) => s.applySnapshot(snap),
    createSnapshot: (i, cs, data) => s.createSnapshot(i, cs, data),
    compact: (i) => s.compact(i),
  };
}

type ErrorClass = abstract new (...args: never[]) => Error & { code: string };

/** Expects `f` to throw (or reject with) an instance of `cls`, carrying its stable code. */
export async function expectError(f: () => unknown, cls: ErrorClass, code: string): Promise<void> {
  let thrown: unknown;
  try {
    await f();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected ${cls.name}`).toBeInstanceOf(cls);
  expect((thrown as { code: string }).code).toBe(code);
}

/** Entries as plain comparable values (any Uint8Array subclass for data). */
export function plainEntries(ents: readonly Entry[]): unknown[] {
  return ents.map((e) => ({ term: e.term, index: e.index, type: e.type, data: [...e.data] }));
}

export function plainSnapshot(s: Snapshot): unknown {
  return { data: [...s.data], metadata: s.metadata };
}

const ent = (index: Index, term: number, data?: Uint8Array): Entry =>
  newEntry(data === undefined ? { index, term } : { index, term, data });
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const CS = newConfState({ voters: [1, 2, 3] });

export function describeStorageConformance(name: string, factory: TargetFactory): void {
  describe(`Storage conformance: ${name}`, () => {
    let current: ConformanceTarget | null = null;

    afterEach(async () => {
      await current?.close?.();
      current = null;
    });

    async function fresh(): Promise<ConformanceTarget> {
      current = await factory();
      return current;
    }

    /** Runs `check`, then again after a reopen when the target is durable. */
    async function verify(check: (s: Storage) => unknown | Promise<unknown>): Promise<void> {
      await check(current!.storage);
      if (current!.reopen) {
        current = await current!.reopen();
        await check(current.storage);
      }
    }

    /** The log of etcd's storage tests: a snapshot at 3@3, then entries 4@4 and 5@5. */
    async function base345(): Promise<ConformanceTarget> {
      const t = await fresh();
      await t.applySnapshot({
        data: bytes('snap'),
        metadata: { index: 3, term: 3, confState: CS },
      });
      await t.append([ent(4, 4), ent(5, 5)]);
      return t;
    }

    it('starts empty', async () => {
      await fresh();
      await verify(async (s) => {
        expect(s.firstIndex()).toBe(1);
        expect(s.lastIndex()).toBe(0);
        expect(s.term(0)).toBe(0);
        await expectError(() => s.term(1), ErrUnavailable, 'RAFT_UNAVAILABLE');
        await expectError(() => s.entries(1, 1, Infinity), ErrUnavailable, 'RAFT_UNAVAILABLE');
        expect(s.snapshot().metadata.index).toBe(0);
        const init = s.initialState();
        expect(init.hardState).toEqual({ term: 0, vote: 0, commit: 0 });
        expect(init.confState.voters).toEqual([]);
      });
    });

    it('answers term(i) for [firstIndex-1, lastIndex] with typed errors outside', async () => {
      await base345();
      await verify(async (s) => {
        await expectError(() => s.term(2), ErrCompacted, 'RAFT_COMPACTED');
        expect(s.term(3)).toBe(3);
        expect(s.term(4)).toBe(4);
        expect(s.term(5)).toBe(5);
        await expectError(() => s.term(6), ErrUnavailable, 'RAFT_UNAVAILABLE');
      });
    });

    it('answers entries(lo, hi, maxSize) with size limits and typed errors', async () => {
      const t = await base345();
      await t.append([ent(6, 6)]);
      const size = (i: number) => entrySize(ent(i, i));
      await verify(async (s) => {
        await expectError(() => s.entries(2, 6, Infinity), ErrCompacted, 'RAFT_COMPACTED');
        await expectError(() => s.entries(3, 4, Infinity), ErrCompacted, 'RAFT_COMPACTED');
        expect(plainEntries(s.entries(4, 5, Infinity))).toEqual(plainEntries([ent(4, 4)]));
        expect(plainEntries(s.entries(4, 6, Infinity))).toEqual(
          plainEntries([ent(4, 4), ent(5, 5)]),
        );
        const all = [ent(4, 4), ent(5, 5), ent(6, 6)];
        expect(plainEntries(s.entries(4, 7, Infinity))).toEqual(plainEntries(all));
        // Limits: exact fit, one byte short, and below one entry (still returns one).
        expect(s.entries(4, 7, size(4) + size(5) + size(6))).toHaveLength(3);
        expect(s.entries(4, 7, size(4) + size(5) + size(6) - 1)).toHaveLength(2);
        expect(s.entries(4, 7, size(4) + size(5))).toHaveLength(2);
        expect(s.entries(4, 7, size(4))).toHaveLength(1);
        expect(s.entries(4, 7, 0)).toHaveLength(1);
        await expectError(() => s.entries(4, 8, Infinity), ErrUnavailable, 'RAFT_UNAVAILABLE');
      });
    });

    it('keeps entry payloads and types', async () => {
      const t = await fresh();
      const ents = [
        ent(1, 1, bytes('a')),
        newEntry({ index: 2, term: 1, type: 1, data: bytes('cc') }),
      ];
      ents.push(ent(3, 2, new Uint8Array(3000).fill(7)), ent(4, 2));
      await t.append(ents);
      await verify((s) => {
        expect(plainEntries(s.entries(1, 5, Infinity))).toEqual(plainEntries(ents));
      });
    });

    it('tracks first and last index through appends and compaction', async () => {
      const t = await base345();
      expect(t.storage.firstIndex()).toBe(4);
      expect(t.storage.lastIndex()).toBe(5);
      await t.append([ent(6, 5)]);
      await verify((s) => expect(s.lastIndex()).toBe(6));
      await current!.compact(4);
      await verify((s) => {
        expect(s.firstIndex()).toBe(5);
        expect(s.lastIndex()).toBe(6);
      });
    });

    it('compacts up to an index, refusing compacted and unknown ones', async () => {
      const t = await base345();
      await expectError(() => t.compact(2), ErrCompacted, 'RAFT_COMPACTED');
      await expectError(() => t.compact(3), ErrCompacted, 'RAFT_COMPACTED');
      await expectError(() => t.compact(6), ErrUsage, 'RAFT_USAGE');
      await t.compact(4);
      await verify(async (s) => {
        expect(s.firstIndex()).toBe(5);
        expect(s.term(4)).toBe(4);
        await expectError(() => s.term(3), ErrCompacted, 'RAFT_COMPACTED');
        expect(plainEntries(s.entries(5, 6, Infinity))).toEqual(plainEntries([ent(5, 5)]));
        // Compaction leaves the snapshot alone.
        expect(s.snapshot().metadata.index).toBe(3);
      });
      await current!.compact(5);
      await verify(async (s) => {
        expect(s.firstIndex()).toBe(6);
        expect(s.lastIndex()).toBe(5);
        expect(s.term(5)).toBe(5);
        await expectError(() => s.entries(6, 6, Infinity), ErrUnavailable, 'RAFT_UNAVAILABLE');
      });
    });

    it('creates snapshots at an index, refusing stale and unknown ones', async () => {
      const t = await base345();
      const cs = newConfState({ voters: [1, 2], learners: [3] });
      const snap = await t.createSnapshot(4, cs, bytes('data@4'));
      expect(snap.metadata).toEqual({ index: 4, term: 4, confState: cs });
      await verify((s) => {
        expect(plainSnapshot(s.snapshot())).toEqual(plainSnapshot(snap));
        expect(s.initialState().confState).toEqual(cs);
        // The log is left alone.
        expect(s.firstIndex()).toBe(4);
      });
      await expectError(
        () => current!.createSnapshot(4, cs, bytes('x')),
        ErrSnapOutOfDate,
        'RAFT_SNAP_OUT_OF_DATE',
      );
      await expectError(
        () => current!.createSnapshot(3, cs, bytes('x')),
        ErrSnapOutOfDate,
        'RAFT_SNAP_OUT_OF_DATE',
      );
      await expectError(() => current!.createSnapshot(6, cs, bytes('x')), ErrUsage, 'RAFT_USAGE');
      // Without a ConfState the previous one is kept.
      const next = await current!.createSnapshot(5, undefined, bytes('data@5'));
      expect(next.metadata.confState).toEqual(cs);
      await verify((s) => expect(plainSnapshot(s.snapshot())).toEqual(plainSnapshot(next)));
    });

    describe('appends, truncating on conflict', () => {
      // etcd's TestStorageAppend, on the log 3@3 (snapshot), 4@4, 5@5.
      const cases: [string, Entry[], Entry[] | null][] = [
        ['the same entries', [ent(3, 3), ent(4, 4), ent(5, 5)], [ent(4, 4), ent(5, 5)]],
        ['conflicting terms', [ent(3, 3), ent(4, 6), ent(5, 6)], [ent(4, 6), ent(5, 6)]],
        [
          'one more',
          [ent(3, 3), ent(4, 4), ent(5, 5), ent(6, 5)],
          [ent(4, 4), ent(5, 5), ent(6, 5)],
        ],
        ['a compacted prefix and a conflict', [ent(2, 3), ent(3, 3), ent(4, 5)], [ent(4, 5)]],
        ['a conflict in the middle', [ent(4, 5)], [ent(4, 5)]],
        ['directly after the last', [ent(6, 5)], [ent(4, 4), ent(5, 5), ent(6, 5)]],
        ['all compacted', [ent(2, 2), ent(3, 3)], [ent(4, 4), ent(5, 5)]],
        ['with a gap', [ent(7, 5)], null],
      ];
      for (const [what, append, want] of cases) {
        it(what, async () => {
          const t = await base345();
          if (want === null) {
            await expectError(() => t.append(append), ErrUsage, 'RAFT_USAGE');
            return;
          }
          await t.append(append);
          await verify((s) => {
            expect(s.lastIndex()).toBe(want[want.length - 1]!.index);
            expect(plainEntries(s.entries(4, s.lastIndex() + 1, Infinity))).toEqual(
              plainEntries(want),
            );
          });
        });
      }
    });

    it('applies a snapshot, replacing the log', async () => {
      const t = await base345();
      const snap: Snapshot = {
        data: bytes('s@10'),
        metadata: { index: 10, term: 7, confState: CS },
      };
      await t.applySnapshot(snap);
      await verify(async (s) => {
        expect(s.firstIndex()).toBe(11);
        expect(s.lastIndex()).toBe(10);
        expect(s.term(10)).toBe(7);
        await expectError(() => s.term(5), ErrCompacted, 'RAFT_COMPACTED');
        await expectError(() => s.entries(11, 11, Infinity), ErrUnavailable, 'RAFT_UNAVAILABLE');
        expect(plainSnapshot(s.snapshot())).toEqual(plainSnapshot(snap));
        expect(s.initialState().confState).toEqual(CS);
      });
      const older: Snapshot = {
        data: bytes('old'),
        metadata: { index: 9, term: 7, confState: CS },
      };
      await expectError(
        () => current!.applySnapshot(older),
        ErrSnapOutOfDate,
        'RAFT_SNAP_OUT_OF_DATE',
      );
      await expectError(
        () => current!.applySnapshot(snap),
        ErrSnapOutOfDate,
        'RAFT_SNAP_OUT_OF_DATE',
      );
      // The log goes on after the snapshot.
      await current!.append([ent(11, 7), ent(12, 8)]);
      await verify((s) => {
        expect(plainEntries(s.entries(11, 13, Infinity))).toEqual(
          plainEntries([ent(11, 7), ent(12, 8)]),
        );
      });
    });

    it('keeps the hard state', async () => {
      const t = await base345();
      await t.setHardState({ term: 9, vote: 2, commit: 5 });
      await verify((s) =>
        expect(s.initialState().hardState).toEqual({ term: 9, vote: 2, commit: 5 }),
      );
      await current!.setHardState({ term: 10, vote: 0, commit: 5 });
      await verify((s) =>
        expect(s.initialState().hardState).toEqual({ term: 10, vote: 0, commit: 5 }),
      );
    });

    it('serves a long log in pieces across compactions', async () => {
      const t = await fresh();
      for (let i = 1; i <= 2000; i += 100) {
        await t.append(
          Array.from({ length: 100 }, (_, k) => ent(i + k, 1 + ((i + k) >> 9), bytes(`e${i + k}`))),
        );
      }
      await t.setHardState({ term: 4, vote: 1, commit: 1500 });
      await t.createSnapshot(1200, CS, bytes('s'));
      await t.compact(1000);
      await verify((s) => {
        expect(s.firstIndex()).toBe(1001);
        expect(s.lastIndex()).toBe(2000);
        const got = s.entries(1001, 2001, Infinity);
        expect(got).toHaveLength(1000);
        got.forEach((e, k) => {
          expect(e.index).toBe(1001 + k);
          expect(new TextDecoder().decode(e.data)).toBe(`e${1001 + k}`);
        });
        expect(s.entries(1500, 2001, 10 * entrySize(got[0]!))).toHaveLength(10);
      });
    });

    it('matches MemoryStorage on random operation sequences', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
          await current?.close?.();
          const t = await fresh();
          const model = new MemoryStorage();
          await runOps(ops, model, t, (next) => {
            current = next;
          });
        }),
        { numRuns: 25 },
      );
    });
  });
}

// ---- Random operation sequences, applied to the target and to a MemoryStorage model. ----

type Op =
  | { kind: 'append'; back: number; count: number; bump: boolean }
  | { kind: 'hardState'; commitFrac: number; vote: number }
  | { kind: 'compact'; frac: number }
  | { kind: 'createSnapshot'; frac: number; size: number }
  | { kind: 'applySnapshot'; ahead: number }
  | { kind: 'reopen' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      back: fc.nat(6),
      count: fc.integer({ min: 1, max: 6 }),
      bump: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('hardState' as const),
      commitFrac: fc.double({ min: 0, max: 1, noNaN: true }),
      vote: fc.nat(3),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('compact' as const),
      frac: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('createSnapshot' as const),
      frac: fc.double({ min: 0, max: 1, noNaN: true }),
      size: fc.nat(3000),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('applySnapshot' as const), ahead: fc.nat(5) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

async function runOps(
  ops: Op[],
  model: MemoryStorage,
  target: ConformanceTarget,
  setCurrent: (t: ConformanceTarget) => void,
): Promise<void> {
  let t = target;
  let hs: HardState = { term: 0, vote: 0, commit: 0 };
  let seq = 0;
  for (const op of ops) {
    const first = model.firstIndex();
    const last = model.lastIndex();
    seq++;
    switch (op.kind) {
      case 'append': {
        // Rewrite at most back from the end, never below the commit (raft never does).
        const at = Math.max(first, hs.commit + 1, last + 1 - op.back);
        const base = at - 1 >= first - 1 ? model.term(at - 1) : 0;
        const term = Math.max(base, hs.term) + (op.bump ? 1 : 0);
        const ents = Array.from({ length: op.count }, (_, k) =>
          ent(at + k, term, bytes(`${seq}:${at + k}`)),
        );
        model.append(ents);
        await t.append(ents);
        break;
      }
      case 'hardState': {
        const commit = Math.max(hs.commit, Math.floor(op.commitFrac * last));
        // Term >= 1: a zero HardState means "unchanged" to a Ready-driven storage.
        hs = { term: Math.max(1, hs.term, model.term(last)), vote: op.vote, commit };
        model.setHardState(hs);
        await t.setHardState(hs);
        break;
      }
      case 'compact': {
        // Only applied entries are compacted: at most the commit.
        const i = first + Math.floor(op.frac * (hs.commit - first + 1));
        if (i < first || i > hs.commit) continue;
        model.compact(i);
        await t.compact(i);
        break;
      }
      case 'createSnapshot': {
        const snapIndex = model.snapshot().metadata.index;
        const lo = Math.max(snapIndex + 1, first - 1);
        const i = lo + Math.floor(op.frac * (hs.commit - lo + 1));
        if (i < lo || i > hs.commit) continue;
        const data = new Uint8Array(op.size).fill(seq & 0xff);
        model.createSnapshot(i, CS, data);
        await t.createSnapshot(i, CS, data);
        break;
      }
      case 'applySnapshot': {
        const i = Math.max(model.snapshot().metadata.index, hs.commit) + 1 + op.ahead;
        const term = Math.max(hs.term, model.term(Math.min(last, i))) + 1;
        const snap: Snapshot = {
          data: bytes(`snap${seq}`),
          metadata: { index: i, term, confState: CS },
        };
        model.applySnapshot(snap);
        await t.applySnapshot(snap);
        break;
      }
      case 'reopen':
        if (!t.reopen) continue;
        t = await t.reopen();
        setCurrent(t);
        break;
    }
    expectSameState(t.storage, model);
  }
}

function expectSameState(s: Storage, model: MemoryStorage): void {
  const first = model.firstIndex();
  const last = model.lastIndex();
  expect(s.firstIndex()).toBe(first);
  expect(s.lastIndex()).toBe(last);
  expect(s.initialState()).toEqual(model.initialState());
  for (let i = first - 1; i <= last; i++) expect(s.term(i)).toBe(model.term(i));
  if (last >= first) {
    expect(plainEntries(s.entries(first, last + 1, Infinity))).toEqual(
      plainEntries(model.entries(first, last + 1, Infinity)),
    );
  }
  expect(plainSnapshot(s.snapshot())).toEqual(plainSnapshot(model.snapshot()));
}
