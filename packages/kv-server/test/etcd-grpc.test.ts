// etcd's v3 gRPC API on the client port, driven by the etcd3 npm client, beside the JSON API
// on the same port: one in-memory-consensus node over a real on-disk store.
import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdServices } from '../src/grpc/proto.js';
import { type EtcdHarness, startEtcd, waitUntil } from './support/etcd-harness.js';
import type { Harness } from './support/api-harness.js';

let e: EtcdHarness;
let h: Harness;
let client: Etcd3;
let base: string;

beforeAll(async () => {
  e = await startEtcd();
  ({ h, client, base } = e);
});

afterAll(async () => {
  await e?.close();
});

describe('etcd v3 gRPC on the client port', () => {
  it('puts, gets, ranges by prefix, deletes and answers JSON on the same port', async () => {
    await client.put('foo').value('bar');
    await client.put('foo/a').value('1');
    expect(await client.get('foo').string()).toBe('bar');
    expect(await client.getAll().prefix('foo').strings()).toEqual({ foo: 'bar', 'foo/a': '1' });
    expect(await client.getAll().prefix('foo').count()).toBe(2);
    const json = await (await fetch(`http://${base}/v1/kv/foo`)).json();
    expect(json).toMatchObject({ revision: 2, kv: { key: 'foo', value: 'bar', modRevision: 1 } });
    expect((await client.delete().key('foo/a')).deleted).toBe('1');
  });

  it("answers Put's options: prev_kv, ignore_value, ignore_lease, and a plain put leaves a lease", async () => {
    const first = await client.kv.put({ key: Buffer.from('opt'), value: Buffer.from('1') });
    expect(first.prev_kv).toBeNull();
    const second = await client.kv.put({
      key: Buffer.from('opt'),
      value: Buffer.from('2'),
      prev_kv: true,
    });
    expect(second.prev_kv?.value.toString()).toBe('1');
    expect(second.prev_kv?.version).toBe('1');
    expect(Number(second.header.revision)).toBe(Number(first.header.revision) + 1);
    const lease = client.lease(30, { autoKeepAlive: false });
    const id = await lease.grant();
    await lease.put('opt').value('3');
    // ignore_value keeps the value and takes the lease; ignore_lease keeps the lease.
    await client.kv.put({ key: Buffer.from('opt'), ignore_value: true, lease: id });
    await client.kv.put({ key: Buffer.from('opt'), value: Buffer.from('4'), ignore_lease: true });
    let kv = (await client.get('opt').exec()).kvs[0];
    expect([kv?.value.toString(), kv?.lease]).toEqual(['4', id]);
    // A put without a lease detaches the key: the lease's revoke no longer deletes it.
    await client.kv.put({ key: Buffer.from('opt'), value: Buffer.from('5') });
    kv = (await client.get('opt').exec()).kvs[0];
    expect(kv?.lease).toBe('0');
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: id, keys: true });
    expect(ttl.keys).toEqual([]);
    await lease.revoke();
    expect(await client.get('opt').string()).toBe('5');
  });

  it('runs transactions and reads old revisions until compacted, with etcd errors', async () => {
    const r = await client
      .if('foo', 'Value', '==', 'bar')
      .then(client.put('foo').value('baz'))
      .else(client.get('foo'))
      .commit();
    expect(r.succeeded).toBe(true);
    expect(Number(r.header.revision)).toBe(h.sm.revision);
    expect(await client.get('foo').revision(1).string()).toBe('bar');
    expect(await client.get('foo').string()).toBe('baz');
    await expect(client.get('foo').revision(1000).string()).rejects.toThrow(
      'required revision is a future revision',
    );
    await client.kv.compact({ revision: h.sm.revision });
    await expect(client.get('foo').revision(1).string()).rejects.toThrow(
      'required revision has been compacted',
    );
  });

  it('sorts and limits ranges, compares with NotEqual and takes JSON bodies on the port', async () => {
    const body = 'x'.repeat(900);
    const res = await fetch(`http://${base}/v1/kv/sort/c`, {
      method: 'PUT',
      body: JSON.stringify({ value: body }),
    });
    expect(res.status).toBe(200);
    await client.put('sort/a').value('3');
    await client.put('sort/b').value('1');
    const keys = await client.getAll().prefix('sort/').sort('Key', 'Descend').limit(2).keys();
    expect(keys).toEqual(['sort/c', 'sort/b']);
    const byValue = await client.getAll().prefix('sort/').sort('Value', 'Ascend').keys();
    expect(byValue).toEqual(['sort/b', 'sort/a', 'sort/c']);
    expect(await client.get('sort/c').string()).toBe(body);
    const r = await client
      .if('sort/a', 'Value', '!=', '3')
      .then(client.put('sort/a').value('4'))
      .commit();
    expect(r.succeeded).toBe(false);
    const v = await client
      .if('sort/a', 'Version', '>', 0)
      .then(client.delete().prefix('sort/'))
      .commit();
    expect(v.succeeded).toBe(true);
    expect(await client.getAll().prefix('sort/').count()).toBe(0);
  });

  it('watches: live events in order, replay from a revision with prev_kv, filters, compaction', async () => {
    type Seen = [string, string, string, number, string | undefined];
    const seen: Seen[] = [];
    const record =
      (type: string) =>
      (kv: { key: Buffer; value: Buffer; mod_revision: string }, prev?: { value: Buffer }) =>
        seen.push([
          type,
          kv.key.toString(),
          kv.value.toString(),
          Number(kv.mod_revision),
          prev?.value.toString(),
        ]);
    const live = await client.watch().prefix('w/').withPreviousKV().create();
    live.on('put', record('put')).on('delete', record('delete'));
    // NODELETE (etcd3's only('put'); its ignore() is the same as only(), so not used here).
    const noDeletes = await client.watch().prefix('w/').only('put').create();
    const putsOnly: string[] = [];
    noDeletes.on('data', (r) => {
      for (const e of r.events) putsOnly.push(`${e.type} ${e.kv.key}`);
    });
    const r1 = Number((await client.put('w/a').value('1')).header.revision);
    await client.put('w/b').value('2');
    await client.put('other').value('x');
    await client.put('w/a').value('3');
    await client.delete().key('w/b');
    await waitUntil(() => seen.length === 4 && putsOnly.length === 3);
    expect(seen).toEqual([
      ['put', 'w/a', '1', r1, undefined],
      ['put', 'w/b', '2', r1 + 1, undefined],
      ['put', 'w/a', '3', r1 + 3, '1'],
      ['delete', 'w/b', '', r1 + 4, '2'],
    ]);
    expect(putsOnly).toEqual(['Put w/a', 'Put w/b', 'Put w/a']);
    await live.cancel();
    await noDeletes.cancel();

    // The same history again, replayed from its first revision by a new watcher.
    const replay: Seen[] = [];
    const again = await client
      .watch()
      .prefix('w/')
      .withPreviousKV()
      .startRevision(String(r1))
      .create();
    again.on('put', (kv, prev) =>
      replay.push([
        'put',
        `${kv.key}`,
        `${kv.value}`,
        Number(kv.mod_revision),
        prev?.value.toString(),
      ]),
    );
    again.on('delete', (kv, prev) =>
      replay.push(['delete', `${kv.key}`, '', Number(kv.mod_revision), prev?.value.toString()]),
    );
    await waitUntil(() => replay.length === 4);
    expect(replay).toEqual(seen);
    await again.cancel();

    // Below the compacted revision: canceled with the compacted revision (etcd3 shows only
    // 'Watcher canceled'; etcdctl's message is checked in etcd-clients.e2e.test.ts).
    await client.kv.compact({ revision: r1 + 3 });
    const errors: Error[] = [];
    const old = await client.watch().prefix('w/').startRevision(String(r1)).create();
    old.on('error', (e) => errors.push(e));
    await waitUntil(() => errors.length > 0);
    expect(String(errors[0])).toMatch('Watcher canceled');
    await old.cancel().catch(() => {});
  });

  it('tells a raw Watch stream the compacted revision, and answers progress requests', async () => {
    const Watch = makeGenericClientConstructor(etcdServices().Watch, 'Watch');
    const wc = new Watch(base, credentials.createInsecure());
    // biome-ignore lint/suspicious/noExplicitAny: a generic client's methods are untyped
    const stream = (wc as any).Watch();
    // biome-ignore lint/suspicious/noExplicitAny: proto-loader's messages are plain objects
    const got: any[] = [];
    stream.on('data', (r: unknown) => got.push(r));
    stream.on('error', () => {});
    try {
      stream.write({ create_request: { key: Buffer.from('w/'), start_revision: 1 } });
      await waitUntil(() => got.length === 2);
      expect(got[0]).toMatchObject({ watch_id: 0, created: true });
      expect(got[1]).toMatchObject({ watch_id: 0, canceled: true });
      expect(Number(got[1].compact_revision)).toBe(h.sm.compactRevision);
      stream.write({ progress_request: {} });
      await waitUntil(() => got.length === 3);
      expect(got[2].watch_id).toBe(-1);
      expect(Number(got[2].header.revision)).toBe(h.sm.revision);
    } finally {
      stream.end();
      wc.close();
    }
  });

  it('adds a learner, promotes it, moves its peer URL and removes it through Cluster', async () => {
    const added = await client.cluster.memberAdd({
      peerURLs: ['http://127.0.0.1:7009'],
      isLearner: true,
    });
    expect(added.member).toMatchObject({ ID: '2', isLearner: true, name: '' });
    const promoted = await client.cluster.memberPromote({ ID: '2' });
    expect(promoted.members.find((m) => m.ID === '2')?.isLearner).toBe(false);
    await expect(client.cluster.memberPromote({ ID: '2' })).rejects.toThrow(
      'can only promote a learner member',
    );
    const updated = await client.cluster.memberUpdate({
      ID: '2',
      peerURLs: ['http://127.0.0.1:7010'],
    });
    expect(updated.members.find((m) => m.ID === '2')?.peerURLs).toEqual(['http://127.0.0.1:7010']);
    await expect(
      client.cluster.memberUpdate({ ID: '9', peerURLs: ['http://127.0.0.1:7011'] }),
    ).rejects.toThrow('etcdserver: member not found');
    const removed = await client.cluster.memberRemove({ ID: '2' });
    expect(removed.members.map((m) => m.ID)).toEqual(['1']);
    await expect(client.cluster.memberRemove({ ID: '1' })).rejects.toThrow(
      'not enough started members',
    );
  });

  it('answers Auth as etcd does with authentication disabled', async () => {
    expect((await client.auth.authStatus()).enabled).toBe(false);
    await client.auth.authDisable();
    await expect(client.auth.authenticate({ name: 'root', password: 'x' })).rejects.toThrow(
      'etcdserver: authentication is not enabled',
    );
    await expect(client.auth.userList()).rejects.toThrow('users and roles are not supported');
  });

  it('answers Maintenance.Status and Cluster.MemberList with the response header', async () => {
    const st = await client.maintenance.status();
    expect(st.version).toBe('3.4.0');
    expect(Number(st.header.member_id)).toBe(1);
    expect(Number(st.header.revision)).toBe(h.sm.revision);
    const members = await client.cluster.memberList({});
    expect(members.members.map((m) => Number(m.ID))).toEqual(
      h.ctx.consensus.members().map((m) => m.id),
    );
  });
});
