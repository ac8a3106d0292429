// Damaged files: bytes flipped in LevelDB's tables (.ldb) and write-ahead log (.log), in its
// manifest, and in snapshot files. Opening or reading must report a typed error; a damaged
// byte is never returned as data. The sweeps flip seeded random positions and accept only two
// outcomes: a StorageCorruptionError, or a store that reads exactly as before.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { newConfState, newEntry } from '@tsraft/raft-core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ErrCorruptDatabase,
  ErrCorruptRecord,
  ErrCorruptSnapshot,
  LevelStorage,
  StorageCorruptionError,
} from '../src/index.js';
import { rng } from './fixtures/crash-model.js';
import { filesEnding, tempDir } from './helpers.js';

const SEED = Number(process.env.CORRUPTION_SEED ?? 20240611);
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

async function newDir(): Promise<string> {
  const d = await tempDir('tsraft-corrupt-');
  dirs.push(d);
  return d;
}

/** Seeded random (incompressible) payloads, so each one is findable in the files. */
function payloads(n: number, size: number): Uint8Array[] {
  const r = rng(SEED);
  return Array.from({ length: n }, () =>
    Uint8Array.from({ length: size }, () => Math.floor(r() * 256)),
  );
}

const N = 400;
const DATA = payloads(N, 200);

/** A store holding entries 1..N (one save each, all committed). */
async function build(dir: string): Promise<void> {
  const s = await LevelStorage.open(dir);
  for (let i = 1; i <= N; i++) {
    await s.save({
      entries: [newEntry({ index: i, term: 1, data: DATA[i - 1]! })],
      hardState: { term: 1, vote: 1, commit: i },
    });
  }
  await s.close();
}

/** Opens and reads everything; returns the error, or null if all reads as built. */
async function check(dir: string): Promise<unknown> {
  let s: LevelStorage;
  try {
    s = await LevelStorage.open(dir);
  } catch (err) {
    return err;
  }
  try {
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(N);
    const ents = s.entries(1, N + 1, Number.POSITIVE_INFINITY);
    for (const e of ents) expect(e.data).toEqual(DATA[e.index - 1]);
    return null;
  } finally {
    await s.close();
  }
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(Buffer.from(needle));
}

async function flip(file: string, at: number, mask = 0x01): Promise<void> {
  const b = await fs.readFile(file);
  b[at]! ^= mask;
  await fs.writeFile(file, b);
}

async function onlyFile(dir: string, suffix: string): Promise<string> {
  const files = await filesEnding(dir, suffix);
  // The largest file of the kind is the one holding the data.
  const sizes = await Promise.all(files.map(async (f) => (await fs.stat(f)).size));
  return files[sizes.indexOf(Math.max(...sizes))]!;
}

/** Flips seeded random bytes of `file` (relative to `dir`) in [lo, hi) of copies of `dir`. */
async function sweep(pristine: string, rel: string, lo: number, hi: number, count: number) {
  const r = rng(SEED + lo + hi);
  const outcomes: Record<string, number> = {};
  for (let k = 0; k < count; k++) {
    const copy = await newDir();
    await fs.cp(pristine, copy, { recursive: true });
    const at = lo + Math.floor(r() * (hi - lo));
    await flip(path.join(copy, rel), at, 1 + Math.floor(r() * 255));
    const err = await check(copy);
    if (err !== null && !(err instanceof StorageCorruptionError)) {
      throw new Error(`flip at ${at} of ${rel} gave an untyped error (seed ${SEED})`, {
        cause: err,
      });
    }
    const key = err === null ? 'read as before' : (err as StorageCorruptionError).code;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    await fs.rm(copy, { recursive: true, force: true });
  }
  return outcomes;
}

