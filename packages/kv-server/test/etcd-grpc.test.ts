// etcd's v3 gRPC API on the client port, driven by the etcd3 npm client, beside the JSON API
// on the same port: one in-memory-consensus node over a real on-disk store.
import http from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientPort } from '../src/client-port.js';
import { numericClusterId } from '../src/grpc/context.js';
import { type EtcdGrpcServer, createEtcdGrpcServer } from '../src/grpc/server.js';
import { handleRequest } from '../src/http/server.js';
import { type Harness, startApi } from './support/api-harness.js';

let h: Harness;
let grpc: EtcdGrpcServer;
let port: Server;
let http1: http.Server;
let client: Etcd3;
let base: string;

beforeAll(async () => {
  h = await startApi();
  grpc = createEtcdGrpcServer({
    ...h.ctx,
    memberId: 1,
    clusterId: numericClusterId('tsraft'),
    storeDir: h.sm.options.dir,
  });
  http1 = http.createServer((req, res) => void handleRequest(h.ctx, req, res));
  port = createClientPort(http1, grpc);
  await new Promise<void>((resolve) => port.listen(0, '127.0.0.1', resolve));
  const { port: p } = port.address() as AddressInfo;
  base = `127.0.0.1:${p}`;
  client = new Etcd3({ hosts: base });
});

afterAll(async () => {
  client?.close();
  await grpc?.close();
  http1?.closeAllConnections();
  await new Promise<void>((resolve) => (port ? port.close(() => resolve()) : resolve()));
  await h?.close();
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
