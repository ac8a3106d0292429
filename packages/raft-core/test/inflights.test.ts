// Inflights: the ring buffer of MsgApps in flight to one follower (last index and payload
// bytes of each), bounded by a count and by bytes. Unit cases plus a model-based property.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Inflights } from '../src/index.js';

/** What an Inflights holds, oldest first, as [index, bytes] pairs (through its public API). */
function contents(inf: Inflights): Array<[number, number]> {
  // Drain a clone one message at a time: each message's index is the smallest bound at which
  // freeLE frees it (probed on further clones), its bytes what that freeing released.
  const c = inf.clone();
  const out: Array<[number, number]> = [];
  const n = c.count;
  let lo = 0;
  for (let k = 0; k < n; k++) {
    const before = c.bytes;
    const count = c.count;
    // Smallest `to` that frees exactly one more message.
    let to = lo;
    for (;;) {
      const probe = c.clone();
      probe.freeLE(to);
      if (probe.count < count) break;
      to++;
    }
    c.freeLE(to);
    out.push([to, before - c.bytes]);
    lo = to;
  }
  return out;
}

describe('Inflights', () => {
  it('fills up to its size, then is full and refuses more', () => {
    const inf = new Inflights(10);
    for (let i = 0; i < 5; i++) inf.add(i, 100 + i);
    expect(inf.count).toBe(5);
    expect(inf.bytes).toBe(510);
    expect(inf.full()).toBe(false);
    for (let i = 5; i < 10; i++) inf.add(i, 100 + i);
    expect(inf.count).toBe(10);
    expect(inf.full()).toBe(true);
    expect(() => inf.add(10, 1)).toThrow();
  });

  it('wraps around the ring after freeing', () => {
    const inf = new Inflights(10);
    for (let i = 0; i < 5; i++) inf.add(i, 1);
    inf.freeLE(4); // frees all five: start goes back to 0
    expect(inf.count).toBe(0);
    for (let i = 0; i < 8; i++) inf.add(10 + i, 1); // slots 0..7
    inf.freeLE(12); // frees 10, 11, 12: start 3
    expect(inf.count).toBe(5);
    for (let i = 0; i < 5; i++) inf.add(20 + i, 1); // 8, 9, then wraps to 0, 1, 2
    expect(inf.full()).toBe(true);
    expect(contents(inf).map(([i]) => i)).toEqual([13, 14, 15, 16, 17, 20, 21, 22, 23, 24]);
    inf.freeLE(21);
    expect(contents(inf).map(([i]) => i)).toEqual([22, 23, 24]);
  });

  it('freeLE frees every message up to and including the index, and no more', () => {
    const inf = new Inflights(10);
    for (let i = 0; i < 10; i++) inf.add(i, i);
    inf.freeLE(0);
    expect(inf.count).toBe(9);
    inf.freeLE(4);
    expect(inf.count).toBe(5);
    expect(inf.bytes).toBe(5 + 6 + 7 + 8 + 9);
    inf.freeLE(3); // stale: nothing
    expect(inf.count).toBe(5);
    inf.freeLE(8);
    expect(inf.count).toBe(1);
    inf.freeLE(100);
    expect(inf.count).toBe(0);
    expect(inf.bytes).toBe(0);
    inf.freeLE(100); // on empty: nothing
    expect(inf.count).toBe(0);
  });

  it('is full when the byte budget is spent, whatever the count', () => {
    const inf = new Inflights(10, 1000);
    inf.add(1, 600);
    expect(inf.full()).toBe(false);
    inf.add(2, 399);
    expect(inf.full()).toBe(false);
    inf.add(3, 1);
    expect(inf.full()).toBe(true); // bytes >= maxBytes
    inf.freeLE(1);
    expect(inf.bytes).toBe(400);
    expect(inf.full()).toBe(false);
    // One message may go over the budget on its own; then the window is closed.
    inf.add(4, 5000);
    expect(inf.full()).toBe(true);
    inf.freeLE(4);
    expect(inf.full()).toBe(false);
  });

  it('extendLast grows the newest message (merged MsgApps), wrapping correctly', () => {
    const inf = new Inflights(3);
    expect(() => inf.extendLast(1, 1)).toThrow();
    inf.add(1, 10);
    inf.add(2, 10);
    inf.freeLE(1);
    inf.add(3, 10);
    inf.add(4, 10); // wrapped into slot 0
    inf.extendLast(6, 5);
    expect(inf.count).toBe(3);
    expect(inf.bytes).toBe(35);
    expect(contents(inf)).toEqual([
      [2, 10],
      [3, 10],
      [6, 15],
    ]);
    // Acknowledging 4 or 5 does not free the extended message: it ends at 6.
    inf.freeLE(5);
    expect(contents(inf)).toEqual([[6, 15]]);
    inf.freeLE(6);
    expect(inf.count).toBe(0);
  });

  it('extendLast can close the byte window', () => {
    const inf = new Inflights(10, 100);
    inf.add(1, 50);
    expect(inf.full()).toBe(false);
    inf.extendLast(2, 50);
    expect(inf.full()).toBe(true);
  });

  it('clone is independent; reset empties', () => {
    const inf = new Inflights(4, 1000);
    inf.add(1, 10);
    inf.add(2, 20);
    const c = inf.clone();
    inf.freeLE(2);
    expect(c.count).toBe(2);
    expect(c.bytes).toBe(30);
    expect(c.maxBytes).toBe(1000);
    c.reset();
    expect(c.count).toBe(0);
    expect(c.bytes).toBe(0);
    c.add(7, 1);
    expect(contents(c)).toEqual([[7, 1]]);
  });

  it('behaves like a FIFO of (index, bytes) under any sequence of operations', () => {
    type Op =
      | { k: 'add'; step: number; bytes: number }
      | { k: 'free'; back: number }
      | { k: 'extend'; step: number; bytes: number }
      | { k: 'reset' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          k: fc.constant('add' as const),
          step: fc.integer({ min: 1, max: 4 }),
          bytes: fc.nat({ max: 50 }),
        }),
      },
      {
        weight: 3,
        arbitrary: fc.record({
          k: fc.constant('free' as const),
          back: fc.integer({ min: -2, max: 12 }),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          k: fc.constant('extend' as const),
          step: fc.nat({ max: 3 }),
          bytes: fc.nat({ max: 50 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('reset' as const) }) },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 200 })),
        fc.array(op, { maxLength: 80 }),
        (size, maxBytes, ops) => {
          const inf = new Inflights(size, maxBytes === 0 ? Number.POSITIVE_INFINITY : maxBytes);
          let model: Array<[number, number]> = [];
          let last = 0; // the highest index handed out so far
          const modelBytes = () => model.reduce((s, [, b]) => s + b, 0);
          const modelFull = () =>
            model.length === size || (maxBytes !== 0 && modelBytes() >= maxBytes);
          for (const o of ops) {
            switch (o.k) {
              case 'add':
                if (modelFull()) {
                  expect(() => inf.add(last + o.step, o.bytes)).toThrow();
                  break;
                }
                last += o.step;
                inf.add(last, o.bytes);
                model.push([last, o.bytes]);
                break;
              case 'free': {
                const to = last - o.back;
                inf.freeLE(to);
                model = model.filter(([i]) => i > to);
                break;
              }
              case 'extend':
                if (model.length === 0) {
                  expect(() => inf.extendLast(last + o.step, o.bytes)).toThrow();
                  break;
                }
                last += o.step;
                inf.extendLast(last, o.bytes);
                model[model.length - 1] = [last, model[model.length - 1]![1] + o.bytes];
                break;
              case 'reset':
                inf.reset();
                model = [];
                break;
            }
            expect(inf.count).toBe(model.length);
            expect(inf.bytes).toBe(modelBytes());
            expect(inf.full()).toBe(modelFull());
          }
          expect(contents(inf)).toEqual(model);
        },
      ),
      { numRuns: 500 },
    );
  });
});
