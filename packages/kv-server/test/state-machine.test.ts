import * as fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, KvCodecError, textToBytes } from '../src/kv/bytes.js';
import { type Command, decodeCommand, encodeCommand } from '../src/kv/command.js';
import { KvApplyOrderError } from '../src/kv/errors.js';
import { KvStateMachine } from '../src/kv/state-machine.js';
import { applyBatch, contentOf, exec, storesPerTest } from './support/temp-store.js';

const key = fc.string({ minLength: 1, maxLength: 8 });
const value = fc.string({ maxLength: 16 });
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant('put' as const), key, value }),
  fc.record({
    op: fc.constant('put' as const),
    key,
    value,
    withoutPrev: fc.constant(true as const),
  }),
  fc.record({ op: fc.constant('delete' as const), key }),
  fc.record({ op: fc.constant('deletePrefix' as const), prefix: fc.string({ maxLength: 2 }) }),
  fc.record(
    {
      op: fc.constant('cas' as const),
      key,
      expectValue: value,
      expectRevision: fc.nat({ max: 20 }),
      value,
    },
    { requiredKeys: ['op', 'key'] },
  ),
  fc.record({
    op: fc.constant('setMember' as const),
    id: fc.integer({ min: 1, max: 9 }),
    clientUrl: fc.webUrl(),
    peerUrl: fc.string(),
  }),
  fc.record({ op: fc.constant('removeMember' as const), id: fc.integer({ min: 1, max: 9 }) }),
);

const store = storesPerTest();

describe('bytes', () => {
  it('round-trips varints up to 2^53 - 1 and strings of any size', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.nat(), fc.maxSafeNat())), fc.string(), (ns, s) => {
        const w = new ByteWriter(1);
        for (const n of ns) w.uvarint(n);
        w.str(s);
        const r = new ByteReader(w.finish());
        for (const n of ns) expect(r.uvarint()).toBe(n);
        expect(r.str()).toBe(Buffer.from(s).toString());
        r.end();
      }),
    );
    const long = 'é'.repeat(70_000);
    const r = new ByteReader(new ByteWriter(4).str(long).str('x').finish());
    expect(r.str()).toBe(long);
    expect(r.str()).toBe('x');
  });

  it('rejects truncated and overlong input', () => {
    expect(() => new ByteReader(new Uint8Array([0x80])).uvarint()).toThrow(KvCodecError);
    expect(() => new ByteReader(new Uint8Array(9).fill(0xff)).uvarint()).toThrow(KvCodecError);
    expect(() => new ByteReader(new Uint8Array([5, 1])).str()).toThrow(KvCodecError);
    expect(() => new ByteReader(new Uint8Array([1, 0xff])).str()).toThrow(KvCodecError);
  });
});

