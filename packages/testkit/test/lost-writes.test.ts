// findLostWrites: an acknowledged write must be the final value or possibly overwritten.
import { describe, expect, it } from 'vitest';
import { type OperationInput, findLostWrites, operation } from '../src/index.js';

let line = 0;
const op = (o: Partial<OperationInput> & Pick<OperationInput, 'op' | 'call' | 'return'>) =>
  operation({ client: 1, key: 'k', ok: true, line: ++line, ...o });
const finals = (v: string | null) => new Map([['k', v]]);

describe('findLostWrites', () => {
  it('the final value, or a later write over it: nothing lost', () => {
    const h = [op({ op: 'put', value: 'a', call: 1, return: 2 })];
    expect(findLostWrites(h, finals('a'))).toEqual([]);
    h.push(op({ op: 'put', value: 'b', call: 3, return: 4 }));
    expect(findLostWrites(h, finals('b'))).toEqual([]);
  });
  it('an acknowledged write nobody overwrote, gone at the end', () => {
    const h = [
      op({ op: 'put', value: 'a', call: 1, return: 2 }),
      op({ op: 'put', value: 'b', call: 3, return: 4 }),
    ];
    const lost = findLostWrites(h, finals('a'));
    expect(lost.map((l) => [l.write.value, l.final])).toEqual([['b', 'a']]);
    expect(findLostWrites(h, finals(null)).map((l) => l.write.value)).toEqual(['b']);
  });
  it('a concurrent or unknown write may have come after it', () => {
    const concurrent = [
      op({ op: 'put', value: 'a', call: 1, return: 5 }),
      op({ op: 'put', value: 'b', call: 2, return: 4 }),
    ];
    expect(findLostWrites(concurrent, finals('a'))).toEqual([]);
    const unknown = [
      op({ op: 'put', value: 'b', call: 3, return: 4 }),
      op({ op: 'delete', call: 1, return: null, ok: null }),
    ];
    expect(findLostWrites(unknown, finals(null))).toEqual([]);
  });
  it('failed writes and compare failures overwrite nothing', () => {
    const h = [
      op({ op: 'put', value: 'b', call: 3, return: 4 }),
      op({ op: 'put', value: 'x', call: 5, return: 6, ok: false, error: 'refused' }),
      op({ op: 'cas', expect: 'q', value: 'y', call: 5, return: 6, ok: false }),
    ];
    expect(findLostWrites(h, finals('x')).map((l) => l.write.value)).toEqual(['b']);
  });
  it('keys without a final value are not judged', () => {
    const h = [op({ op: 'put', value: 'a', call: 1, return: 2 })];
    expect(findLostWrites(h, new Map())).toEqual([]);
  });
});
