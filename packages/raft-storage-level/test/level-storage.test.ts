// LevelStorage beyond the conformance suite: reopen, the Ready-shaped save, ordering, memory
// bounds, snapshot files, and the typed errors for misuse and for damaged databases.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import {
  type Entry,
  ErrUsage,
  type Snapshot,
  entrySize,
  newConfState,
  newEntry,
} from '@tsraft/raft-core';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrCorruptRecord,
  ErrIncompatibleFormat,
  ErrMissingEntry,
  ErrStorageClosed,
  ErrStorageFailed,
  ErrStorageLocked,
  LevelStorage,
  type LevelStorageOptions,
  StorageCorruptionError,
} from '../src/index.js';
import { KEY_VERSION, entryKey, journalKey } from '../src/keys.js';
import { encodeVersion, seal } from '../src/records.js';
import { ents, filesEnding, tempDir } from './helpers.js';

const CS = newConfState({ voters: [1, 2, 3] });
const plain = (es: readonly Entry[]) => es.map((e) => ({ ...e, data: [...e.data] }));

let dirs: string[] = [];
let open: LevelStorage[] = [];
afterEach(async () => {
  for (const s of open) await s.close();
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  dirs = [];
  open = [];
});

async function newDir(): Promise<string> {
  const d = await tempDir();
  dirs.push(d);
  return d;
}

async function openAt(dir: string, options?: LevelStorageOptions): Promise<LevelStorage> {
  const s = await LevelStorage.open(dir, options);
  open.push(s);
  return s;
}

async function closeIt(s: LevelStorage): Promise<void> {
  await s.close();
  open = open.filter((x) => x !== s);
}

/** Runs `f` on the raw LevelDB of a closed store. */
async function withRawDb(
  dir: string,
  f: (db: Level<Uint8Array, Uint8Array>) => Promise<void>,
): Promise<void> {
  const db = new Level<Uint8Array, Uint8Array>(path.join(dir, 'db'), {
    keyEncoding: 'view',
    valueEncoding: 'view',
  });
  await db.open();
  try {
    await f(db);
  } finally {
    await db.close();
  }
}

async function openError(dir: string): Promise<unknown> {
  return LevelStorage.open(dir).then(
    async (s) => {
      await s.close();
      return null;
    },
    (e: unknown) => e,
  );
}

/** Everything a reader can see, as plain values. */
function state(s: LevelStorage) {
  const first = s.firstIndex();
  const last = s.lastIndex();
  const snap = s.snapshot();
  return {
    initial: s.initialState(),
    first,
    last,
    prevTerm: s.term(first - 1),
    entries: last >= first ? plain(s.entries(first, last + 1, Number.POSITIVE_INFINITY)) : [],
    snapshot: { metadata: snap.metadata, data: [...snap.data] },
  };
}

