import * as fs from 'node:fs';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Command } from '../src/kv/command.js';
import { KvSnapshotError } from '../src/kv/errors.js';
import type { KvStateMachine } from '../src/kv/state-machine.js';
import { SNAPSHOT_CHUNK_BYTES } from '../src/kv/snapshot-stream.js';
import {
  applyBatch,
  chunked,
  contentOf,
  exec,
  storesPerTest,
  snapshotBytes,
} from './support/temp-store.js';

const store = storesPerTest();

/** Keys and values are bytes (as byte strings, kv/bytes.ts): any bytes, UTF-8 or not. */
const byteString = (minLength: number, maxLength: number) =>
  fc.uint8Array({ minLength, maxLength }).map((b) => Buffer.from(b).toString('latin1'));

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    op: fc.constant('put' as const),
    key: byteString(1, 6),
    value: byteString(0, 40),
  }),
  fc.record({ op: fc.constant('deletePrefix' as const), prefix: byteString(0, 1) }),
  fc.record({
    op: fc.constant('setMember' as const),
    id: fc.integer({ min: 1, max: 5 }),
    clientUrl: fc.webUrl(),
    peerUrl: fc.string(),
  }),
);

/** A store holding `n` keys with values of varied sizes, one of them larger than a chunk. */
async function populated(n: number): Promise<KvStateMachine> {
  const sm = await store();
  for (let b = 0; b < n; b += 500) {
    const cmds: Command[] = [];
    for (let i = b; i < Math.min(n, b + 500); i++) {
      cmds.push({ op: 'put', key: `key/${i}`, value: `é${i}`.repeat(i % 50) });
    }
    await applyBatch(sm, cmds);
  }
  await exec(sm, { op: 'put', key: 'big', value: 'x'.repeat(300_000) });
  await exec(sm, { op: 'setMember', id: 1, clientUrl: 'http://a', peerUrl: 'a:1' });
  return sm;
}

describe('snapshot and restore', () => {
  it('restore into another store gives the same content, revisions and applied index', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 40 }), async (cmds) => {
        const a = await store();
        const b = await store();
        await exec(b, { op: 'put', key: 'stale', value: 'gone after restore' });
        if (cmds.length > 0) await applyBatch(a, cmds);
        const snap = await snapshotBytes(a);
        await b.restore(chunked(snap, 7));
        expect(b.appliedIndex()).toBe(a.appliedIndex());
        expect(await contentOf(b)).toEqual(await contentOf(a));
        expect((await snapshotBytes(b)).equals(snap)).toBe(true);
        // The history index (not in the stream, rebuilt from the history) too.
        expect((await b.hash()).hash).toBe((await a.hash()).hash);
        // Both go on alike.
        const next: Command = { op: 'put', key: 'after', value: 'x' };
        expect(await exec(b, next)).toEqual(await exec(a, next));
        await store.disposeAll();
      }),
      { numRuns: 25 },
    );
  });

  it('streams a large store in bounded chunks and restores it whatever the chunking', async () => {
    const a = await populated(5000);
    const chunks: number[] = [];
    for await (const c of a.snapshot()) chunks.push(c.length);
    expect(chunks.length).toBeGreaterThan(4);
    // A chunk is cut once it reaches SNAPSHOT_CHUNK_BYTES and holds whole records.
    expect(Math.max(...chunks)).toBeLessThan(SNAPSHOT_CHUNK_BYTES + 310_000);
    const snap = await snapshotBytes(a);
    for (const size of [1 << 20, 65_536, 1000, 3]) {
      const b = await store();
      await b.restore(chunked(snap, size));
      expect(await contentOf(b)).toEqual(await contentOf(a));
      // Every record, the history and its index included (written in a second pass).
      expect((await b.hash()).hash).toBe((await a.hash()).hash);
      expect((await b.get('big')).kv?.value).toHaveLength(300_000);
    }
  });

  it('reflects the point in time it was taken while applies go on', async () => {
    const a = await populated(2000);
    const before = await contentOf(a);
    const applied = a.appliedIndex();
    const source = a.snapshot();
    const it = source[Symbol.asyncIterator]();
    const first = await it.next();
    // Change everything the stream has yet to read, and what it has read.
    await applyBatch(a, [
      { op: 'deletePrefix', prefix: 'key/1' },
      { op: 'put', key: 'key/0', value: 'changed' },
      { op: 'put', key: 'zzz', value: 'new' },
      { op: 'removeMember', id: 1 },
    ]);
    const parts: Uint8Array[] = [first.value as Uint8Array];
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      parts.push(r.value);
    }
    const b = await store();
    await b.restore(chunked(Buffer.concat(parts), 50_000));
    expect(b.appliedIndex()).toBe(applied);
    expect(await contentOf(b)).toEqual(before);
    expect((await a.get('zzz')).kv?.value).toBe('new');
  });

  it('releases its view when closed early, and applies are not held up', async () => {
    const a = await populated(1000);
    const source = a.snapshot();
    const it = source[Symbol.asyncIterator]();
    await it.next();
    source.close();
    await exec(a, { op: 'put', key: 'k', value: 'v' });
    const unread = a.snapshot();
    unread.close(); // never iterated
    expect((await a.get('k')).kv?.value).toBe('v');
  });

  it('a stream still being read keeps the old database open across a restore', async () => {
    const a = await populated(3000);
    const b = await populated(10);
    const fromA = await snapshotBytes(a);
    const source = b.snapshot();
    const bBefore = await contentOf(b);
    await b.restore(chunked(fromA, 10_000));
    const parts: Uint8Array[] = [];
    for await (const c of source) parts.push(c);
    const c = await store();
    await c.restore(chunked(Buffer.concat(parts), 10_000));
    expect(await contentOf(c)).toEqual(bBefore);
    expect(await contentOf(b)).toEqual(await contentOf(a));
    // The old generation is gone once nothing reads it.
    await b.close();
    expect(fs.readdirSync(b.options.dir).sort()).toEqual(['CURRENT', 'g2']);
  });
});

