// etcd's Maintenance service: HashKV and Hash agree between stores that applied the same
// commands (whatever their batching, a restore or a defragmentation) and differ otherwise;
// Snapshot streams the store with etcd's checksum; Defragment, MoveLeader and Alarm answer as
// etcd.
import { createHash } from 'node:crypto';
import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdServices } from '../src/grpc/proto.js';
import type { Command } from '../src/kv/command.js';
import { KvRevisionError } from '../src/kv/range-read.js';
import type { KvStateMachine } from '../src/kv/state-machine.js';
import { type EtcdHarness, startEtcd } from './support/etcd-harness.js';
import { applyBatch, chunked, exec, snapshotBytes, storesPerTest } from './support/temp-store.js';

const store = storesPerTest();

const commands: Command[] = [];
for (let i = 0; i < 60; i++) {
  const key = `k/${i % 7}\u00ff`;
  if (i % 11 === 5) commands.push({ op: 'delete', key });
  else if (i % 13 === 6) commands.push({ op: 'deletePrefix', prefix: 'k/1' });
  else commands.push({ op: 'put', key, value: `v${i}\u0000` });
}

async function applyIn(sm: KvStateMachine, cmds: Command[], size: number): Promise<void> {
  for (let i = 0; i < cmds.length; i += size) await applyBatch(sm, cmds.slice(i, i + size));
}

async function hashes(sm: KvStateMachine): Promise<number[]> {
  const out: number[] = [];
  for (let rev = sm.compactRevision + 1; rev <= sm.revision; rev++) {
    out.push((await sm.hashKv(rev)).hash);
  }
  return out;
}

describe('HashKV and Hash on the store', () => {
  it('agree between members with the same data, differ from one with other data', async () => {
    const a = await store();
    const b = await store();
    await applyIn(a, commands, 1);
    await applyIn(b, commands, 9);
    await exec(a, { op: 'compact', revision: 20 });
    await exec(b, { op: 'compact', revision: 20 });
    const c = await store();
    await c.restore(chunked(await snapshotBytes(a), 1000));
    await b.defragment();

    const want = await hashes(a);
    expect(want.length).toBe(a.revision - 20);
    expect(new Set(want).size).toBe(want.length); // every revision adds to the hash
    expect(await hashes(b)).toEqual(want);
    expect(await hashes(c)).toEqual(want);
    const now = await a.hashKv(0);
    expect(now).toEqual({
      hash: want.at(-1),
      revision: a.revision,
      hashRevision: a.revision,
      compactRevision: 20,
    });
    expect((await b.hash()).hash).toBe((await a.hash()).hash);
    expect((await c.hash()).hash).toBe((await a.hash()).hash);

    // One value differs at one revision: that revision's hash and all later ones differ.
    const d = await store();
    const other = commands.map((cmd, i) =>
      i === 40 && cmd.op === 'put' ? { ...cmd, value: 'other' } : cmd,
    );
    await applyIn(d, other, 4);
    await exec(d, { op: 'compact', revision: 20 });
    const got = await hashes(d);
    const firstDiff = got.findIndex((h, i) => h !== want[i]);
    expect(firstDiff).toBeGreaterThan(0);
    expect(got.slice(firstDiff).every((h, i) => h !== want[firstDiff + i])).toBe(true);
    expect((await d.hash()).hash).not.toBe((await a.hash()).hash);

    await expect(a.hashKv(20)).rejects.toBeInstanceOf(KvRevisionError);
    await expect(a.hashKv(a.revision + 1)).rejects.toThrow('future revision');
  });
});

describe('Maintenance over gRPC', () => {
  let e: EtcdHarness;
  // biome-ignore lint/suspicious/noExplicitAny: a generic client's methods are untyped
  let m: any;
  beforeAll(async () => {
    e = await startEtcd();
    const Maintenance = makeGenericClientConstructor(etcdServices().Maintenance, 'Maintenance');
    m = new Maintenance(e.base, credentials.createInsecure());
  });
  afterAll(async () => {
    m?.close();
    await e?.close();
  });
  // biome-ignore lint/suspicious/noExplicitAny: proto-loader's messages are plain objects
  const unary = (method: string, req: object): Promise<any> =>
    new Promise((resolve, reject) =>
      m[method](req, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))),
    );

  it('answers Alarm with no alarms, as etcd without any raised', async () => {
    const r = await unary('Alarm', { action: 'GET', memberID: 0, alarm: 'NONE' });
    expect(r.alarms).toEqual([]);
    expect(Number(r.header.member_id)).toBe(1);
  });

  it('answers HashKV, Hash and Defragment', async () => {
    for (let i = 0; i < 20; i++) {
      await e.client.kv.put({ key: Buffer.from(`h/${i}`), value: Buffer.from([i, 0xff]) });
    }
    const rev = e.h.sm.revision;
    const hk = await unary('HashKV', { revision: rev - 5 });
    expect(hk.hash).toBe((await e.h.sm.hashKv(rev - 5)).hash);
    expect(Number(hk.hash_revision)).toBe(rev - 5);
    expect(Number(hk.compact_revision)).toBe(0);
    expect(Number(hk.header.revision)).toBe(rev);
    await expect(unary('HashKV', { revision: rev + 1 })).rejects.toThrow(
      'etcdserver: mvcc: required revision is a future revision',
    );
    const before = (await unary('Hash', {})).hash;
    expect(await unary('Defragment', {})).toMatchObject({ header: { member_id: 1 } });
    expect((await unary('Hash', {})).hash).toBe(before);
  });

  it('streams a snapshot: the store stream, zero padding to 512 bytes, its SHA-256', async () => {
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = m.Snapshot({});
      call.on('data', (r: { blob: Buffer; remaining_bytes: number }) => chunks.push(r.blob));
      call.on('error', reject);
      call.on('end', resolve);
    });
    const file = Buffer.concat(chunks);
    expect(file.length % 512).toBe(32);
    const body = file.subarray(0, file.length - 32);
    expect(createHash('sha256').update(body).digest()).toEqual(file.subarray(-32));
    const stream = await snapshotBytes(e.h.sm); // nothing was written since
    expect(body.subarray(0, stream.length)).toEqual(stream);
    expect(body.subarray(stream.length).every((b) => b === 0)).toBe(true);
    expect(chunks.length).toBeGreaterThan(0);
  });

  it('moves leadership only from the leader to a voter', async () => {
    expect(await unary('MoveLeader', { targetID: 1 })).toMatchObject({ header: {} });
    await expect(unary('MoveLeader', { targetID: 9 })).rejects.toThrow(
      'etcdserver: bad leader transferee',
    );
  });
});