describe('command encoding', () => {
  it('round-trips every command', () => {
    fc.assert(
      fc.property(command, (c) => {
        expect(decodeCommand(encodeCommand(c))).toEqual(c);
      }),
    );
  });

  it('is deterministic: equal commands encode to equal bytes', () => {
    const a = encodeCommand({ op: 'cas', key: 'k', value: 'v', expectRevision: 3 });
    const b = encodeCommand({ expectRevision: 3, value: 'v', key: 'k', op: 'cas' });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it('rejects unknown formats, opcodes, flags and trailing bytes', () => {
    const put = encodeCommand({ op: 'put', key: 'a', value: 'b' });
    expect(() => decodeCommand(new Uint8Array([2, ...put.subarray(1)]))).toThrow(/format/);
    expect(() => decodeCommand(new Uint8Array([1, 99]))).toThrow(/opcode/);
    expect(() => decodeCommand(new Uint8Array([1, 4, 0x80, 1, 0x61]))).toThrow(/flags/);
    expect(() => decodeCommand(new Uint8Array([...put, 0]))).toThrow(/trailing/);
    expect(() => decodeCommand(put.subarray(0, put.length - 1))).toThrow(KvCodecError);
  });
});

describe('commands on the on-disk store', () => {
  it('puts, gets and deletes with etcd-style revisions', async () => {
    const s = await store();
    expect(await exec(s, { op: 'put', key: 'a', value: '1' })).toMatchObject({
      revision: 1,
      kv: { key: 'a', value: '1', createRevision: 1, modRevision: 1, version: 1 },
    });
    await exec(s, { op: 'put', key: 'b', value: '2' });
    expect(await exec(s, { op: 'put', key: 'a', value: '3' })).toMatchObject({
      revision: 3,
      kv: { value: '3', createRevision: 1, modRevision: 3, version: 2 },
      prev: { value: '1', modRevision: 1 },
    });
    expect((await s.get('a')).kv?.value).toBe('3');
    expect(await exec(s, { op: 'delete', key: 'zz' })).toEqual({
      op: 'delete',
      revision: 3,
      deleted: 0,
    });
    expect(await exec(s, { op: 'delete', key: 'a' })).toMatchObject({ revision: 4, deleted: 1 });
    expect(await s.get('a')).toEqual({ revision: 4, kv: undefined });
    // A key created again starts a new life.
    expect(await exec(s, { op: 'put', key: 'a', value: 'x' })).toMatchObject({
      kv: { createRevision: 5, version: 1 },
    });
    expect(s.size).toBe(2);
  });

  it('ranges by prefix in key order, with a limit', async () => {
    const s = await store();
    for (const k of ['b/2', 'a', 'b/1', 'b', 'c', 'b/10', 'b0'])
      await exec(s, { op: 'put', key: k, value: k });
    const keys = async (p: string) => (await s.range(p)).kvs.map((kv) => kv.key);
    expect(await keys('b/')).toEqual(['b/1', 'b/10', 'b/2']);
    expect(await keys('')).toEqual(['a', 'b', 'b/1', 'b/10', 'b/2', 'b0', 'c']);
    expect(await s.range('b', 2)).toMatchObject({
      more: true,
      revision: 7,
      kvs: [{ key: 'b' }, { key: 'b/1' }],
    });
    expect((await s.range('b/', 3)).more).toBe(false);
    expect((await s.range('d')).kvs).toEqual([]);
    expect(await exec(s, { op: 'deletePrefix', prefix: 'b/' })).toMatchObject({
      deleted: 3,
      revision: 8,
    });
    expect(await keys('')).toEqual(['a', 'b', 'b0', 'c']);
    expect(await exec(s, { op: 'deletePrefix', prefix: 'q' })).toMatchObject({
      deleted: 0,
      revision: 8,
    });
    expect(s.size).toBe(4);
  });

  it('orders keys by their bytes, as etcd does: UTF-8 text and bytes that are not', async () => {
    const s = await store();
    // U+FF5E sorts before U+1F600 by code point (UTF-8 bytes), after it by UTF-16 units.
    const text = ['x😀', 'x～', 'xa'].map(textToBytes);
    const binary = ['x\u00ff', 'x\u00ff\u00ff\u0000', 'x\u0080', 'x\u0000'];
    for (const k of [...text, ...binary]) await exec(s, { op: 'put', key: k, value: k });
    const got = (await s.range('x')).kvs;
    // 0x00 < 'a' < 0x80 < U+FF5E's 0xef < U+1F600's 0xf0 < 0xff < 0xff 0xff.
    const want = [binary[3], text[2], binary[2], text[1], text[0], binary[0], binary[1]];
    expect(got.map((kv) => kv.key)).toEqual(want);
    expect(got.map((kv) => kv.value)).toEqual(want);
    // A prefix ending in 0xff: every key under it, none beside it.
    expect((await s.range('x\u00ff')).kvs.map((kv) => kv.key)).toEqual([
      'x\u00ff',
      'x\u00ff\u00ff\u0000',
    ]);
  });

  it('compare-and-swaps on value and/or revision', async () => {
    const s = await store();
    // expectRevision 0: create only if absent.
    expect(await exec(s, { op: 'cas', key: 'k', expectRevision: 0, value: 'v1' })).toMatchObject({
      succeeded: true,
      revision: 1,
    });
    expect(await exec(s, { op: 'cas', key: 'k', expectRevision: 0, value: 'v2' })).toMatchObject({
      succeeded: false,
      revision: 1,
      kv: { value: 'v1' },
    });
    expect(await exec(s, { op: 'cas', key: 'k', expectValue: 'nope', value: 'v2' })).toMatchObject({
      succeeded: false,
    });
    expect(await exec(s, { op: 'cas', key: 'k', expectValue: 'v1', value: 'v2' })).toMatchObject({
      succeeded: true,
      revision: 2,
      kv: { value: 'v2', version: 2 },
    });
    // Both comparisons must hold.
    expect(
      await exec(s, { op: 'cas', key: 'k', expectValue: 'v2', expectRevision: 1, value: 'v3' }),
    ).toMatchObject({ succeeded: false });
    expect(
      await exec(s, { op: 'cas', key: 'k', expectValue: 'v2', expectRevision: 2, value: 'v3' }),
    ).toMatchObject({ succeeded: true, revision: 3 });
    // expectValue on a missing key fails; compare-and-delete.
    expect(await exec(s, { op: 'cas', key: 'x', expectValue: '', value: 'y' })).toMatchObject({
      succeeded: false,
    });
    expect(await exec(s, { op: 'cas', key: 'k', expectRevision: 3 })).toMatchObject({
      succeeded: true,
      revision: 4,
      prev: { value: 'v3' },
    });
    expect((await s.get('k')).kv).toBeUndefined();
    expect(s.revision).toBe(4);
  });

  it("applies a put without prev from the key's cached head, reading no record", async () => {
    const sm = await store({ cacheBytes: 0 }); // heads only
    const blind = (value: string): Command => ({ op: 'put', key: 'k', value, withoutPrev: true });
    expect(await exec(sm, blind('v1'))).toEqual({
      op: 'put',
      revision: 1,
      kv: { key: 'k', value: 'v1', createRevision: 1, modRevision: 1, version: 1 },
    });
    expect(sm.applyReads).toBe(1); // a new key: looked for on disk
    expect(await exec(sm, blind('v2'))).toMatchObject({ kv: { createRevision: 1, version: 2 } });
    expect(await applyBatch(sm, [blind('v3'), blind('v4')])).toMatchObject([
      { kv: { version: 3 } },
      { kv: { version: 4, modRevision: 4 } },
    ]);
    expect(sm.applyReads).toBe(1);
    // A put that wants the previous value reads the record; so does a batch that deletes.
    expect(await exec(sm, { op: 'put', key: 'k', value: 'v5' })).toMatchObject({
      prev: { value: 'v4', version: 4 },
      kv: { version: 5 },
    });
    expect(sm.applyReads).toBe(2);
    expect(await applyBatch(sm, [blind('v6'), { op: 'delete', key: 'k' }])).toMatchObject([
      { kv: { version: 6 } },
      { deleted: 1, prev: { value: 'v6' } },
    ]);
    expect(sm.applyReads).toBe(3);
    // Deleted: no head left, so the next put creates the key anew.
    expect(await exec(sm, blind('v7'))).toMatchObject({ kv: { createRevision: 8, version: 1 } });
    expect(sm.size).toBe(1);
  });

  it('keeps member records beside the keys without counting revisions', async () => {
    const s = await store();
    await exec(s, { op: 'setMember', id: 2, clientUrl: 'http://b', peerUrl: 'b:1' });
    await exec(s, { op: 'setMember', id: 1, clientUrl: 'http://a', peerUrl: 'a:1' });
    expect(s.memberList().map((m) => m.id)).toEqual([1, 2]);
    await exec(s, { op: 'removeMember', id: 2 });
    expect(s.member(2)).toBeUndefined();
    expect(s.revision).toBe(0);
  });

  it('returns one result per entry, undefined for empty entries, invalid for garbage', async () => {
    const sm = await store();
    const res = await sm.apply([
      { index: 1, data: new Uint8Array() },
      { index: 2, data: encodeCommand({ op: 'put', key: 'a', value: 'b' }) },
      { index: 3, data: new Uint8Array([9, 9, 9]) },
    ]);
    expect(res[0]).toBeUndefined();
    expect(res[1]).toMatchObject({ op: 'put', revision: 1 });
    expect(res[2]).toMatchObject({ op: 'invalid' });
    expect(sm.revision).toBe(1);
    expect(sm.appliedIndex()).toBe(3);
  });

  it('refuses entries at or below the applied index, or out of order', async () => {
    const sm = await store();
    await exec(sm, { op: 'put', key: 'a', value: '1' });
    const put = encodeCommand({ op: 'put', key: 'a', value: '2' });
    await expect(sm.apply([{ index: 1, data: put }])).rejects.toBeInstanceOf(KvApplyOrderError);
    await expect(
      sm.apply([
        { index: 3, data: put },
        { index: 2, data: put },
      ]),
    ).rejects.toMatchObject({ code: 'KV_APPLY_ORDER' });
    expect((await sm.get('a')).kv?.value).toBe('1');
  });

  it('entries in one batch see the earlier entries of the same batch', async () => {
    const sm = await store();
    const res = await applyBatch(sm, [
      { op: 'put', key: 'a/1', value: 'x' },
      { op: 'put', key: 'a/1', value: 'y' },
      { op: 'cas', key: 'a/1', expectValue: 'y', value: 'z' },
      { op: 'put', key: 'a/2', value: 'w' },
      { op: 'deletePrefix', prefix: 'a/' },
      { op: 'delete', key: 'a/1' },
      { op: 'put', key: 'a/1', value: 'again' },
    ]);
    expect(res.map((r) => (r !== undefined && 'revision' in r ? r.revision : null))).toEqual([
      1, 2, 3, 4, 5, 5, 6,
    ]);
    expect(res[1]).toMatchObject({ prev: { value: 'x', version: 1 }, kv: { version: 2 } });
    expect(res[2]).toMatchObject({ succeeded: true, kv: { value: 'z', version: 3 } });
    expect(res[4]).toMatchObject({ deleted: 2 });
    expect(res[6]).toMatchObject({ kv: { createRevision: 6, version: 1 } });
    expect(await contentOf(sm)).toMatchObject({
      revision: 6,
      size: 1,
      kvs: [{ key: 'a/1', value: 'again' }],
    });
  });

  it('gives the same results and state whatever the batch boundaries, and ranges agree with a model', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(command, { maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 20 }),
        async (cmds, cuts) => {
          const one = await store();
          // No record cache: puts without prev are applied from heads, the rest from disk.
          const many = await store({ cacheBytes: 0 });
          const single = [];
          for (const c of cmds) single.push(await exec(one, c));
          const batched = [];
          for (let i = 0, j = 0; i < cmds.length; j++) {
            const n = cuts[j % cuts.length]!;
            batched.push(...(await applyBatch(many, cmds.slice(i, i + n))));
            i += n;
          }
          expect(batched).toEqual(single);
          expect(await contentOf(many)).toEqual(await contentOf(one));
          expect(many.appliedIndex()).toBe(cmds.length);
          // A naive model of the key set: the last put since the last removal.
          const model = new Map<string, string>();
          for (const [i, c] of cmds.entries()) {
            const r = single[i];
            if (c.op === 'put') model.set(c.key, c.value);
            else if (c.op === 'delete') model.delete(c.key);
            else if (c.op === 'deletePrefix') {
              for (const k of [...model.keys()]) if (k.startsWith(c.prefix)) model.delete(k);
            } else if (c.op === 'cas' && r?.op === 'cas' && r.succeeded) {
              if (c.value === undefined) model.delete(c.key);
              else model.set(c.key, c.value);
            }
          }
          const want = [...model.entries()].sort(([a], [b]) =>
            Buffer.compare(Buffer.from(a), Buffer.from(b)),
          );
          const { kvs } = await contentOf(one);
          expect(kvs.map((kv) => [kv.key, kv.value])).toEqual(want);
          expect(one.size).toBe(model.size);
          await store.disposeAll();
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('prefix deletes among other writes of the same batch', () => {
  // Keys and prefixes over a two-letter alphabet, so prefixes overlap each other and the keys
  // put before and after them in the same batch.
  const small = fc.stringMatching(/^[ab]{1,3}$/);
  const cmd: fc.Arbitrary<Command> = fc.oneof(
    fc.record({ op: fc.constant('put' as const), key: small, value: fc.string({ maxLength: 3 }) }),
    fc.record({ op: fc.constant('delete' as const), key: small }),
    fc.record({
      op: fc.constant('deletePrefix' as const),
      prefix: fc.stringMatching(/^[ab]{0,2}$/),
    }),
    fc.record({ op: fc.constant('cas' as const), key: small, expectRevision: fc.nat({ max: 6 }) }),
  );
  const allKeys = ['a', 'b', 'aa', 'ab', 'ba', 'bb'].flatMap((k) => [k, `${k}a`, `${k}b`]);

  it('give the results, state, cache and key count of one entry per batch', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(cmd, { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }),
        async (cmds, cuts) => {
          const one = await store();
          const many = await store();
          const single = [];
          for (const c of cmds) single.push(await exec(one, c));
          const batched = [];
          for (let i = 0, j = 0; i < cmds.length; j++) {
            const n = cuts[j % cuts.length]!;
            batched.push(...(await applyBatch(many, cmds.slice(i, i + n))));
            i += n;
          }
          expect(batched).toEqual(single);
          const want = await contentOf(one);
          expect(await contentOf(many)).toEqual(want);
          expect(many.size).toBe(want.kvs.length);
          // Point reads (served by the cache where it holds the key) agree with the scan.
          for (const k of allKeys) {
            expect((await many.get(k)).kv).toEqual(want.kvs.find((kv) => kv.key === k));
          }
          await store.disposeAll();
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe('durability', () => {
  it('reopens with the applied index and the data', async () => {
    const sm = await store();
    await applyBatch(sm, [
      { op: 'put', key: 'a', value: '1' },
      { op: 'setMember', id: 3, clientUrl: 'http://c', peerUrl: 'c:1' },
      { op: 'put', key: 'b', value: '2' },
    ]);
    await exec(sm, { op: 'delete', key: 'a' });
    await sm.sync();
    const before = await contentOf(sm);
    await sm.close();
    const again = new KvStateMachine({ dir: sm.options.dir });
    store.track(again);
    expect(await again.open()).toBe(4);
    expect(again.appliedIndex()).toBe(4);
    expect(await contentOf(again)).toEqual(before);
    expect(await exec(again, { op: 'put', key: 'a', value: '3' })).toMatchObject({
      revision: 4,
      kv: { createRevision: 4 },
    });
  });

  it('opens a store of layout 2 (text keys only, the same records) and refuses unknown layouts', async () => {
    const sm = await store();
    await exec(sm, { op: 'put', key: 'a', value: '1' });
    await sm.close();
    const { Level } = await import('level');
    const dir = `${sm.options.dir}/${fs.readFileSync(`${sm.options.dir}/CURRENT`, 'utf8').trim()}`;
    const setLayout = async (v: number) => {
      const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      const meta = (await db.get(Buffer.from('!')))!;
      meta[0] = v;
      await db.put(Buffer.from('!'), meta);
      await db.close();
    };
    await setLayout(2);
    await sm.open();
    expect((await sm.get('a')).kv?.value).toBe('1');
    await exec(sm, { op: 'put', key: 'b\u00ff', value: '\u0080' });
    await sm.close();
    await setLayout(9);
    await expect(sm.open()).rejects.toThrow('layout version 9; this version reads 2 and 3');
  });

  it('a fresh store is at index 0; a second open of the same directory is refused', async () => {
    const sm = await store();
    expect(sm.appliedIndex()).toBe(0);
    expect(await contentOf(sm)).toEqual({ revision: 0, size: 0, kvs: [], members: [] });
    const other = new KvStateMachine({ dir: sm.options.dir });
    await expect(other.open()).rejects.toMatchObject({ code: 'KV_STORE_LOCKED' });
  });

  it('refuses use before open and after close', async () => {
    const sm = new KvStateMachine({ dir: '/nonexistent/never' });
    await expect(exec(sm, { op: 'put', key: 'a', value: '' })).rejects.toMatchObject({
      code: 'KV_STORE_NOT_OPEN',
    });
    expect(() => sm.snapshot()).toThrow(/not open/);
  });

  it('a read reports the revision of the state it read, also while batches are written', async () => {
    // Only key "a" ever changes, so in any consistent state revision === a.modRevision.
    const sm = await store({ cacheBytes: 0 }); // every read goes to LevelDB
    const reads: Promise<void>[] = [];
    const check = () => {
      reads.push(
        sm.get('a').then(({ revision, kv }) => {
          expect(kv?.modRevision ?? 0).toBe(revision);
        }),
        sm.range('').then(({ revision, kvs }) => {
          expect(kvs[0]?.modRevision ?? 0).toBe(revision);
        }),
      );
    };
    for (let i = 0; i < 300; i++) {
      const applying = exec(sm, { op: 'put', key: 'a', value: String(i) });
      check(); // before the write starts
      await Promise.resolve();
      check(); // while it may be in flight
      setImmediate(check);
      await applying;
    }
    await Promise.all(reads);
    expect(reads.length).toBeGreaterThan(1000);
  });

  it('answers a batch before it lands; every read, snapshot and reopen after the answer has it', async () => {
    const sm = await store();
    await exec(sm, { op: 'put', key: 'a', value: 'old' }); // cached
    const [put] = await applyBatch(sm, [
      { op: 'put', key: 'a', value: 'new' },
      { op: 'put', key: 'b', value: 'b' },
    ]);
    expect(put).toMatchObject({ revision: 2 });
    // Asked before the write may have landed: they wait for it.
    expect(sm.appliedIndex()).toBe(3);
    expect(sm.revision).toBe(3);
    expect(sm.size).toBe(2);
    const source = sm.snapshot();
    const [a, range, content] = await Promise.all([sm.get('a'), sm.range(''), contentOf(sm)]);
    expect(a).toMatchObject({ revision: 3, kv: { value: 'new', modRevision: 2 } });
    expect(range.kvs.map((kv) => kv.value)).toEqual(['new', 'b']);
    expect(content.revision).toBe(3);
    const copy = await store();
    await copy.restore(source);
    expect(await contentOf(copy)).toEqual(await contentOf(sm));
    expect(copy.appliedIndex()).toBe(3);
    // The next batch starts from it, and close() waits for the last one.
    await exec(sm, { op: 'put', key: 'a', value: 'newer' });
    await sm.close();
    const again = new KvStateMachine({ dir: sm.options.dir });
    expect(await again.open()).toBe(4);
    expect((await again.get('a')).kv).toMatchObject({ value: 'newer', version: 3 });
    await again.close();
  });

  it('serves reads from the cache and from disk alike, within a small cache', async () => {
    const sm = await store({ cacheBytes: 4096 });
    const cmds: Command[] = [];
    for (let i = 0; i < 500; i++) cmds.push({ op: 'put', key: `k${i}`, value: `v${i}`.repeat(10) });
    await applyBatch(sm, cmds);
    for (const i of [0, 1, 250, 499, 498]) {
      expect((await sm.get(`k${i}`)).kv).toMatchObject({ value: `v${i}`.repeat(10), version: 1 });
    }
    expect((await sm.range('k4', 1000)).kvs).toHaveLength(111);
  });
});
