// The store's MVCC: every revision readable until compacted, transactions, etcd's Range.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KeyValue } from '../src/kv/apply-batch.js';
import type { Command } from '../src/kv/command.js';
import { KvRevisionError } from '../src/kv/range-read.js';
import type { KvStateMachine } from '../src/kv/state-machine.js';
import {
  type KeySpan,
  type RangeOp,
  rangeOp,
  type RequestOp,
  type TxnOp,
  keySpan,
  prefixSpan,
} from '../src/kv/txn.js';
import { applyBatch, chunked, exec, storesPerTest, snapshotBytes } from './support/temp-store.js';

const store = storesPerTest();

const ALL: KeySpan = { key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) };

const range = rangeOp;

const put = (key: string, value: string, o: Partial<Extract<RequestOp, { op: 'put' }>> = {}) =>
  ({
    op: 'put',
    key,
    value,
    lease: 0,
    prevKv: false,
    ignoreValue: false,
    ignoreLease: false,
    ...o,
  }) as const;
const del = (span: KeySpan, prevKv = false) => ({ op: 'deleteRange', ...span, prevKv }) as const;
const txn = (t: Partial<TxnOp>): TxnOp => ({
  op: 'txn',
  compare: [],
  success: [],
  failure: [],
  ...t,
});
/** A byte string's bytes (keys and values are byte strings: kv/bytes.ts). */
const b = (s: string) => Buffer.from(s, 'latin1');

type State = Map<string, KeyValue>;

/** A model: the state after every revision, and the compacted revision. */
class Model {
  states: State[] = [new Map()];
  compacted = 0;
  get rev(): number {
    return this.states.length - 1;
  }
  private next(f: (s: State, rev: number) => boolean): void {
    const s = new Map(this.states[this.rev]);
    if (f(s, this.rev + 1)) this.states.push(s);
  }
  private putIn(s: State, key: string, value: string, rev: number): void {
    const prev = s.get(key);
    s.set(key, {
      key,
      value,
      createRevision: prev?.createRevision ?? rev,
      modRevision: rev,
      version: (prev?.version ?? 0) + 1,
    });
  }
  apply(c: Command): void {
    switch (c.op) {
      case 'put':
        this.next((s, rev) => {
          this.putIn(s, c.key, c.value, rev);
          return true;
        });
        break;
      case 'delete':
        this.next((s) => s.delete(c.key));
        break;
      case 'deletePrefix':
        this.next((s) => {
          let any = false;
          for (const k of [...s.keys()]) if (k.startsWith(c.prefix) && s.delete(k)) any = true;
          return any;
        });
        break;
      case 'compact':
        if (c.revision > this.compacted && c.revision <= this.rev) this.compacted = c.revision;
        break;
      case 'txn': {
        // The generated shape: compare value == on one key; success puts distinct keys;
        // failure deletes one key.
        const cmp = c.compare[0]!;
        const cur = this.states[this.rev]!.get(Buffer.from(cmp.key).toString('latin1'));
        const ok = cur !== undefined && cur.value === cmp.value;
        this.next((s, rev) => {
          let changed = false;
          for (const o of ok ? c.success : c.failure) {
            if (o.op === 'put') {
              this.putIn(s, o.key, o.value, rev);
              changed = true;
            } else if (o.op === 'deleteRange') {
              changed = s.delete(Buffer.from(o.key).toString('latin1')) || changed;
            }
          }
          return changed;
        });
        break;
      }
      default:
        break;
    }
  }
}

// Byte strings: 'é' is the byte 0xe9 (not UTF-8), 'a\u00ff' sorts after every other 'a' key.
const KEYS = ['a', 'ab', 'b', 'ba', 'c', 'a\u0000', 'é', 'a\u00ff', '\u00ff\u0080'];
const key = fc.constantFrom(...KEYS);
const value = fc.constantFrom('', 'x', 'y', '\u00ff\u0000');
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('put' as const), key, value }) },
  fc.record({ op: fc.constant('delete' as const), key }),
  fc.record({
    op: fc.constant('deletePrefix' as const),
    prefix: fc.constantFrom('a', 'b', '', '\u00ff'),
  }),
  fc.record({ op: fc.constant('compact' as const), revision: fc.nat({ max: 30 }) }),
  fc
    .tuple(key, value, fc.uniqueArray(key, { minLength: 1, maxLength: 3 }), value, key)
    .map(([ck, cv, keys, v, dk]) =>
      txn({
        compare: [{ target: 'value', result: 'equal', ...keySpan(ck), value: cv, number: 0 }],
        success: keys.map((k) => put(k, v)),
        failure: [del(keySpan(dk))],
      }),
    ),
);

function sorted(s: State): KeyValue[] {
  return [...s.values()].sort((x, y) => Buffer.compare(b(x.key), b(y.key)));
}

