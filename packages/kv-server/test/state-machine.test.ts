import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, KvCodecError } from '../src/kv/bytes.js';
import { type Command, decodeCommand, encodeCommand } from '../src/kv/command.js';
import { decodeSnapshot, encodeSnapshot, encodeSnapshotAsync } from '../src/kv/snapshot.js';
import { KvStateMachine } from '../src/kv/state-machine.js';
import { KvStore } from '../src/kv/store.js';

const key = fc.string({ minLength: 1, maxLength: 8 });
const value = fc.string({ maxLength: 16 });
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant('put' as const), key, value }),
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

function run(cmds: Command[]): KvStateMachine {
  const sm = new KvStateMachine();
  sm.apply(cmds.map((c, i) => ({ index: i + 1, data: encodeCommand(c) })));
  return sm;
}

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

describe('KvStore', () => {
  it('puts, gets and deletes with etcd-style revisions', () => {
    const s = new KvStore();
    expect(s.apply({ op: 'put', key: 'a', value: '1' })).toMatchObject({
      revision: 1,
      kv: { key: 'a', value: '1', createRevision: 1, modRevision: 1, version: 1 },
    });
    s.apply({ op: 'put', key: 'b', value: '2' });
    const r = s.apply({ op: 'put', key: 'a', value: '3' });
    expect(r).toMatchObject({
      revision: 3,
      kv: { value: '3', createRevision: 1, modRevision: 3, version: 2 },
      prev: { value: '1', modRevision: 1 },
    });
    expect(s.get('a')?.value).toBe('3');
    expect(s.apply({ op: 'delete', key: 'zz' })).toEqual({ op: 'delete', revision: 3, deleted: 0 });
    expect(s.apply({ op: 'delete', key: 'a' })).toMatchObject({ revision: 4, deleted: 1 });
    expect(s.get('a')).toBeUndefined();
    // A key created again starts a new life.
    expect(s.apply({ op: 'put', key: 'a', value: 'x' })).toMatchObject({
      kv: { createRevision: 5, version: 1 },
    });
  });

  it('ranges by prefix in key order, with a limit', () => {
    const s = new KvStore();
    for (const k of ['b/2', 'a', 'b/1', 'b', 'c', 'b/10', 'b0'])
      s.apply({ op: 'put', key: k, value: k });
    expect(s.range('b/').kvs.map((kv) => kv.key)).toEqual(['b/1', 'b/10', 'b/2']);
    expect(s.range('').kvs.map((kv) => kv.key)).toEqual([
      'a',
      'b',
      'b/1',
      'b/10',
      'b/2',
      'b0',
      'c',
    ]);
    expect(s.range('b', 2)).toMatchObject({ more: true, kvs: [{ key: 'b' }, { key: 'b/1' }] });
    expect(s.range('b/', 3).more).toBe(false);
    expect(s.range('d').kvs).toEqual([]);
    expect(s.apply({ op: 'deletePrefix', prefix: 'b/' })).toMatchObject({
      deleted: 3,
      revision: 8,
    });
    expect(s.range('').kvs.map((kv) => kv.key)).toEqual(['a', 'b', 'b0', 'c']);
    expect(s.apply({ op: 'deletePrefix', prefix: 'q' })).toMatchObject({ deleted: 0, revision: 8 });
  });

  it('compare-and-swaps on value and/or revision', () => {
    const s = new KvStore();
    // expectRevision 0: create only if absent.
    expect(s.apply({ op: 'cas', key: 'k', expectRevision: 0, value: 'v1' })).toMatchObject({
      succeeded: true,
      revision: 1,
    });
    expect(s.apply({ op: 'cas', key: 'k', expectRevision: 0, value: 'v2' })).toMatchObject({
      succeeded: false,
      revision: 1,
      kv: { value: 'v1' },
    });
    expect(s.apply({ op: 'cas', key: 'k', expectValue: 'nope', value: 'v2' })).toMatchObject({
      succeeded: false,
    });
    expect(s.apply({ op: 'cas', key: 'k', expectValue: 'v1', value: 'v2' })).toMatchObject({
      succeeded: true,
      revision: 2,
      kv: { value: 'v2', version: 2 },
    });
    // Both comparisons must hold.
    expect(
      s.apply({ op: 'cas', key: 'k', expectValue: 'v2', expectRevision: 1, value: 'v3' }),
    ).toMatchObject({ succeeded: false });
    expect(
      s.apply({ op: 'cas', key: 'k', expectValue: 'v2', expectRevision: 2, value: 'v3' }),
    ).toMatchObject({ succeeded: true, revision: 3 });
    // expectValue on a missing key fails; compare-and-delete.
    expect(s.apply({ op: 'cas', key: 'x', expectValue: '', value: 'y' })).toMatchObject({
      succeeded: false,
    });
    expect(s.apply({ op: 'cas', key: 'k', expectRevision: 3 })).toMatchObject({
      succeeded: true,
      revision: 4,
      prev: { value: 'v3' },
    });
    expect(s.get('k')).toBeUndefined();
    expect(s.revision).toBe(4);
  });

  it('keeps member records beside the keys without counting revisions', () => {
    const s = new KvStore();
    s.apply({ op: 'setMember', id: 2, clientUrl: 'http://b', peerUrl: 'b:1' });
    s.apply({ op: 'setMember', id: 1, clientUrl: 'http://a', peerUrl: 'a:1' });
    expect(s.memberList().map((m) => m.id)).toEqual([1, 2]);
    s.apply({ op: 'removeMember', id: 2 });
    expect(s.member(2)).toBeUndefined();
    expect(s.revision).toBe(0);
  });
});