describe('a restore prepared while the stream arrives (prepareRestore)', () => {
  it('leaves the live store serving and applying until install swaps it in', async () => {
    const a = await populated(2000);
    const b = await populated(10);
    const fromA = await snapshotBytes(a);
    const prepared = await b.prepareRestore(chunked(fromA, 50_000));
    expect(prepared.appliedIndex).toBe(a.appliedIndex());
    // The live store still applies meanwhile.
    await exec(b, { op: 'put', key: 'while-prepared', value: 'x' });
    expect((await b.get('while-prepared')).kv?.value).toBe('x');
    await prepared.install();
    expect(b.appliedIndex()).toBe(a.appliedIndex());
    expect(await contentOf(b)).toEqual(await contentOf(a));
    expect((await b.hash()).hash).toBe((await a.hash()).hash);
    await prepared.discard(); // nothing once installed
    expect(await contentOf(b)).toEqual(await contentOf(a));
    await b.close();
    expect(fs.readdirSync(b.options.dir).sort()).toEqual(['CURRENT', 'g2']);
  });

  it('discard removes it and leaves the live store as it was; one at a time', async () => {
    const a = await populated(500);
    const b = await populated(10);
    const before = await contentOf(b);
    const fromA = await snapshotBytes(a);
    const prepared = await b.prepareRestore(chunked(fromA, 7_000));
    const second = await b.prepareRestore(chunked(fromA, 7_000)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(second).toMatchObject({ code: 'KV_STORE_BUSY' });
    await prepared.discard();
    await expect(prepared.install()).rejects.toMatchObject({ code: 'KV_STORE_BUSY' });
    expect(await contentOf(b)).toEqual(before);
    expect(fs.readdirSync(b.options.dir).sort()).toEqual(['CURRENT', 'g1']);
    // Another may be prepared now.
    await (await b.prepareRestore(chunked(fromA, 7_000))).install();
    expect(await contentOf(b)).toEqual(await contentOf(a));
  });

  it('a stream that fails midway rejects it and leaves nothing behind', async () => {
    const a = await populated(500);
    const b = await populated(10);
    const before = await contentOf(b);
    const fromA = await snapshotBytes(a);
    async function* cut(): AsyncGenerator<Uint8Array> {
      yield fromA.subarray(0, fromA.length >> 1);
      throw new Error('connection lost');
    }
    await expect(b.prepareRestore(cut())).rejects.toThrow('connection lost');
    expect(await contentOf(b)).toEqual(before);
    expect(fs.readdirSync(b.options.dir).sort()).toEqual(['CURRENT', 'g1']);
  });
});

describe('a damaged stream is refused and changes nothing', () => {
  async function expectRefused(target: KvStateMachine, stream: Uint8Array, chunk = 97) {
    const before = await contentOf(target);
    const applied = target.appliedIndex();
    const err = await target.restore(chunked(stream, chunk)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KvSnapshotError);
    expect(err).toMatchObject({ code: 'KV_SNAPSHOT_INVALID' });
    expect(target.appliedIndex()).toBe(applied);
    expect(await contentOf(target)).toEqual(before);
    expect(fs.readdirSync(target.options.dir).sort()).toEqual(['CURRENT', 'g1']);
  }

  it('truncated anywhere', async () => {
    const a = await store();
    await applyBatch(a, [
      { op: 'put', key: 'a', value: 'one' },
      { op: 'put', key: 'b', value: 'two' },
      { op: 'setMember', id: 2, clientUrl: 'http://b', peerUrl: 'b:2' },
    ]);
    const snap = await snapshotBytes(a);
    const target = await store();
    await exec(target, { op: 'put', key: 'mine', value: 'kept' });
    for (let cut = 0; cut < snap.length; cut++) {
      await expectRefused(target, snap.subarray(0, cut), 5);
    }
    await expectRefused(target, Buffer.concat([snap, Buffer.of(0)]));
    await expect(target.restore(chunked(Buffer.concat([snap, snap]), 1000))).rejects.toThrow(
      /after the end/,
    );
    // Still works.
    await target.restore(chunked(snap, 5));
    expect((await target.get('b')).kv?.value).toBe('two');
  });

  it('a flipped byte anywhere, or a wrong magic or format', async () => {
    const a = await populated(300);
    const snap = await snapshotBytes(a);
    const target = await store();
    await exec(target, { op: 'put', key: 'mine', value: 'kept' });
    const positions = [0, 4, 5, 6, 100, 5000, snap.length >> 1, snap.length - 5, snap.length - 1];
    for (let i = 0; i < 20; i++) positions.push(Math.floor(Math.random() * snap.length));
    for (const at of positions) {
      const bad = Buffer.from(snap);
      bad[at] = bad[at]! ^ 0x10;
      await expectRefused(target, bad, 4096);
    }
    const otherFormat = Buffer.from(snap);
    otherFormat[4] = 1;
    await expect(target.restore(chunked(otherFormat, 100))).rejects.toThrow(/format 1/);
  });

  it('reads a format 4 stream (keys and values UTF-8 only, otherwise the same)', async () => {
    const a = await populated(50);
    const v4 = Buffer.from(await snapshotBytes(a));
    expect(v4[4]).toBe(5);
    v4[4] = 4;
    v4.writeUInt32BE(crc32(v4.subarray(0, -4)), v4.length - 4);
    const b = await store();
    await b.restore(chunked(v4, 333));
    expect(await contentOf(b)).toEqual(await contentOf(a));
  });

  it('out-of-order keys and revisions above the store revision, even with a good checksum', async () => {
    const { SnapshotEncoder } = await import('../src/kv/snapshot-stream.js');
    const { encodeKvRecord, kvKey } = await import('../src/kv/records.js');
    const build = (keys: string[], mod: number) => {
      const enc = new SnapshotEncoder({ appliedIndex: 9, revision: 5, compactRevision: 0 });
      for (const k of keys) {
        enc.kv(
          kvKey(k),
          encodeKvRecord({ value: 'v', createRevision: 1, modRevision: mod, version: 1, lease: 0 }),
          'test',
        );
      }
      return enc.end();
    };
    const target = await store();
    await expectRefused(target, build(['b', 'a'], 1));
    await expectRefused(target, build(['a', 'a'], 1));
    await expectRefused(target, build(['a'], 6));
    await target.restore(chunked(build(['a', 'b'], 5), 3));
    expect(target.appliedIndex()).toBe(9);
    expect(await contentOf(target)).toMatchObject({ revision: 5, size: 2 });
  });
});