describe('corruption', () => {
  describe('in LevelDB tables (.ldb)', () => {
    let pristine = '';
    let ldb = '';
    it('setup: entries compacted into a table', async () => {
      pristine = await newDir();
      await build(pristine);
      // Reopening replays the .log into a level-0 table.
      await (await LevelStorage.open(pristine)).close();
      ldb = await onlyFile(path.join(pristine, 'db'), '.ldb');
      expect(await check(pristine)).toBeNull();
    });

    it('a flipped byte in an entry payload is ErrCorruptRecord naming the index and path', async () => {
      const dir = await newDir();
      await fs.cp(pristine, dir, { recursive: true });
      const file = path.join(dir, 'db', path.basename(ldb));
      const at = indexOf(await fs.readFile(file), DATA[149]!);
      expect(at).toBeGreaterThan(0);
      await flip(file, at + 100);
      const err = (await check(dir)) as ErrCorruptRecord;
      expect(err).toBeInstanceOf(ErrCorruptRecord);
      expect(err.code).toBe('RAFT_STORAGE_CORRUPT_RECORD');
      expect(err.index).toBe(150);
      expect(err.path).toBe(path.join(dir, 'db'));
    });

    it('flips anywhere in the table: a typed error or the data unchanged, never wrong data', async () => {
      const size = (await fs.stat(ldb)).size;
      const outcomes = await sweep(pristine, path.join('db', path.basename(ldb)), 0, size, 25);
      console.info('.ldb sweep', outcomes);
      expect(Object.keys(outcomes).some((k) => k.startsWith('RAFT_STORAGE_'))).toBe(true);
    });
  });

  describe("in LevelDB's write-ahead log (.log)", () => {
    let pristine = '';
    let log = '';
    it('setup: entries still in the log', async () => {
      pristine = await newDir();
      await build(pristine);
      log = await onlyFile(path.join(pristine, 'db'), '.log');
      expect((await fs.stat(log)).size).toBeGreaterThan(3 * 32768);
      // Checked on a copy: opening replays the log into a table and removes it.
      const copy = await newDir();
      await fs.cp(pristine, copy, { recursive: true });
      expect(await check(copy)).toBeNull();
    });

    it('a flipped byte makes LevelDB drop records, which is reported, not skipped', async () => {
      const dir = await newDir();
      await fs.cp(pristine, dir, { recursive: true });
      const file = path.join(dir, 'db', path.basename(log));
      const at = indexOf(await fs.readFile(file), DATA[19]!);
      expect(at).toBeGreaterThan(0);
      await flip(file, at + 50);
      const err = await check(dir);
      expect(err).toBeInstanceOf(StorageCorruptionError);
      expect((err as StorageCorruptionError).path).toBe(path.join(dir, 'db'));
    });

    it('flips before its last block: a typed error or the data unchanged', async () => {
      // LevelDB (without paranoid checks) drops a damaged record and the rest of its 32 KiB
      // block; in the last block that is indistinguishable from a torn write (README).
      const size = (await fs.stat(log)).size;
      const lastBlock = Math.floor((size - 1) / 32768) * 32768;
      const outcomes = await sweep(pristine, path.join('db', path.basename(log)), 0, lastBlock, 25);
      console.info('.log sweep', outcomes);
      expect(outcomes['read as before'] ?? 0).toBeLessThan(25);
    });
  });

  it("a damaged manifest is ErrCorruptDatabase (LevelDB's own report)", async () => {
    const dir = await newDir();
    await build(dir);
    const manifest = (await fs.readdir(path.join(dir, 'db'))).find((n) =>
      n.startsWith('MANIFEST-'),
    )!;
    const file = path.join(dir, 'db', manifest);
    await flip(file, 10, 0xff);
    const err = await check(dir);
    expect(err).toBeInstanceOf(ErrCorruptDatabase);
    expect((err as ErrCorruptDatabase).code).toBe('RAFT_STORAGE_CORRUPT_DATABASE');
  });

  describe('in snapshot files', () => {
    const CS = newConfState({ voters: [1] });
    const data = payloads(1, 10_000)[0]!;

    async function withSnapshotFile(): Promise<{ dir: string; file: string }> {
      const dir = await newDir();
      const s = await LevelStorage.open(dir, { snapshotFileThreshold: 100 });
      await s.save({ entries: [newEntry({ index: 1, term: 1 }), newEntry({ index: 2, term: 1 })] });
      await s.createSnapshot(2, CS, data);
      await s.close();
      const [file] = await filesEnding(path.join(dir, 'snap'), '.snap');
      return { dir, file: file! };
    }

    async function expectRefused(dir: string, file: string): Promise<void> {
      const err = (await LevelStorage.open(dir).catch((e: unknown) => e)) as ErrCorruptSnapshot;
      expect(err).toBeInstanceOf(ErrCorruptSnapshot);
      expect(err.code).toBe('RAFT_STORAGE_CORRUPT_SNAPSHOT');
      expect(err.index).toBe(2);
      expect(err.path).toBe(file);
    }

    it('reads back intact', async () => {
      const { dir } = await withSnapshotFile();
      const s = await LevelStorage.open(dir);
      expect(s.snapshot().data).toEqual(data);
      await s.close();
    });

    for (const [what, damage] of [
      ['a flipped data byte', (f: string) => flip(f, 5000)],
      ['a flipped header byte', (f: string) => flip(f, 9)],
      ['a flipped metadata byte', (f: string) => flip(f, 26)],
      ['truncation', (f: string) => fs.truncate(f, 8000)],
      ['deletion', (f: string) => fs.rm(f)],
    ] as const) {
      it(`refuses one with ${what} at open`, async () => {
        const { dir, file } = await withSnapshotFile();
        await damage(file);
        await expectRefused(dir, file);
      });
    }

    it('refuses one damaged while open, when it is read', async () => {
      const { dir, file } = await withSnapshotFile();
      const s = await LevelStorage.open(dir);
      try {
        await flip(file, 7000);
        expect(() => s.snapshot()).toThrow(ErrCorruptSnapshot);
        expect(s.snapshot.bind(s)).toThrow(/checksum mismatch/);
      } finally {
        await s.close();
      }
    });
  });
});
