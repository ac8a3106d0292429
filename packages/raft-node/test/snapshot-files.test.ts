// Snapshot files: written from a stream (packed into checksummed records), read back as one;
// a flipped byte, a truncation or a missing end record is refused with ErrSnapshotFile.
import { readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrSnapshotFile, readAll, snapshotOf } from '../src/index.js';
import { RECORD_BYTES, SnapshotFiles } from '../src/snapshot-files.js';
import { tempDir } from './helpers.js';

let dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  dirs = [];
});

async function files(): Promise<SnapshotFiles> {
  const dir = await tempDir();
  dirs.push(dir);
  const f = new SnapshotFiles(`${dir}/sm-snap`);
  await f.init();
  return f;
}

/** `n` bytes of a pattern, handed out in uneven chunks. */
function* chunks(n: number): Generator<Uint8Array> {
  let off = 0;
  let i = 0;
  while (off < n) {
    const len = Math.min(n - off, [1, 1000, 70_000, 300_000][i++ % 4]!);
    const c = new Uint8Array(len);
    for (let j = 0; j < len; j++) c[j] = (off + j) % 251;
    yield c;
    off += len;
  }
}

const source = (n: number) => ({
  async *[Symbol.asyncIterator]() {
    yield* chunks(n);
  },
});

describe('SnapshotFiles', () => {
  it('round-trips a stream of uneven chunks through records of at most RECORD_BYTES', async () => {
    const f = await files();
    const n = 3 * RECORD_BYTES + 12_345;
    expect(await f.write(7, source(n))).toBe(n);
    const parts: number[] = [];
    for await (const c of f.read(7)) parts.push(c.length);
    expect(Math.max(...parts)).toBeLessThanOrEqual(RECORD_BYTES);
    const all = await readAll(f.read(7));
    expect(all.length).toBe(n);
    expect(all.every((b, i) => b === i % 251)).toBe(true);
    expect(await f.list()).toEqual([7]);
  });

  it('an empty state is a valid file', async () => {
    const f = await files();
    await f.write(3, snapshotOf(new Uint8Array(0)));
    expect((await readAll(f.read(3))).length).toBe(0);
  });

  it('refuses a flipped byte, a truncation, trailing bytes and a missing file', async () => {
    const f = await files();
    await f.write(1, source(100_000));
    const good = await readFile(f.path(1));
    const expectRefused = async (why: RegExp) => {
      const err = await readAll(f.read(1)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ErrSnapshotFile);
      expect((err as Error).message).toMatch(why);
    };
    const flipped = Buffer.from(good);
    flipped[5000]! ^= 0x01;
    await writeFile(f.path(1), flipped);
    await expectRefused(/fails its checksum/);
    await writeFile(f.path(1), good);
    await truncate(f.path(1), good.length - 16);
    await expectRefused(/truncated/);
    await writeFile(f.path(1), Buffer.concat([good, Buffer.from([0])]));
    await expectRefused(/end record/);
    await expectRefused(/end record/);
    await f.remove(1);
    await expectRefused(/cannot be opened/);
  });

  it('an aborted or failed write leaves no file; init removes temp files of a crash', async () => {
    const f = await files();
    const failing = {
      async *[Symbol.asyncIterator]() {
        yield new Uint8Array(RECORD_BYTES * 2);
        throw new Error('view lost');
      },
    };
    await expect(f.write(5, failing)).rejects.toThrow('view lost');
    const sink = f.sink(6);
    await sink.write(new Uint8Array(RECORD_BYTES + 1));
    sink.abort();
    // abort cleans up in the background: wait for the temp file to go.
    for (let i = 0; i < 1000 && (await readdir(f.dir)).length > 0; i++) {
      await new Promise((r) => setImmediate(r));
    }
    expect(await readdir(f.dir)).toEqual([]);
    await writeFile(`${f.dir}/0000000000000009.snap.abcd.tmp`, 'x');
    await f.init();
    expect(await readdir(f.dir)).toEqual([]);
  });

  it('removeBelow keeps the newest', async () => {
    const f = await files();
    for (const i of [3, 9, 12]) await f.write(i, source(10));
    await f.removeBelow(12);
    expect(await f.list()).toEqual([12]);
  });
});
