// LevelStore: many raft groups in one LevelDB. Each group's log reads back after a reopen,
// saves of many groups in one turn are one synced batch, removing a group deletes its keys and
// files, and the two formats (one log, many groups) refuse each other's databases.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { ErrUsage, newConfState } from '@tsraft/raft-core';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrCorruptRecord,
  ErrIncompatibleFormat,
  LevelStorage,
  LevelStore,
  STORE_FORMAT_VERSION,
} from '../src/index.js';
import { KeySpace } from '../src/keys.js';
import { ents, filesEnding, tempDir } from './helpers.js';

const CS = newConfState({ voters: [1, 2, 3] });

let dirs: string[] = [];
let stores: LevelStore[] = [];
afterEach(async () => {
  for (const s of stores) await s.close();
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  dirs = [];
  stores = [];
});

async function newDir(): Promise<string> {
  const d = await tempDir('tsraft-store-');
  dirs.push(d);
  return d;
}

async function openStore(dir: string): Promise<LevelStore> {
  const s = await LevelStore.open(dir, { snapshotFileThreshold: 64 });
  stores.push(s);
  return s;
}

async function closeStore(s: LevelStore): Promise<void> {
  await s.close();
  stores = stores.filter((x) => x !== s);
}

/** Keys of the raw database (the store closed) in group gid's range. */
async function groupKeyCount(dir: string, gid: number): Promise<number> {
  const db = new Level<Uint8Array, Uint8Array>(path.join(dir, 'db'), {
    keyEncoding: 'view',
    valueEncoding: 'view',
  });
  await db.open();
  try {
    const k = KeySpace.group(gid);
    return (await db.keys({ gte: k.prefix, lt: k.end! }).all()).length;
  } finally {
    await db.close();
  }
}

