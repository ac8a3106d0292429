// etcd's Lease service over the client port, driven by the etcd3 npm client and raw calls:
// one in-memory-consensus node (always the leader) over a real on-disk store.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minLeaseTtl } from '../src/grpc/lease-service.js';
import type { Harness } from './support/api-harness.js';
import { type EtcdHarness, startEtcd, waitUntil as poll } from './support/etcd-harness.js';
import { chunked, disposeStore, openTempStore, snapshotBytes } from './support/temp-store.js';

let e: EtcdHarness;
let h: Harness;
let client: Etcd3;
let base: string;

beforeAll(async () => {
  e = await startEtcd({ minLeaseTtl: 1 });
  ({ h, client, base } = e);
});

afterAll(async () => {
  await e?.close();
});

const waitUntil = (ok: () => Promise<boolean>, ms = 8000) => poll(ok, ms, 50);

describe('etcd Lease service', () => {
  it('grants, attaches keys, answers TimeToLive with keys and Leases, keeps alive, revokes', async () => {
    const lease = client.lease(30, { autoKeepAlive: false });
    const id = await lease.grant();
    await lease.put('lease/a').value('1');
    await lease.put('lease/b').value('2');
    await client.put('lease/other').value('3');
    const kv = await client.get('lease/a').exec();
    expect(kv.kvs[0]?.lease).toBe(id);

    const ttl = await client.leaseClient.leaseTimeToLive({ ID: id, keys: true });
    expect(Number(ttl.grantedTTL)).toBe(30);
    expect(Number(ttl.TTL)).toBeGreaterThanOrEqual(29);
    expect(ttl.keys.map(String).sort()).toEqual(['lease/a', 'lease/b']);

    const all = await client.leaseClient.leaseLeases({});
    expect(all.leases.map((l) => l.ID)).toContain(id);

    const ka = await lease.keepaliveOnce();
    expect(ka.ID).toBe(id);
    expect(Number(ka.TTL)).toBe(30);

    const rev = h.sm.revision;
    await lease.revoke();
    expect(await client.get('lease/a').string()).toBeNull();
    expect(await client.get('lease/b').string()).toBeNull();
    expect(await client.get('lease/other').string()).toBe('3');
    expect(h.sm.revision).toBe(rev + 1); // both keys deleted at one revision
    expect(h.sm.leaseList().map((l) => l.id)).not.toContain(Number(id));

    // Gone: revoke is refused, TimeToLive answers -1, a keepalive answers TTL 0.
    await expect(client.leaseClient.leaseRevoke({ ID: id })).rejects.toThrow(
      'requested lease not found',
    );
    expect(Number((await client.leaseClient.leaseTimeToLive({ ID: id })).TTL)).toBe(-1);
    const stream = await client.leaseClient.leaseKeepAlive();
    const answer = new Promise<{ TTL: string }>((r) => stream.on('data', r));
    stream.write({ ID: id });
    expect(Number((await answer).TTL)).toBe(0);
    stream.end();
  });

  it("refuses with etcd's errors and changes nothing", async () => {
    await expect(client.put('nolease').value('x').lease('12345').exec()).rejects.toThrow(
      'requested lease not found',
    );
    expect(await client.get('nolease').string()).toBeNull();
    await client.leaseClient.leaseGrant({ ID: 777, TTL: 60 });
    await expect(client.leaseClient.leaseGrant({ ID: 777, TTL: 60 })).rejects.toThrow(
      'lease already exists',
    );
    await expect(client.leaseClient.leaseGrant({ TTL: 9_000_000_001 })).rejects.toThrow(
      'too large lease TTL',
    );
    expect(h.sm.leaseTtl(777)).toBe(60);
    await client.leaseClient.leaseRevoke({ ID: 777 });
  });

  it('applies the minimum TTL; ignore_lease keeps a key on its lease, a plain put detaches it', async () => {
    const g = await client.leaseClient.leaseGrant({ TTL: 0 });
    expect(Number(g.TTL)).toBe(1);
    expect(minLeaseTtl(100, 10)).toBe(2); // etcd's defaults
    await client.leaseClient.leaseRevoke({ ID: g.ID });

    const lease = client.lease(60, { autoKeepAlive: false });
    const id = await lease.grant();
    await lease.put('kept').value('1');
    await lease.put('detached').value('1');
    await client.kv.put({ key: Buffer.from('kept'), value: Buffer.from('2'), ignore_lease: true });
    await client.put('detached').value('2');
    expect((await client.get('kept').exec()).kvs[0]?.lease).toBe(id);
    expect((await client.get('detached').exec()).kvs[0]?.lease).toBe('0');
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: id, keys: true });
    expect(ttl.keys.map(String)).toEqual(['kept']);
    await lease.revoke();
    expect(await client.get('kept').string()).toBeNull();
    expect(await client.get('detached').string()).toBe('2');
  });

  it('expires a lease nobody keeps alive, through a revoke, and its keys with it', async () => {
    const g = await client.leaseClient.leaseGrant({ TTL: 1 });
    await client.put('expiring').value('x').lease(g.ID).exec();
    expect(await client.get('expiring').string()).toBe('x');
    await waitUntil(async () => (await client.get('expiring').string()) === null);
    expect(h.sm.leaseTtl(Number(g.ID))).toBeUndefined();
    expect(Number((await client.leaseClient.leaseTimeToLive({ ID: g.ID })).TTL)).toBe(-1);
  });

  it("etcd3's lease() with auto keepalive outlives its TTL", async () => {
    const lease = client.lease(1);
    await lease.put('alive').value('y');
    await new Promise((r) => setTimeout(r, 2500));
    expect(await client.get('alive').string()).toBe('y');
    await lease.revoke();
    expect(await client.get('alive').string()).toBeNull();
  });

  it('ends a keepalive stream with "no leader" on a member that knows none', async () => {
    const g = await client.leaseClient.leaseGrant({ TTL: 60 });
    h.consensus.leader = false;
    // A client of its own: etcd3 stops calling a host that answered UNAVAILABLE for a while.
    const side = new Etcd3({ hosts: base });
    try {
      const stream = await side.leaseClient.leaseKeepAlive();
      const failed = new Promise<Error>((r) => stream.on('error', r));
      stream.write({ ID: g.ID });
      expect(String(await failed)).toMatch('etcdserver: no leader');
      const other = new Etcd3({ hosts: base });
      await expect(other.leaseClient.leaseTimeToLive({ ID: g.ID })).rejects.toThrow(
        'etcdserver: no leader',
      );
      other.close();
    } finally {
      side.close();
      h.consensus.leader = true;
    }
    // Back as leader: the lease gets its full TTL again (promotion).
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: g.ID });
    expect(Number(ttl.TTL)).toBeGreaterThanOrEqual(59);
    await client.leaseClient.leaseRevoke({ ID: g.ID });
  });

  it('carries leases and their keys in a snapshot', async () => {
    await client.leaseClient.leaseGrant({ ID: 4242, TTL: 100 });
    await client.put('snap/held').value('v').lease('4242').exec();
    const other = await openTempStore();
    try {
      await other.restore(chunked(await snapshotBytes(h.sm), 5));
      expect(other.leaseTtl(4242)).toBe(100);
      expect(other.leaseKeyList(4242)).toEqual(['snap/held']);
    } finally {
      await disposeStore(other);
    }
    await client.leaseClient.leaseRevoke({ ID: 4242 });
  });
});