describe('KvStateMachine', () => {
  it('returns one result per entry, undefined for empty entries, invalid for garbage', () => {
    const sm = new KvStateMachine();
    const res = sm.apply([
      { index: 1, data: new Uint8Array() },
      { index: 2, data: encodeCommand({ op: 'put', key: 'a', value: 'b' }) },
      { index: 3, data: new Uint8Array([9, 9, 9]) },
    ]);
    expect(res[0]).toBeUndefined();
    expect(res[1]).toMatchObject({ op: 'put', revision: 1 });
    expect(res[2]).toMatchObject({ op: 'invalid' });
    expect(sm.store.revision).toBe(1);
  });

  it('snapshot and restore round-trip the whole store, deterministically', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), (cmds) => {
        const a = run(cmds);
        const snap = a.snapshotSync();
        const b = new KvStateMachine();
        b.restore(snap);
        expect([...b.store.entries()]).toEqual([...a.store.entries()]);
        expect(b.store.revision).toBe(a.store.revision);
        expect(b.store.memberList()).toEqual(a.store.memberList());
        expect(Buffer.from(b.snapshotSync()).equals(Buffer.from(snap))).toBe(true);
        // Replicas applying the same commands hold the same bytes.
        expect(Buffer.from(run(cmds).snapshotSync()).equals(Buffer.from(snap))).toBe(true);
        // The restored store keeps working like the original.
        const next: Command = { op: 'put', key: 'zz', value: 'after' };
        a.apply([{ index: 0, data: encodeCommand(next) }]);
        b.apply([{ index: 0, data: encodeCommand(next) }]);
        expect(Buffer.from(b.snapshotSync()).equals(Buffer.from(a.snapshotSync()))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('ranges agree with a naive model under any interleaving of writes and ranges', () => {
    const step = fc.oneof(
      command,
      fc.record({ op: fc.constant('range' as const), prefix: fc.string({ maxLength: 2 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        const s = new KvStore();
        const model = new Map<string, string>();
        for (const st of steps) {
          if (st.op === 'range') {
            const want = [...model.keys()].filter((k) => k.startsWith(st.prefix)).sort();
            expect(s.range(st.prefix).kvs.map((kv) => kv.key)).toEqual(want);
            continue;
          }
          s.apply(st);
          // Mirror the store's effect on the key set.
          model.clear();
          for (const kv of s.entries()) model.set(kv.key, kv.value);
        }
        let chars = 0;
        for (const [k, v] of model) chars += k.length + v.length;
        expect(s.contentChars).toBe(chars);
      }),
      { numRuns: 300 },
    );
  });

  it('encodes the same bytes in chunks, yielding in between', async () => {
    const s = new KvStore();
    for (let i = 0; i < 1000; i++)
      s.apply({ op: 'put', key: `k${(i * 37) % 1000}`, value: `v${i}é` });
    s.apply({ op: 'setMember', id: 1, clientUrl: 'http://a', peerUrl: 'a:1' });
    const sync = Buffer.from(encodeSnapshot(s));
    for (const chunk of [1, 7, 999, 1000, 5000]) {
      expect(Buffer.from(await encodeSnapshotAsync(s, chunk)).equals(sync)).toBe(true);
    }
    const sm = new KvStateMachine();
    sm.restore(sync);
    expect(Buffer.from(await sm.snapshot()).equals(sync)).toBe(true);
  });

  it('restore replaces what was there; an empty snapshot empties the store', () => {
    const sm = run([{ op: 'put', key: 'old', value: '1' }]);
    sm.restore(run([{ op: 'put', key: 'new', value: '2' }]).snapshotSync());
    expect(sm.store.get('old')).toBeUndefined();
    expect(sm.store.get('new')?.value).toBe('2');
    sm.restore(new Uint8Array());
    expect(sm.store.size).toBe(0);
  });

  it('rejects damaged snapshots', () => {
    const snap = run([
      { op: 'put', key: 'a', value: '1' },
      { op: 'put', key: 'b', value: '2' },
    ]).snapshotSync();
    expect(() => decodeSnapshot(snap.subarray(0, snap.length - 2))).toThrow(KvCodecError);
    const bad = snap.slice();
    bad[0] = 0;
    expect(() => decodeSnapshot(bad)).toThrow(/magic/);
    expect(() => decodeSnapshot(new Uint8Array([...snap, 1]))).toThrow(/trailing/);
    // Unsorted keys.
    const s = new KvStore();
    s.apply({ op: 'put', key: 'b', value: '' });
    s.apply({ op: 'put', key: 'a', value: '' });
    const swapped = encodeSnapshot(s);
    expect(decodeSnapshot(swapped).kvs.map((k) => k.key)).toEqual(['a', 'b']);
  });
});
