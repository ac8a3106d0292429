// checkHistory on small histories with known answers, against a brute-force search on random
// ones, on planted anomalies and on large linearizable histories.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Operation,
  type OperationInput,
  byKey,
  checkHistory,
  operation,
  step,
  summaryLine,
  syntheticHistory,
} from '../src/index.js';
import type { KeyOp, RegisterState } from '../src/lincheck/model.js';

let line = 0;
const op = (o: Partial<OperationInput> & Pick<OperationInput, 'call' | 'return'>): Operation =>
  operation({ client: 1, op: 'get', key: 'k', ok: true, line: ++line, ...o });
const put = (value: string, call: number, ret: number | null, ok: boolean | null = true) =>
  op({ op: 'put', value, call, return: ret, ok });
const get = (output: string | null, call: number, ret: number) =>
  op({ op: 'get', output, call, return: ret });
const cas = (expect: string | null, value: string, call: number, ret: number, ok: boolean | null) =>
  op({ op: 'cas', expect, value, call, return: ret, ok });

const verdict = (h: Operation[]) => checkHistory(h).verdict;

describe('known histories', () => {
  it('sequential reads of the last write', () => {
    expect(verdict([put('a', 1, 2), get('a', 3, 4), put('b', 5, 6), get('b', 7, 8)])).toBe(
      'linearizable',
    );
  });
  it('a read overlapping a write may see either value', () => {
    expect(verdict([put('a', 1, 2), put('b', 3, 10), get('a', 4, 5), get('b', 6, 7)])).toBe(
      'linearizable',
    );
    expect(verdict([put('a', 1, 2), put('b', 3, 10), get('b', 4, 5), get('a', 6, 7)])).toBe(
      'not-linearizable',
    );
  });
  it('a key nobody wrote is absent', () => {
    expect(verdict([get(null, 1, 2)])).toBe('linearizable');
    expect(verdict([put('a', 1, 2), get(null, 3, 4)])).toBe('not-linearizable');
  });
  it('a failed put had no effect; an unknown one may show up later or never', () => {
    expect(verdict([put('a', 1, 2, false), get('a', 3, 4)])).toBe('not-linearizable');
    expect(verdict([put('a', 1, null, null), get(null, 3, 4), get('a', 5, 6)])).toBe(
      'linearizable',
    );
    expect(verdict([put('a', 1, null, null), get(null, 3, 4)])).toBe('linearizable');
    // ...but once seen it cannot be unseen without another write.
    expect(verdict([put('a', 1, null, null), get('a', 3, 4), get(null, 5, 6)])).toBe(
      'not-linearizable',
    );
  });
  it('cas: compare held, compare failed, unknown', () => {
    expect(verdict([put('a', 1, 2), cas('a', 'b', 3, 4, true), get('b', 5, 6)])).toBe(
      'linearizable',
    );
    expect(verdict([put('a', 1, 2), cas('x', 'b', 3, 4, true)])).toBe('not-linearizable');
    expect(verdict([put('a', 1, 2), cas('x', 'b', 3, 4, false), get('a', 5, 6)])).toBe(
      'linearizable',
    );
    expect(verdict([put('a', 1, 2), cas('a', 'b', 3, 4, false)])).toBe('not-linearizable');
    expect(verdict([put('a', 1, 2), cas('a', 'b', 3, 4, null), get('a', 5, 6)])).toBe(
      'linearizable',
    );
    expect(verdict([cas(null, 'b', 1, 2, true), get('b', 3, 4)])).toBe('linearizable');
  });
  it('an unknown write only a failed compare could tell apart may never have happened', () => {
    const h = [put('v1', 0, null, null), cas('v1', 'v2', 1, 2, false), get(null, 3, 4)];
    expect(verdict(h)).toBe('linearizable');
  });
  it('a cas that failed with an error tells nothing', () => {
    const failed = op({
      op: 'cas',
      expect: 'a',
      value: 'b',
      call: 3,
      return: 4,
      ok: false,
      error: 'x',
    });
    expect(verdict([put('a', 1, 2), failed, get('a', 5, 6)])).toBe('linearizable');
  });
  it('keys are independent', () => {
    const h = [put('a', 1, 2), op({ op: 'put', key: 'j', value: 'z', call: 1, return: 2 })];
    h.push(get('a', 3, 4), op({ op: 'get', key: 'j', output: 'z', call: 3, return: 4 }));
    const r = checkHistory(h);
    expect(r).toMatchObject({ verdict: 'linearizable', keys: 2, ops: 4 });
    expect(summaryLine(r)).toMatch(/^linearizable \(4 ops, 2 keys/);
  });
});

describe('planted anomalies are caught by the fast checks and named', () => {
  it('a read of a value never written', () => {
    const r = checkHistory([put('a', 1, 2), get('zz', 3, 4)]);
    expect(r.violation?.kind).toBe('never-written');
    expect(summaryLine(r)).toMatch(/^NOT linearizable: key "k": never-written/);
  });
  it('a read of a value written only later', () => {
    expect(checkHistory([get('a', 1, 2), put('a', 3, 4)]).violation?.kind).toBe('future-read');
  });
  it('a stale read', () => {
    const h = [put('a', 1, 2), put('b', 3, 4), get('b', 5, 6), get('a', 7, 8)];
    const r = checkHistory(h);
    expect(r.violation).toMatchObject({ kind: 'stale-read', key: 'k' });
    expect(r.violation!.ops.map((o) => o.line)).toEqual([h[3]!.line, h[1]!.line, h[0]!.line]);
  });
  it('a lost write', () => {
    const h = [put('a', 1, 2), put('b', 3, 4), get('a', 5, 6)];
    expect(checkHistory(h).violation?.kind).toBe('lost-write');
  });
  it('what the fast checks miss, the search finds', () => {
    // Two clients each see the other's write first: no order explains both.
    const h = [put('a', 1, 10), put('b', 1, 10), get('a', 2, 3), get('b', 4, 5), get('a', 6, 7)];
    const r = checkHistory(h);
    expect(r.verdict).toBe('not-linearizable');
    expect(r.violation?.kind).toBe('no-linearization');
  });
});

/** An independent reference: try every order that respects real time, without memoization. */
function bruteForce(ops: readonly KeyOp[]): boolean {
  const n = ops.length;
  const placed = new Array<boolean>(n).fill(false);
  const go = (count: number, s: RegisterState): boolean => {
    if (count === n) return true;
    // An operation that must precede another unplaced one cannot be skipped past.
    for (let i = 0; i < n; i++) {
      if (placed[i]) continue;
      const a = ops[i]!;
      const blocked = ops.some((b, j) => !placed[j] && j !== i && b.ret < a.call);
      if (blocked) continue;
      const next = step(s, a.t);
      if (next === undefined) continue;
      placed[i] = true;
      if (go(count + 1, next)) return true;
      placed[i] = false;
    }
    return false;
  };
  return go(0, null);
}

const randomOp = fc.record({
  kind: fc.constantFrom('put', 'get', 'cas', 'delete'),
  value: fc.constantFrom('a', 'b', 'c'),
  other: fc.constantFrom<string | null>('a', 'b', null),
  call: fc.integer({ min: 0, max: 20 }),
  len: fc.integer({ min: 0, max: 8 }),
  ok: fc.constantFrom<boolean | null>(true, true, true, false, null),
});

describe('against brute force', () => {
  it('agrees on random small histories of one key', () => {
    fc.assert(
      fc.property(fc.array(randomOp, { minLength: 1, maxLength: 7 }), (drafts) => {
        const h = drafts.map((d, i) =>
          operation({
            client: i,
            op: d.kind as Operation['op'],
            key: 'k',
            value: d.kind === 'put' || d.kind === 'cas' ? d.value : null,
            expect: d.kind === 'cas' ? d.other : null,
            output: d.kind === 'get' ? d.other : null,
            call: d.call,
            return: d.call + d.len,
            ok: d.ok,
            line: i + 1,
          }),
        );
        const expected = bruteForce(byKey(h).get('k') ?? []);
        expect(checkHistory(h).verdict).toBe(expected ? 'linearizable' : 'not-linearizable');
      }),
      { numRuns: 3000 },
    );
  });
});

describe('against brute force, unique values (unknown writes bounded)', () => {
  it('agrees on random small histories of one key', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kind: fc.constantFrom('put', 'get', 'cas', 'cas', 'delete'),
            seen: fc.integer({ min: -1, max: 7 }),
            call: fc.integer({ min: 0, max: 20 }),
            len: fc.integer({ min: 0, max: 8 }),
            ok: fc.constantFrom<boolean | null>(true, true, false, null, null),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        (drafts) => {
          // Every put and cas writes its own value; gets and compares name one of them.
          const writers = drafts.flatMap((d, i) =>
            d.kind === 'put' || d.kind === 'cas' ? [i] : [],
          );
          const named = (j: number) =>
            j < 0 || writers.length === 0 ? null : `v${writers[j % writers.length]}`;
          const h = drafts.map((d, i) =>
            operation({
              client: i,
              op: d.kind as Operation['op'],
              key: 'k',
              value: d.kind === 'put' || d.kind === 'cas' ? `v${i}` : null,
              expect: d.kind === 'cas' ? named(d.seen) : null,
              output: d.kind === 'get' ? named(d.seen) : null,
              call: d.call,
              return: d.call + d.len,
              ok: d.ok,
              line: i + 1,
            }),
          );
          const expected = bruteForce(byKey(h).get('k') ?? []);
          expect(checkHistory(h).verdict).toBe(expected ? 'linearizable' : 'not-linearizable');
        },
      ),
      { numRuns: 5000 },
    );
  });
});

