// Unary calls answered on node:http2 directly (src/grpc/direct-unary.ts): what a gRPC client
// can send them (compressed messages, bad frames, oversized or cancelled calls) and what it
// gets back, on the client port of one in-memory-consensus node over a real store.
import http2 from 'node:http2';
import zlib from 'node:zlib';
import { Metadata, credentials, makeGenericClientConstructor, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUEST_BYTES } from '../src/grpc/direct-unary.js';
import { etcdServices } from '../src/grpc/proto.js';
import { type EtcdHarness, startEtcd } from './support/etcd-harness.js';

let e: EtcdHarness;

beforeAll(async () => {
  e = await startEtcd();
});

afterAll(async () => {
  await e?.close();
});

interface RawAnswer {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/** One POST on a fresh HTTP/2 connection, as a gRPC client sends it. */
async function rawCall(
  path: string,
  body: Buffer,
  extraHeaders: Record<string, string> = {},
): Promise<RawAnswer> {
  const session = http2.connect(`http://${e.base}`);
  try {
    return await new Promise<RawAnswer>((resolve, reject) => {
      const req = session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc',
        te: 'trailers',
        ...extraHeaders,
      });
      let headers: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      req.on('response', (h) => {
        headers = h;
      });
      req.on('trailers', (t) => {
        trailers = t;
      });
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve({ headers, trailers, body: Buffer.concat(chunks) }));
      req.on('error', reject);
      req.end(body);
    });
  } finally {
    session.close();
  }
}

function frame(message: Buffer, compressed = false): Buffer {
  const head = Buffer.alloc(5);
  head[0] = compressed ? 1 : 0;
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

const put = (key: string, value: string): Buffer =>
  etcdServices().KV.Put.requestSerialize({ key: Buffer.from(key), value: Buffer.from(value) });

/** grpc-status and grpc-message, from the trailers or a trailers-only response's headers. */
function statusOf(a: RawAnswer): [number, string] {
  const h = a.trailers['grpc-status'] === undefined ? a.headers : a.trailers;
  return [Number(h['grpc-status']), decodeURI(String(h['grpc-message'] ?? ''))];
}

describe('unary calls on node:http2', () => {
  it('answers a put with one length-prefixed response and status 0 in the trailers', async () => {
    const a = await rawCall('/etcdserverpb.KV/Put', frame(put('direct', 'v1')));
    expect(a.headers[':status']).toBe(200);
    expect(a.headers['content-type']).toBe('application/grpc+proto');
    expect(statusOf(a)).toEqual([status.OK, '']);
    expect(a.body.readUInt32BE(1)).toBe(a.body.length - 5);
    const res = etcdServices().KV.Put.responseDeserialize(a.body.subarray(5));
    expect(res.header.revision).toBeGreaterThan(0);
    expect((await e.client.get('direct').string()) ?? null).toBe('v1');
  });

  it('takes gzip and deflate messages, and refuses an encoding it does not know', async () => {
    const gz = await rawCall('/etcdserverpb.KV/Put', frame(zlib.gzipSync(put('gz', 'g')), true), {
      'grpc-encoding': 'gzip',
    });
    expect(statusOf(gz)[0]).toBe(status.OK);
    const df = await rawCall(
      '/etcdserverpb.KV/Put',
      frame(zlib.deflateSync(put('df', 'd')), true),
      { 'grpc-encoding': 'deflate' },
    );
    expect(statusOf(df)[0]).toBe(status.OK);
    expect(await e.client.get('gz').string()).toBe('g');
    expect(await e.client.get('df').string()).toBe('d');
    const snappy = await rawCall('/etcdserverpb.KV/Put', frame(put('sn', 's'), true), {
      'grpc-encoding': 'snappy',
    });
    expect(statusOf(snappy)).toEqual([
      status.UNIMPLEMENTED,
      'Received message compressed with unsupported encoding "snappy"',
    ]);
    expect(await e.client.get('sn').string()).toBeNull();
  });

  it('refuses a body that is not exactly one message, and an oversized one, changing nothing', async () => {
    const before = e.h.sm.revision;
    const none = await rawCall('/etcdserverpb.KV/Put', Buffer.alloc(0));
    expect(statusOf(none)).toEqual([
      status.INTERNAL,
      'raft-kv: a unary call carries exactly one message',
    ]);
    const two = await rawCall(
      '/etcdserverpb.KV/Put',
      Buffer.concat([frame(put('a', '1')), frame(put('b', '2'))]),
    );
    expect(statusOf(two)[0]).toBe(status.INTERNAL);
    const garbage = await rawCall('/etcdserverpb.KV/Put', frame(Buffer.from([0xff, 0xff, 0xff])));
    expect(statusOf(garbage)[0]).toBe(status.INTERNAL);
    expect(statusOf(garbage)[1]).toMatch(/^Error deserializing request/);
    const big = await rawCall(
      '/etcdserverpb.KV/Put',
      frame(put('big', 'x'.repeat(MAX_REQUEST_BYTES + 1))),
    );
    expect(statusOf(big)[0]).toBe(status.RESOURCE_EXHAUSTED);
    expect(e.h.sm.revision).toBe(before);
  });

  it("answers etcd's errors with their codes and messages, percent-encoded", async () => {
    const a = await rawCall('/etcdserverpb.KV/Put', frame(put('', 'v')));
    expect(statusOf(a)).toEqual([status.INVALID_ARGUMENT, 'etcdserver: key is not provided']);
    expect(a.headers['grpc-message']).toBe('etcdserver:%20key%20is%20not%20provided');
  });

  it('serves grpc-js clients, a cancelled call, and streaming calls beside (by grpc-js)', async () => {
    const KV = makeGenericClientConstructor(etcdServices().KV, 'KV');
    const kv = new KV(e.base, credentials.createInsecure());
    try {
      // A call the client cancels at once: the server drops its answer, and goes on serving.
      const cancelled = kv.Range({ key: Buffer.from('direct') }, new Metadata(), () => {});
      cancelled.cancel();
      const r = await new Promise<Record<string, unknown>>((resolve, reject) =>
        kv.Range({ key: Buffer.from('direct') }, (err: Error | null, res: never) =>
          err ? reject(err) : resolve(res),
        ),
      );
      expect((r.kvs as { value: Buffer }[])[0]?.value.toString()).toBe('v1');
      const unknownMethod = await rawCall('/etcdserverpb.KV/Nope', frame(Buffer.alloc(0)));
      expect(statusOf(unknownMethod)[0]).toBe(status.UNIMPLEMENTED);
      // Watch is a streaming method: grpc-js's (etcd3's watcher goes through it).
      const w = await e.client.watch().key('direct').create();
      const seen = new Promise<string>((resolve) => w.on('put', (kv) => resolve(String(kv.value))));
      await e.client.put('direct').value('v2');
      expect(await seen).toBe('v2');
      await w.cancel();
    } finally {
      kv.close();
    }
  });
});
