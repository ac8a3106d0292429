// Leases in the on-disk store: grant and revoke commands, the keys each lease holds as puts,
// deletes and the JSON API's commands change them, and all of it after a reopen.
import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand } from '../src/kv/command.js';
import { KvStateMachine } from '../src/kv/state-machine.js';
import type { TxnOp } from '../src/kv/txn.js';
import { applyBatch, disposeStore, exec, openTempStore } from './support/temp-store.js';

const put = (key: string, lease: number): TxnOp => ({
  op: 'txn',
  compare: [],
  success: [
    { op: 'put', key, value: 'v', lease, prevKv: false, ignoreValue: false, ignoreLease: false },
  ],
  failure: [],
});

describe('leases in the store', () => {
  it('encodes lease commands exactly', () => {
    for (const cmd of [
      { op: 'leaseGrant' as const, id: 2 ** 53 - 1, ttl: 9_000_000_000 },
      { op: 'leaseRevoke' as const, id: 7 },
    ]) {
      expect(decodeCommand(encodeCommand(cmd))).toEqual(cmd);
    }
  });

  it('grants once, refuses a taken id or an unknown revoke without changing anything', async () => {
    const sm = await openTempStore();
    try {
      expect(await exec(sm, { op: 'leaseGrant', id: 5, ttl: 10 })).toMatchObject({
        op: 'leaseGrant',
        id: 5,
        ttl: 10,
        revision: 0,
      });
      expect(await exec(sm, { op: 'leaseGrant', id: 5, ttl: 99 })).toMatchObject({
        op: 'txnError',
        code: 'leaseExists',
      });
      expect(await exec(sm, { op: 'leaseRevoke', id: 6 })).toMatchObject({
        op: 'txnError',
        code: 'leaseNotFound',
      });
      expect(await exec(sm, put('k', 6))).toMatchObject({ op: 'txnError', code: 'leaseNotFound' });
      expect(sm.leaseList()).toMatchObject([{ id: 5, ttl: 10 }]);
      expect(sm.revision).toBe(0);
      expect(sm.appliedIndex()).toBe(4);
    } finally {
      await disposeStore(sm);
    }
  });

  it('tracks attached keys through puts, deletes and the JSON API, and rebuilds them at open', async () => {
    const sm = await openTempStore();
    const dir = sm.options.dir;
    await exec(sm, { op: 'leaseGrant', id: 1, ttl: 10 });
    await exec(sm, { op: 'leaseGrant', id: 2, ttl: 20 });
    for (const k of ['a', 'b', 'c', 'd']) await exec(sm, put(k, 1));
    await exec(sm, put('e', 2));
    await applyBatch(sm, [
      { op: 'put', key: 'b', value: 'plain' }, // the JSON API's put: no lease
      { op: 'delete', key: 'c' },
    ]);
    await exec(sm, { op: 'deletePrefix', prefix: 'd' });
    await exec(sm, put('a', 2)); // moves to lease 2
    expect(sm.leaseKeyList(1)).toEqual([]);
    expect(sm.leaseKeyList(2)).toEqual(['a', 'e']);
    await sm.close();

    const again = new KvStateMachine({ dir });
    await again.open();
    try {
      expect(again.leaseList()).toMatchObject([
        { id: 1, ttl: 10 },
        { id: 2, ttl: 20 },
      ]);
      expect(again.leaseKeyList(2)).toEqual(['a', 'e']);
      const rev = again.revision;
      expect(await exec(again, { op: 'leaseRevoke', id: 2 })).toMatchObject({
        op: 'leaseRevoke',
        deleted: 2,
        revision: rev + 1,
      });
      expect((await again.get('a')).kv).toBeUndefined();
      expect((await again.get('b')).kv?.value).toBe('plain');
      // A revoke of a lease without keys changes no revision.
      expect(await exec(again, { op: 'leaseRevoke', id: 1 })).toMatchObject({
        deleted: 0,
        revision: rev + 1,
      });
      expect(again.leaseList()).toEqual([]);
    } finally {
      await disposeStore(again);
    }
  });
});