describe('synthetic linearizable histories', () => {
  it('are judged linearizable, with failed and unknown outcomes', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const h = syntheticHistory({
        ops: 2000,
        keys: 3,
        clients: 8,
        seed,
        unknownRate: 0.05,
        failRate: 0.05,
      });
      expect(checkHistory(h).verdict, `seed ${seed}`).toBe('linearizable');
    }
  });
  it('100,000 operations over 10 keys within 60 s', () => {
    const h = syntheticHistory({
      ops: 100_000,
      keys: 10,
      clients: 32,
      seed: 7,
      unknownRate: 0.02,
      failRate: 0.01,
    });
    const r = checkHistory(h, { timeoutMs: 60_000 });
    console.log(`lincheck: ${summaryLine(r)}`);
    expect(r.verdict).toBe('linearizable');
    expect(r.elapsedMs).toBeLessThan(60_000);
  }, 120_000);
  it('a planted stale read in a large history is caught', () => {
    const h = syntheticHistory({ ops: 20_000, keys: 10, clients: 16, seed: 3 });
    const end = Math.max(...h.map((o) => o.return ?? 0));
    const w = h.find((o) => o.key === 'k1' && o.op === 'put' && o.ok === true)!;
    h.push(
      operation({
        client: 99,
        op: 'put',
        key: 'k1',
        value: 'fresh',
        call: end + 1,
        return: end + 2,
        ok: true,
      }),
    );
    h.push(
      operation({
        client: 99,
        op: 'get',
        key: 'k1',
        output: w.value,
        call: end + 3,
        return: end + 4,
        ok: true,
      }),
    );
    const r = checkHistory(h);
    expect(r.verdict).toBe('not-linearizable');
    expect(r.violation?.key).toBe('k1');
  });
});
