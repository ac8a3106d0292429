// The store's history by revision, as etcd's Watch reads it (KvStateMachine.history), and the
// commit notifications that wake watchers.
import { expect, it } from 'vitest';
import { KvRevisionError } from '../src/kv/range-read.js';
import { prefixSpan } from '../src/kv/txn.js';
import { chunked, exec, snapshotBytes, storesPerTest } from './support/temp-store.js';

const store = storesPerTest();

const put = (key: string, value: string) =>
  ({
    op: 'put',
    key,
    value,
    lease: 0,
    prevKv: false,
    ignoreValue: false,
    ignoreLease: false,
  }) as const;

it("lists each revision's changes in order, a range delete as one revision; refuses compacted ones", async () => {
  const sm = await store();
  const revisions: number[] = [];
  const off = sm.onCommit((rev) => revisions.push(rev));
  await exec(sm, { op: 'put', key: 'a/1', value: 'x' }); // 1
  await exec(sm, {
    op: 'txn',
    compare: [],
    success: [put('a/2', 'y'), put('b', 'z')],
    failure: [],
  }); // 2
  await exec(sm, {
    op: 'txn',
    compare: [],
    success: [{ op: 'deleteRange', ...prefixSpan(Buffer.from('a/')), prevKv: false }],
    failure: [],
  }); // 3
  const h = await sm.history(1, 100, Number.POSITIVE_INFINITY);
  expect(h.map((e) => [e.main, e.sub, e.key, e.record?.value ?? null])).toEqual([
    [1, 0, 'a/1', 'x'],
    [2, 0, 'a/2', 'y'],
    [2, 1, 'b', 'z'],
    [3, 0, 'a/1', null],
    [3, 1, 'a/2', null],
  ]);
  expect(h[2]!.record).toMatchObject({ createRevision: 2, modRevision: 2, version: 1 });
  expect((await sm.history(2, 2, Number.POSITIVE_INFINITY)).map((e) => e.key)).toEqual([
    'a/2',
    'b',
  ]);
  expect(await sm.history(2, 100, 1)).toHaveLength(1);
  expect(await sm.history(4, 100, 10)).toEqual([]);
  expect(revisions).toEqual([1, 2, 3]);

  await exec(sm, { op: 'compact', revision: 2 });
  await expect(sm.history(1, 100, 10)).rejects.toBeInstanceOf(KvRevisionError);
  expect((await sm.history(3, 100, 10)).map((e) => e.main)).toEqual([3, 3]);

  // A restore notifies too, with the restored revision.
  const other = await store();
  await other.restore(chunked(await snapshotBytes(sm), 64));
  const restored: number[] = [];
  other.onCommit((rev) => restored.push(rev));
  await other.restore(chunked(await snapshotBytes(sm), 64));
  expect(restored).toEqual([3]);
  off();
  await exec(sm, { op: 'put', key: 'c', value: '1' });
  expect(revisions).toEqual([1, 2, 3, 3]); // the compaction committed at revision 3; then off
});