describe('MVCC', () => {
  it('reads every revision since the compacted one as it was, whatever the batching, and after a restore', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(command, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 }),
        async (batches) => {
          const sm = await store();
          const model = new Model();
          for (const cmds of batches) {
            await applyBatch(sm, cmds);
            for (const c of cmds) model.apply(c);
          }
          expect(sm.revision).toBe(model.rev);
          expect(sm.compactRevision).toBe(model.compacted);
          const check = async (target: KvStateMachine) => {
            for (let rev = Math.max(1, model.compacted); rev <= model.rev; rev++) {
              const r = await target.rangeRequest(range(ALL, { revision: rev }));
              expect(r.kvs, `revision ${rev}`).toEqual(sorted(model.states[rev]!));
              expect(r.count).toBe(model.states[rev]!.size);
            }
            const now = await target.rangeRequest(range(ALL));
            expect(now.kvs).toEqual(sorted(model.states[model.rev]!));
            // One key at the current revision (read as get() reads it, not by an iterator).
            for (const k of KEYS) {
              for (const revision of [0, model.rev]) {
                const one = await target.rangeRequest(range(keySpan(k), { revision }));
                const want = model.states[model.rev]!.get(k);
                expect(one.kvs, `key ${JSON.stringify(k)}`).toEqual(
                  want === undefined ? [] : [want],
                );
                expect([one.count, one.revision]).toEqual([want === undefined ? 0 : 1, model.rev]);
              }
            }
            await expect(
              target.rangeRequest(range(ALL, { revision: model.rev + 1 })),
            ).rejects.toThrow('required revision is a future revision');
            if (model.compacted > 1) {
              await expect(
                target.rangeRequest(range(ALL, { revision: model.compacted - 1 })),
              ).rejects.toBeInstanceOf(KvRevisionError);
            }
          };
          await check(sm);
          const copy = await store();
          await copy.restore(chunked(await snapshotBytes(sm), 7));
          await check(copy);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("compaction keeps each key's last change at or below it, drops deleted keys' history, and is refused at or below the compacted revision", async () => {
    const sm = await store();
    await applyBatch(sm, [
      { op: 'put', key: 'a', value: '1' }, // 1
      { op: 'put', key: 'a', value: '2' }, // 2
      { op: 'put', key: 'b', value: '1' }, // 3
      { op: 'delete', key: 'b' }, // 4
      { op: 'put', key: 'a', value: '3' }, // 5
    ]);
    const events = async () => (await snapshotBytes(sm)).length;
    const before = await events();
    expect(await exec(sm, { op: 'compact', revision: 4 })).toEqual({
      op: 'compact',
      revision: 5,
      compactRevision: 4,
    });
    expect(await events()).toBeLessThan(before);
    expect((await sm.rangeRequest(range(ALL, { revision: 4 }))).kvs.map((kv) => kv.value)).toEqual([
      '2',
    ]);
    expect((await sm.rangeRequest(range(ALL, { revision: 5 }))).kvs.map((kv) => kv.value)).toEqual([
      '3',
    ]);
    await expect(sm.rangeRequest(range(ALL, { revision: 3 }))).rejects.toThrow(
      'required revision has been compacted',
    );
    expect(await exec(sm, { op: 'compact', revision: 4 })).toMatchObject({
      op: 'txnError',
      code: 'compacted',
    });
    expect(await exec(sm, { op: 'compact', revision: 9 })).toMatchObject({
      op: 'txnError',
      code: 'futureRev',
    });
    // Reopened: the compacted revision is on disk.
    await sm.close();
    await sm.open();
    expect(sm.compactRevision).toBe(4);
  });
});

describe('transactions', () => {
  it('compare on value, version, create, mod and lease; one revision for all their writes', async () => {
    const sm = await store();
    await exec(sm, { op: 'put', key: 'k', value: 'v' }); // rev 1
    await exec(sm, { op: 'put', key: 'k', value: 'w' }); // rev 2, version 2
    const cmp = (
      target: 'value' | 'version' | 'create' | 'mod' | 'lease',
      result: 'equal' | 'greater' | 'less' | 'notEqual',
      v: string | number,
    ) => ({
      target,
      result,
      ...keySpan('k'),
      value: typeof v === 'string' ? v : '',
      number: typeof v === 'number' ? v : 0,
    });
    const ok = await exec(
      sm,
      txn({
        compare: [
          cmp('value', 'equal', 'w'),
          cmp('version', 'equal', 2),
          cmp('create', 'equal', 1),
          cmp('mod', 'greater', 1),
          cmp('lease', 'equal', 0),
        ],
        success: [put('x', '1'), put('y', '2', { prevKv: true }), range(keySpan('x'))],
      }),
    );
    expect(ok).toMatchObject({ op: 'txn', revision: 3, succeeded: true });
    const responses = (ok as { responses: unknown[] }).responses;
    expect(responses[2]).toMatchObject({
      op: 'range',
      count: 1,
      kvs: [{ key: 'x', value: '1', modRevision: 3 }],
    });
    const x = await sm.rangeRequest(range(keySpan('y')));
    expect(x.kvs[0]).toMatchObject({ createRevision: 3, modRevision: 3, version: 1 });
    const failed = await exec(
      sm,
      txn({
        compare: [cmp('value', 'less', 'a')],
        success: [put('z', '1')],
        failure: [
          del(prefixSpan(b('x')), true),
          txn({ compare: [cmp('mod', 'equal', 2)], success: [put('n', 'nested')] }),
        ],
      }),
    );
    expect(failed).toMatchObject({
      op: 'txn',
      revision: 4,
      succeeded: false,
      responses: [
        { op: 'deleteRange', deleted: 1, prevKvs: [{ key: 'x', value: '1' }] },
        { op: 'txn', succeeded: true, responses: [{ op: 'put' }] },
      ],
    });
    expect((await sm.rangeRequest(range(ALL))).kvs.map((kv) => kv.key)).toEqual(['k', 'n', 'y']);
    // A compare on a missing key: value never holds, numbers compare as 0.
    const missing = { ...keySpan('none') };
    expect(
      await exec(sm, txn({ compare: [{ ...cmp('version', 'equal', 0), ...missing }] })),
    ).toMatchObject({ succeeded: true });
    expect(
      await exec(sm, txn({ compare: [{ ...cmp('value', 'equal', ''), ...missing }] })),
    ).toMatchObject({ succeeded: false });
    expect(sm.revision).toBe(4);
  });

  it('refuse duplicate keys, unknown leases and ignore_value on a missing key, changing nothing', async () => {
    const sm = await store();
    await exec(sm, { op: 'put', key: 'a', value: '1' });
    const cases: [TxnOp, string][] = [
      [txn({ success: [put('k', '1'), put('k', '2')] }), 'duplicateKey'],
      [txn({ success: [del(prefixSpan(b('k'))), put('ka', '2')] }), 'duplicateKey'],
      [txn({ success: [put('k', '1'), txn({ success: [put('k', '2')] })] }), 'duplicateKey'],
      [txn({ success: [put('k', '1', { lease: 7 })] }), 'leaseNotFound'],
      [txn({ success: [put('k', '', { ignoreValue: true })] }), 'keyNotFound'],
      [txn({ success: [put('b', '1'), range(ALL, { revision: 5 })] }), 'futureRev'],
    ];
    for (const [t, code] of cases) {
      expect(await exec(sm, t)).toMatchObject({ op: 'txnError', code, revision: 1 });
    }
    expect(sm.revision).toBe(1);
    expect(sm.size).toBe(1);
    // ignore_value keeps the value, and overlapping deletes are allowed.
    expect(await exec(sm, txn({ success: [put('a', '', { ignoreValue: true })] }))).toMatchObject({
      revision: 2,
    });
    expect((await sm.get('a')).kv).toMatchObject({ value: '1', version: 2 });
    expect(await exec(sm, txn({ success: [del(ALL), del(keySpan('a'))] }))).toMatchObject({
      responses: [{ deleted: 1 }, { deleted: 0 }],
    });
  });
});

describe("etcd's Range", () => {
  it('limit, count, sort, keys_only, count_only and revision filters', async () => {
    const sm = await store();
    await applyBatch(sm, [
      { op: 'put', key: 'c', value: '1' },
      { op: 'put', key: 'a', value: '3' },
      { op: 'put', key: 'b', value: '2' },
      { op: 'put', key: 'a', value: '4' },
      { op: 'put', key: 'd', value: '0' },
    ]);
    const keys = async (o: Partial<Omit<RangeOp, 'op'>>, span: KeySpan = ALL) =>
      (await sm.rangeRequest(range(span, o))).kvs.map((kv) => kv.key).join('');
    expect(await keys({})).toBe('abcd');
    expect(await sm.rangeRequest(range(ALL, { limit: 2 }))).toMatchObject({ more: true, count: 4 });
    expect(await keys({ limit: 2 })).toBe('ab');
    expect(await keys({ sortOrder: 'descend' })).toBe('dcba');
    expect(await keys({ sortTarget: 'value' })).toBe('dcba');
    expect(await keys({ sortTarget: 'mod', sortOrder: 'descend', limit: 2 })).toBe('da');
    expect(await keys({ sortTarget: 'create' })).toBe('cabd');
    expect(await keys({ minModRevision: 4 })).toBe('ad');
    expect(await keys({ maxCreateRevision: 2 })).toBe('ac');
    expect(await keys({}, { key: b('b'), rangeEnd: b('d') })).toBe('bc');
    expect(await keys({}, { key: b('b'), rangeEnd: Uint8Array.of(0) })).toBe('bcd');
    expect(await keys({}, prefixSpan(b('a')))).toBe('a');
    expect((await sm.rangeRequest(range(ALL, { keysOnly: true }))).kvs[0]).toMatchObject({
      key: 'a',
      value: '',
    });
    expect(await sm.rangeRequest(range(ALL, { countOnly: true }))).toMatchObject({
      kvs: [],
      count: 4,
    });
    expect(await keys({ revision: 2 })).toBe('ac');
  });
});
