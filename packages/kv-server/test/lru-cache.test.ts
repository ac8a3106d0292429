import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LruCache } from '../src/kv/lru-cache.js';

const sizeOf = (_k: string, v: string) => v.length;

describe('LruCache', () => {
  it('evicts the least recently used entries once over its byte bound', () => {
    const c = new LruCache<string>(10, sizeOf);
    c.set('a', 'xxxx');
    c.set('b', 'xxxx');
    expect(c.get('a')).toBe('xxxx'); // a is now the most recent
    c.set('c', 'xxxx'); // 12 bytes: b goes
    expect(c.get('b')).toBeUndefined();
    expect([c.get('a'), c.get('c')]).toEqual(['xxxx', 'xxxx']);
    expect(c.bytes).toBe(8);
    c.set('big', 'x'.repeat(11)); // larger than the bound: not cached, evicts nothing
    expect([c.get('big'), c.size]).toEqual([undefined, 2]);
    c.set('a', 'xxxxxxxxx'); // replacing counts the new size only, then c goes
    expect([c.get('c'), c.bytes, c.size]).toEqual([undefined, 9, 1]);
    c.clear();
    expect([c.size, c.bytes, c.get('a')]).toEqual([0, 0, undefined]);
  });

  it('matches a simple model under any sequence of operations', () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant('set' as const), k: fc.nat(9), n: fc.nat(6) }),
      fc.record({ t: fc.constant('get' as const), k: fc.nat(9) }),
      fc.record({ t: fc.constant('delete' as const), k: fc.nat(9) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const c = new LruCache<string>(12, sizeOf);
        const model: [string, string][] = []; // least recent first
        const drop = (k: string) => {
          const i = model.findIndex(([mk]) => mk === k);
          if (i >= 0) model.splice(i, 1);
        };
        const bytes = () => model.reduce((s, [, v]) => s + v.length, 0);
        for (const o of ops) {
          const k = String(o.k);
          if (o.t === 'set') {
            const v = 'x'.repeat(o.n);
            c.set(k, v);
            drop(k);
            model.push([k, v]);
            while (bytes() > 12) model.shift();
          } else if (o.t === 'get') {
            const i = model.findIndex(([mk]) => mk === k);
            expect(c.get(k)).toBe(i >= 0 ? model[i]![1] : undefined);
            if (i >= 0) model.push(model.splice(i, 1)[0]!);
          } else {
            c.delete(k);
            drop(k);
          }
          expect(c.bytes).toBe(bytes());
          expect(c.size).toBe(model.length);
        }
      }),
    );
  });
});