describe('LevelStore', () => {
  it('keeps each group apart and reads every one back after a reopen', async () => {
    const dir = await newDir();
    let store = await openStore(dir);
    for (const gid of [1, 2, 300]) {
      const g = await store.group(gid);
      expect(await store.group(gid)).toBe(g); // the same storage while open
      await g.save({
        hardState: { term: gid, vote: 1, commit: 2 },
        entries: ents(1, 3 + (gid % 5), gid),
      });
    }
    expect(store.groupIds()).toEqual([1, 2, 300]);
    await closeStore(store);

    store = await openStore(dir);
    expect(store.groupIds()).toEqual([1, 2, 300]);
    for (const gid of [1, 2, 300]) {
      const g = await store.group(gid);
      expect(g.hardState()).toEqual({ term: gid, vote: 1, commit: 2 });
      expect(g.lastIndex()).toBe(3 + (gid % 5));
      expect(g.entries(1, g.lastIndex() + 1, Infinity)).toEqual(ents(1, 3 + (gid % 5), gid));
    }
    // A group never created starts empty, and is listed once opened.
    const fresh = await store.group(7);
    expect([fresh.firstIndex(), fresh.lastIndex()]).toEqual([1, 0]);
    expect(store.groupIds()).toEqual([1, 2, 7, 300]);
  });

  it('writes what many groups save in one turn as one synced batch', async () => {
    const store = await openStore(await newDir());
    const groups = await Promise.all(Array.from({ length: 50 }, (_, i) => store.group(i + 1)));
    const before = store.stats();
    await Promise.all(
      groups.map((g, i) =>
        g.save({ hardState: { term: 1, vote: i + 1, commit: 0 }, entries: ents(1, 2, 1) }),
      ),
    );
    const after = store.stats();
    expect(after.batches - before.batches).toBe(1);
    expect(after.writes - before.writes).toBe(50);
    // A group's own writes stay in order: the next save of each group is the next batch.
    await Promise.all(groups.map((g) => g.save({ entries: ents(3, 1, 1) })));
    expect(store.stats().batches - after.batches).toBe(1);
    for (const g of groups) expect(g.lastIndex()).toBe(3);
  });

  it('snapshots, compaction and snapshot files stay per group', async () => {
    const dir = await newDir();
    let store = await openStore(dir);
    const a = await store.group(1);
    const b = await store.group(2);
    await a.save({ hardState: { term: 1, vote: 1, commit: 5 }, entries: ents(1, 5, 1) });
    await b.save({ hardState: { term: 1, vote: 1, commit: 5 }, entries: ents(1, 5, 1) });
    await a.createSnapshot(4, CS, new Uint8Array(100).fill(7)); // a file (threshold 64)
    await a.compact(4);
    await b.createSnapshot(3, CS, new Uint8Array(10).fill(3)); // inline
    expect(await filesEnding(path.join(dir, 'snap', '1'), '.snap')).toHaveLength(1);
    // No snapshot file, no directory: opening thousands of groups costs no file system calls.
    await expect(fs.stat(path.join(dir, 'snap', '2'))).rejects.toThrow(/ENOENT/);
    await closeStore(store);

    // A file left half-written by a crash is removed when its group is opened again.
    await fs.writeFile(path.join(dir, 'snap', '1', 'leftover.snap.tmp'), 'x');
    store = await openStore(dir);
    const a2 = await store.group(1);
    expect(await filesEnding(path.join(dir, 'snap', '1'), '.tmp')).toHaveLength(0);
    // Closed and opened again in the same process, with and without a directory.
    await a2.close();
    await (await store.group(2)).close();
    expect((await store.group(1)).snapshot().metadata.index).toBe(4);
    expect((await store.group(2)).snapshot().metadata.index).toBe(3);
    const b2 = await store.group(2);
    const a3 = await store.group(1);
    expect([a3.firstIndex(), a3.snapshot().metadata.index]).toEqual([5, 4]);
    expect(a3.snapshot().data).toEqual(new Uint8Array(100).fill(7));
    expect([b2.firstIndex(), b2.snapshot().metadata.index]).toEqual([1, 3]);
  });

  it('removeGroup deletes the group’s keys and files, and only those', async () => {
    const dir = await newDir();
    let store = await openStore(dir);
    for (const gid of [1, 2, 3]) {
      const g = await store.group(gid);
      await g.save({ hardState: { term: 1, vote: 1, commit: 3 }, entries: ents(1, 3, 1) });
      await g.createSnapshot(3, CS, new Uint8Array(100));
    }
    const g2 = await store.group(2);
    await expect(store.removeGroup(2)).rejects.toBeInstanceOf(ErrUsage); // still open
    await g2.close();
    await store.removeGroup(2);
    await store.removeGroup(99); // no such group: nothing to do
    expect(store.groupIds()).toEqual([1, 3]);
    await expect(fs.stat(path.join(dir, 'snap', '2'))).rejects.toThrow();
    await closeStore(store);

    expect(await groupKeyCount(dir, 2)).toBe(0);
    expect(await groupKeyCount(dir, 1)).toBeGreaterThan(0);
    store = await openStore(dir);
    expect(store.groupIds()).toEqual([1, 3]);
    expect((await store.group(3)).lastIndex()).toBe(3);
    // The id may be used again: a new, empty group.
    expect((await store.group(2)).lastIndex()).toBe(0);
  });

  it('group() during removeGroup waits for the removal and opens the group afresh', async () => {
    const store = await openStore(await newDir());
    const g = await store.group(4);
    await g.save({ hardState: { term: 2, vote: 1, commit: 3 }, entries: ents(1, 3, 2) });
    await g.close();
    const removal = store.removeGroup(4);
    const again = store.group(4);
    await removal;
    const fresh = await again;
    expect([fresh.lastIndex(), fresh.hardState().term]).toEqual([0, 0]);
    expect(store.groupIds()).toEqual([4]);
  });

  it('refuses bad group ids with ErrUsage and changes nothing', async () => {
    const store = await openStore(await newDir());
    for (const gid of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
      await expect(store.group(gid)).rejects.toBeInstanceOf(ErrUsage);
      await expect(store.removeGroup(gid)).rejects.toBeInstanceOf(ErrUsage);
    }
    expect(store.groupIds()).toEqual([]);
  });

  it('a record moved into another group’s range fails its checksum, naming the group', async () => {
    const dir = await newDir();
    let store = await openStore(dir);
    for (const gid of [1, 2]) {
      const g = await store.group(gid);
      await g.save({ hardState: { term: gid, vote: 1, commit: 1 }, entries: ents(1, 1, gid) });
    }
    await closeStore(store);
    const db = new Level<Uint8Array, Uint8Array>(path.join(dir, 'db'), {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    await db.open();
    await db.put(KeySpace.group(2).hardState, (await db.get(KeySpace.group(1).hardState))!);
    await db.close();
    store = await openStore(dir);
    expect((await store.group(1)).hardState().term).toBe(1);
    const err = await store.group(2).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ErrCorruptRecord);
    expect((err as Error).message).toMatch(/group 2.*checksum/);
  });

  it('the one-log and the many-group formats refuse each other', async () => {
    const storeDir = await newDir();
    await closeStore(await openStore(storeDir));
    const e1 = await LevelStorage.open(storeDir).then(
      async (s) => s.close(),
      (e: unknown) => e,
    );
    expect(e1).toBeInstanceOf(ErrIncompatibleFormat);
    expect([(e1 as ErrIncompatibleFormat).found, (e1 as ErrIncompatibleFormat).expected]).toEqual([
      STORE_FORMAT_VERSION,
      1,
    ]);

    const logDir = await newDir();
    await (await LevelStorage.open(logDir)).close();
    const e2 = await LevelStore.open(logDir).then(
      async (s) => s.close(),
      (e: unknown) => e,
    );
    expect(e2).toBeInstanceOf(ErrIncompatibleFormat);
    expect((e2 as ErrIncompatibleFormat).found).toBe(1);
  });
});
