// Keys and values are bytes end to end, as etcd's: what `etcdctl check perf` and other gRPC
// clients write (bytes that are not UTF-8) comes back unchanged from ranges, transactions,
// watches, leases, old revisions and a snapshot, in etcd's bytewise order; the JSON API
// answers such a key-value in base64.
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prefixSpan, rangeOp } from '../src/kv/txn.js';
import type { Harness } from './support/api-harness.js';
import { call } from './support/api-harness.js';
import { type EtcdHarness, startEtcd, waitUntil } from './support/etcd-harness.js';
import { chunked, disposeStore, openTempStore, snapshotBytes } from './support/temp-store.js';

let e: EtcdHarness;
let h: Harness;
let client: Etcd3;

beforeAll(async () => {
  e = await startEtcd({ minLeaseTtl: 1 });
  ({ h, client } = e);
});

afterAll(async () => {
  await e?.close();
});

const P = Buffer.from('/bin/');
const key = (...bytes: number[]) => Buffer.concat([P, Buffer.from(bytes)]);
// Not UTF-8: a lone continuation byte, 0xff, an overlong NUL, a truncated sequence.
const KEYS = [key(0xff, 0x00), key(0x80), key(0x00), key(0x61), key(0xc0, 0x80), key(0xe2, 0x82)];
const value = (i: number) => Buffer.from([0xfe, i, 0x00, 0xc3]);
const sortedKeys = [...KEYS].sort(Buffer.compare);
const PREFIX = { key: P, range_end: Buffer.from(prefixSpan(P).rangeEnd) };

describe('binary keys and values over gRPC', () => {
  it('come back unchanged, in bytewise order, from ranges, sorts, txns, watches and old revisions', async () => {
    const events: [string, Buffer, Buffer][] = [];
    const watcher = await client.watch().prefix(P).create();
    watcher.on('put', (kv) => events.push(['put', kv.key, kv.value]));
    watcher.on('delete', (kv) => events.push(['delete', kv.key, Buffer.alloc(0)]));

    const revs: number[] = [];
    for (const [i, k] of KEYS.entries()) {
      revs.push(Number((await client.kv.put({ key: k, value: value(i) })).header.revision));
    }
    const all = await client.kv.range(PREFIX);
    expect(all.kvs.map((kv) => kv.key)).toEqual(sortedKeys);
    for (const kv of all.kvs)
      expect(kv.value).toEqual(value(KEYS.findIndex((k) => k.equals(kv.key))));

    const byValue = await client.kv.range({
      ...PREFIX,
      sort_order: 'Descend',
      sort_target: 'Value',
    });
    const descending = KEYS.map((k, i) => [k, value(i)] as const).sort((a, b) =>
      Buffer.compare(b[1], a[1]),
    );
    expect(byValue.kvs.map((kv) => kv.key)).toEqual(descending.map(([k]) => k));

    // A compare on a binary value, a put of a binary value, a range from a binary key on.
    const t = await client.kv.txn({
      compare: [{ key: KEYS[0]!, target: 'Value', result: 'Equal', value: value(0) }],
      success: [
        { request_put: { key: KEYS[0]!, value: Buffer.from([0xff, 0xff]) } },
        { request_range: { key: key(0x80), range_end: Buffer.from([0]) } },
      ],
    });
    expect(t.succeeded).toBe(true);
    const fromKey = t.responses[1]?.response_range?.kvs.map((kv) => kv.key);
    expect(fromKey).toEqual(sortedKeys.filter((k) => Buffer.compare(k, key(0x80)) >= 0));
    const old = await client.kv.range({ key: KEYS[0]!, revision: revs[0]! });
    expect(old.kvs[0]?.value).toEqual(value(0));
    const now = await client.kv.range({ key: KEYS[0]! });
    expect(now.kvs[0]?.value).toEqual(Buffer.from([0xff, 0xff]));

    await client.kv.deleteRange({ key: KEYS[1]! });
    await waitUntil(() => events.length === KEYS.length + 2);
    expect(events.map(([type, k]) => [type, k])).toEqual([
      ...KEYS.map((k) => ['put', k]),
      ['put', KEYS[0]],
      ['delete', KEYS[1]],
    ]);
    expect(events[0]![2]).toEqual(value(0));
    await watcher.cancel();
  });

  it('are attached to leases and carried by snapshots unchanged', async () => {
    const lease = client.lease(30, { autoKeepAlive: false });
    const id = await lease.grant();
    const leased = [key(0xfd), key(0x00, 0xff)];
    for (const k of leased) await client.kv.put({ key: k, value: Buffer.from([0x80]), lease: id });
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: id, keys: true });
    expect(ttl.keys).toEqual([...leased].sort(Buffer.compare));

    const copy = await openTempStore();
    try {
      await copy.restore(chunked(await snapshotBytes(h.sm), 5));
      expect(await copy.rangeRequest(rangeAll())).toEqual(await h.sm.rangeRequest(rangeAll()));
      expect(copy.leaseKeyList(Number(id))).toEqual(h.sm.leaseKeyList(Number(id)));
    } finally {
      await disposeStore(copy);
    }
    await lease.revoke();
    const left = await client.kv.range(PREFIX);
    expect(left.kvs.map((kv) => kv.key).filter((k) => leased.some((l) => l.equals(k)))).toEqual([]);
  });

  it('are answered by the JSON API in base64 when they are not UTF-8, as text otherwise', async () => {
    await client.kv.put({ key: Buffer.from('/bin/text'), value: Buffer.from('é') });
    const r = await call(h.url, 'GET', `/v1/kv?prefix=${encodeURIComponent('/bin/')}`);
    expect(r.status).toBe(200);
    // biome-ignore lint/suspicious/noExplicitAny: a JSON body
    const byKey = new Map<string, any>(r.body.kvs.map((kv: any) => [kv.key, kv]));
    expect(byKey.get('/bin/text')).toMatchObject({ value: 'é' });
    expect(byKey.get('/bin/text').encoding).toBeUndefined();
    const bin = byKey.get(KEYS[2]!.toString('base64'));
    expect(bin).toMatchObject({ encoding: 'base64', value: value(2).toString('base64') });
    // Text written over JSON is its UTF-8 bytes over gRPC.
    await call(h.url, 'PUT', `/v1/kv/${encodeURIComponent('/bin/ключ')}`, { value: '😀' });
    const g = await client.kv.range({ key: Buffer.from('/bin/ключ') });
    expect(g.kvs[0]?.value).toEqual(Buffer.from('😀'));
  });
});

const rangeAll = () => rangeOp({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) });