describe('LevelStorage', () => {
  for (const [name, options] of [
    ['defaults', {}],
    ['no entry cache, snapshots in files', { entryCacheBytes: 0, snapshotFileThreshold: 1 }],
  ] as const) {
    it(`reopens to the same state: every kind of record (${name})`, async () => {
      const dir = await newDir();
      let s = await openAt(dir, options);
      await s.save({ entries: ents(1, 50, 1, 40), hardState: { term: 1, vote: 1, commit: 10 } });
      await s.save({
        entries: [newEntry({ index: 51, term: 2, type: 1, data: Uint8Array.of(9) })],
        hardState: { term: 2, vote: 3, commit: 40 },
      });
      await s.save({ entries: ents(45, 10, 3) }); // truncates 45..51
      await s.createSnapshot(
        30,
        newConfState({ voters: [1, 2], learners: [3] }),
        new Uint8Array(5000).fill(3),
      );
      await s.compact(20);
      const before = state(s);
      await closeIt(s);
      s = await openAt(dir, options);
      expect(state(s)).toEqual(before);
      expect(before.last).toBe(54);
      expect(before.first).toBe(21);
      expect(before.initial.hardState).toEqual({ term: 2, vote: 3, commit: 40 });
      expect(before.snapshot.metadata.index).toBe(30);
    });
  }

  it('saves a whole Ready at once: snapshot, the entries after it, hard state', async () => {
    const dir = await newDir();
    let s = await openAt(dir);
    await s.save({ entries: ents(1, 5, 1), hardState: { term: 1, vote: 1, commit: 2 } });
    const snap: Snapshot = {
      data: Uint8Array.of(1, 2),
      metadata: { index: 100, term: 4, confState: CS },
    };
    await s.save({
      snapshot: snap,
      entries: ents(101, 3, 4),
      hardState: { term: 4, vote: 0, commit: 101 },
    });
    await closeIt(s);
    s = await openAt(dir);
    expect(s.firstIndex()).toBe(101);
    expect(s.lastIndex()).toBe(103);
    expect(s.term(100)).toBe(4);
    expect(s.initialState()).toEqual({
      hardState: { term: 4, vote: 0, commit: 101 },
      confState: CS,
    });
    expect(plain(s.entries(101, 104, 1e9))).toEqual(plain(ents(101, 3, 4)));
  });

  it('accepts a Ready as it comes: absent and empty parts are skipped', async () => {
    const s = await openAt(await newDir());
    await s.save({ entries: ents(1, 2, 1), hardState: { term: 1, vote: 1, commit: 1 } });
    await s.save({});
    await s.save({ hardState: { term: 0, vote: 0, commit: 0 }, entries: [], snapshot: null });
    await s.save({
      snapshot: { data: new Uint8Array(0), metadata: { index: 0, term: 0, confState: CS } },
    });
    expect(s.initialState().hardState).toEqual({ term: 1, vote: 1, commit: 1 });
    expect(s.lastIndex()).toBe(2);
  });

  it('runs writes in call order and shows each only once it is durable', async () => {
    const dir = await newDir();
    let s = await openAt(dir);
    const pending: Promise<void>[] = [];
    for (let i = 1; i <= 100; i++) {
      pending.push(
        s.save({ entries: ents(i, 1, 1), hardState: { term: 1, vote: 0, commit: i - 1 } }),
      );
    }
    // Nothing is visible before the first save resolved.
    expect(s.lastIndex()).toBe(0);
    await pending[0];
    expect(s.lastIndex()).toBeGreaterThanOrEqual(1);
    await Promise.all(pending);
    expect(s.lastIndex()).toBe(100);
    await closeIt(s);
    s = await openAt(dir);
    expect(s.lastIndex()).toBe(100);
    expect(s.initialState().hardState.commit).toBe(99);
  });

  it('refuses writes raft would never make, changing nothing', async () => {
    const s = await openAt(await newDir());
    await s.save({ entries: ents(1, 10, 1), hardState: { term: 1, vote: 0, commit: 8 } });
    const refused = async (p: Promise<unknown>, what: RegExp) => {
      const err = await p.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ErrUsage);
      expect((err as Error).message).toMatch(what);
    };
    await refused(s.save({ hardState: { term: 1, vote: 0, commit: 11 } }), /beyond the last entry/);
    await refused(s.save({ entries: ents(5, 2, 2) }), /beyond the last entry/); // would cut committed 7, 8
    await refused(s.save({ entries: [...ents(11, 1, 1), ...ents(13, 1, 1)] }), /not consecutive/);
    await refused(s.save({ entries: ents(12, 1, 1) }), /missing log entry/);
    expect(s.lastIndex()).toBe(10);
    // The store still works after refusals.
    await s.save({ entries: ents(9, 3, 2) });
    expect(s.lastIndex()).toBe(11);
  });

  it('keeps memory bounded as the log grows when compaction runs', async () => {
    const s = await openAt(await newDir());
    let maxEntries = 0;
    for (let i = 1; i <= 20_000; i += 200) {
      await s.save({
        entries: ents(i, 200, 1, 8),
        hardState: { term: 1, vote: 0, commit: i + 199 },
      });
      if ((i + 199) % 1000 === 0) await s.compact(i + 199 - 100);
      maxEntries = Math.max(maxEntries, s.stats().entries);
    }
    expect(s.lastIndex()).toBe(20_000);
    expect(maxEntries).toBeLessThanOrEqual(1100);
    expect(s.stats().entries).toBe(s.lastIndex() - s.firstIndex() + 1);
  });

  it('with entryCacheBytes, keeps only the newest committed payloads and reads older ones from disk', async () => {
    const dir = await newDir();
    const budget = 20 * entrySize(ents(1, 1, 1, 100)[0]!);
    let s = await openAt(dir, { entryCacheBytes: budget });
    const all = ents(1, 500, 1, 100);
    for (let i = 0; i < 500; i += 50) {
      await s.save({
        entries: all.slice(i, i + 50),
        hardState: { term: 1, vote: 0, commit: i + 40 },
      });
    }
    const st = s.stats();
    expect(st.entries).toBe(500);
    // The budget holds the uncommitted tail 491..500 (never evicted) and 481..490.
    expect(st.cachedBytes).toBeLessThanOrEqual(budget);
    expect(st.cachedEntries).toBe(20);
    expect(plain(s.entries(1, 501, 1e9))).toEqual(plain(all));
    expect(plain(s.entries(100, 103, 1e9))).toEqual(plain(all.slice(99, 102)));
    await closeIt(s);
    s = await openAt(dir, { entryCacheBytes: budget });
    expect(s.stats().cachedEntries).toBe(20);
    expect(plain(s.entries(1, 501, 1e9))).toEqual(plain(all));
  });

  it('puts large snapshots in files, replaces them, and removes leftovers at open', async () => {
    const dir = await newDir();
    const snapDir = path.join(dir, 'snap');
    let s = await openAt(dir, { snapshotFileThreshold: 1000 });
    await s.save({ entries: ents(1, 20, 1), hardState: { term: 1, vote: 0, commit: 20 } });
    await s.createSnapshot(5, CS, new Uint8Array(999).fill(5)); // inline
    expect(await filesEnding(snapDir, '.snap')).toEqual([]);
    await s.createSnapshot(10, CS, new Uint8Array(5000).fill(10));
    const files = await filesEnding(snapDir, '.snap');
    expect(files.map((f) => path.basename(f))).toEqual(['0000000000000001-000000000000000a.snap']);
    await s.createSnapshot(15, CS, new Uint8Array(6000).fill(15));
    expect((await filesEnding(snapDir, '.snap')).map((f) => path.basename(f))).toEqual([
      '0000000000000001-000000000000000f.snap',
    ]);
    expect(s.snapshot().data).toEqual(new Uint8Array(6000).fill(15));
    await closeIt(s);
    // Leftovers of a crash: a temp file and a file no record points at.
    await fs.writeFile(path.join(snapDir, '0000000000000001-0000000000000010.snap.tmp'), 'x');
    await fs.writeFile(path.join(snapDir, '0000000000000001-0000000000000011.snap'), 'x');
    s = await openAt(dir);
    expect((await fs.readdir(snapDir)).sort()).toEqual(['0000000000000001-000000000000000f.snap']);
    expect(s.snapshot().metadata.index).toBe(15);
    expect(s.snapshot().data).toEqual(new Uint8Array(6000).fill(15));
  });

  it('refuses a second open of the same directory', async () => {
    const dir = await newDir();
    await openAt(dir);
    const err = await LevelStorage.open(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrStorageLocked);
    expect((err as ErrStorageLocked).code).toBe('RAFT_STORAGE_LOCKED');
  });

  it('refuses use after close', async () => {
    const s = await LevelStorage.open(await newDir());
    await s.close();
    await s.close(); // idempotent
    expect(() => s.lastIndex()).toThrow(ErrStorageClosed);
    expect(() => s.entries(1, 2, 1)).toThrow(ErrStorageClosed);
    await expect(s.save({ entries: ents(1, 1, 1) })).rejects.toBeInstanceOf(ErrStorageClosed);
  });

  it('refuses every write after one failed, since its outcome is unknown', async () => {
    const s = await openAt(await newDir());
    await s.save({ entries: ents(1, 1, 1) });
    // Pull the database out from under it.
    await (s as unknown as { db: Level }).db.close();
    const err = await s.save({ entries: ents(2, 1, 1) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrStorageFailed);
    expect((err as ErrStorageFailed).code).toBe('RAFT_STORAGE_FAILED');
    await expect(s.compact(1)).rejects.toBe(err);
    expect(s.lastIndex()).toBe(1);
  });

  describe('a database it cannot trust', () => {
    it('written by another format version', async () => {
      const dir = await newDir();
      await closeIt(await openAt(dir));
      await withRawDb(dir, (db) => db.put(KEY_VERSION, seal(KEY_VERSION, encodeVersion(99))));
      const err = (await openError(dir)) as ErrIncompatibleFormat;
      expect(err).toBeInstanceOf(ErrIncompatibleFormat);
      expect(err.code).toBe('RAFT_STORAGE_INCOMPATIBLE_FORMAT');
      expect([err.found, err.expected]).toEqual([99, 1]);
    });

    it('not one of ours', async () => {
      const dir = await newDir();
      await fs.mkdir(path.join(dir, 'db'));
      await withRawDb(dir, (db) => db.put(Uint8Array.of(0x61), Uint8Array.of(1)));
      const err = (await openError(dir)) as ErrIncompatibleFormat;
      expect(err).toBeInstanceOf(ErrIncompatibleFormat);
      expect(err.found).toBeNull();
    });

    it('an entry missing inside the log', async () => {
      const dir = await newDir();
      const s = await openAt(dir);
      await s.save({ entries: ents(1, 10, 1), hardState: { term: 1, vote: 0, commit: 5 } });
      await closeIt(s);
      await withRawDb(dir, (db) => db.del(entryKey(4)));
      const err = (await openError(dir)) as ErrMissingEntry;
      expect(err).toBeInstanceOf(ErrMissingEntry);
      expect(err).toBeInstanceOf(StorageCorruptionError);
      expect(err.code).toBe('RAFT_STORAGE_MISSING_ENTRY');
      expect(err.index).toBe(4);
      expect(err.path).toBe(path.join(dir, 'db'));
    });

    it('committed entries missing at the end of the log', async () => {
      const dir = await newDir();
      const s = await openAt(dir);
      await s.save({ entries: ents(1, 10, 1), hardState: { term: 1, vote: 0, commit: 10 } });
      await closeIt(s);
      await withRawDb(dir, async (db) => {
        await db.del(entryKey(9));
        await db.del(entryKey(10));
      });
      const err = (await openError(dir)) as ErrMissingEntry;
      expect(err).toBeInstanceOf(ErrMissingEntry);
      expect(err.index).toBe(9);
    });

    it('a save missing from the journal', async () => {
      const dir = await newDir();
      const s = await openAt(dir);
      for (let i = 1; i <= 5; i++) await s.save({ hardState: { term: i, vote: 1, commit: 0 } });
      await closeIt(s);
      await withRawDb(dir, (db) => db.del(journalKey(3)));
      const err = (await openError(dir)) as ErrCorruptRecord;
      expect(err).toBeInstanceOf(ErrCorruptRecord);
      expect(err.record).toBe('journal');
    });

    it('an entry stored under the wrong index', async () => {
      const dir = await newDir();
      const s = await openAt(dir);
      await s.save({ entries: ents(1, 3, 1) });
      await closeIt(s);
      await withRawDb(dir, async (db) => {
        const v = await db.get(entryKey(2));
        await db.put(entryKey(3), v!);
      });
      const err = (await openError(dir)) as ErrCorruptRecord;
      expect(err).toBeInstanceOf(ErrCorruptRecord);
      expect(err.index).toBe(3);
    });
  });
});
