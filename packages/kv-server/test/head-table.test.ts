import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HeadTable, KEY_BYTES, SLOT_BYTES } from '../src/kv/head-table.js';
import type { KvHead } from '../src/kv/kv-cache.js';

const head = (n: number): KvHead => ({
  createRevision: n,
  modRevision: n + 2 ** 40,
  version: n % 7,
  lease: n * 3,
});

describe('HeadTable', () => {
  it('holds, replaces and forgets heads; keys over KEY_BYTES are not held', () => {
    const t = new HeadTable(1 << 20);
    t.set('a', head(1));
    t.set('\u00ff\u0000b', head(2)); // byte strings: any byte, NUL included
    expect([t.get('a'), t.get('\u00ff\u0000b'), t.get('b')]).toEqual([head(1), head(2), undefined]);
    t.set('a', head(3));
    expect(t.get('a')).toEqual(head(3));
    t.delete('a');
    expect(t.get('a')).toBeUndefined();
    const long = 'k'.repeat(KEY_BYTES + 1);
    t.set(long, head(4));
    t.set('k'.repeat(KEY_BYTES), head(5));
    expect([t.get(long), t.get('k'.repeat(KEY_BYTES))]).toEqual([undefined, head(5)]);
    t.clear();
    expect(t.get('\u00ff\u0000b')).toBeUndefined();
    // Too small for one bucket: holds nothing.
    const none = new HeadTable(SLOT_BYTES);
    none.set('a', head(1));
    expect(none.get('a')).toBeUndefined();
  });

  it('evicts the least recently used head of a full bucket, never answers a wrong one', () => {
    const t = new HeadTable(SLOT_BYTES * 8); // one bucket of 8
    for (let i = 0; i < 8; i++) t.set(`k${i}`, head(i));
    expect(t.get('k0')).toEqual(head(0)); // k1 is now the least recently used
    t.set('k8', head(8));
    expect(t.get('k1')).toBeUndefined();
    for (const i of [0, 2, 3, 4, 5, 6, 7, 8]) expect(t.get(`k${i}`)).toEqual(head(i));
  });

  it('starts small, grows with the keys up to its bound, and shrinks when cleared', () => {
    const t = new HeadTable(1 << 20);
    const first = t.bytes;
    expect(first).toBeLessThanOrEqual(64 * 8 * SLOT_BYTES);
    for (let i = 0; i < 10_000; i++) t.set(`key/${i}`, head(i));
    expect(t.bytes).toBeGreaterThan(first);
    expect(t.bytes).toBeLessThanOrEqual(1 << 20);
    let held = 0;
    for (let i = 0; i < 10_000; i++) {
      const h = t.get(`key/${i}`);
      if (h !== undefined) {
        expect(h).toEqual(head(i));
        held++;
      }
    }
    expect(held).toBeGreaterThan(9_000); // ~15k slots: a few full buckets evicted some
    t.clear();
    expect([t.bytes, t.get('key/1')]).toEqual([first, undefined]);
  });

  it('answers a key with its last head or nothing, under any sequence of operations', () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant('set' as const), k: fc.nat(40), n: fc.nat(1000) }),
      fc.record({ t: fc.constant('get' as const), k: fc.nat(40) }),
      fc.record({ t: fc.constant('delete' as const), k: fc.nat(40) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 0, max: 4 }), (ops, b) => {
        const small = new HeadTable(SLOT_BYTES * 8 * b); // evicts
        const big = new HeadTable(1 << 20); // ~1,900 buckets for 41 keys: evicts none
        const model = new Map<string, KvHead>();
        for (const o of ops) {
          const key = `key/${o.k}`;
          if (o.t === 'set') {
            for (const t of [small, big]) t.set(key, head(o.n));
            model.set(key, head(o.n));
          } else if (o.t === 'delete') {
            for (const t of [small, big]) t.delete(key);
            model.delete(key);
          } else {
            const got = small.get(key);
            if (got !== undefined) expect(got).toEqual(model.get(key));
            expect(big.get(key)).toEqual(model.get(key));
          }
        }
        for (let k = 0; k <= 40; k++) expect(big.get(`key/${k}`)).toEqual(model.get(`key/${k}`));
      }),
    );
  });
});
