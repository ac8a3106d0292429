// etcd's watch fragmentation as a pure function, and over a Watch stream with the progress
// notification interval set.
import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdServices } from '../src/grpc/proto.js';
import { eventBytes, fragments } from '../src/grpc/watch-fragment.js';
import { type EtcdHarness, startEtcd, waitUntil } from './support/etcd-harness.js';

const event = (n: number) => ({ kv: { key: Buffer.from('k'), value: Buffer.alloc(n) } });

describe('fragments', () => {
  it('keeps a response that fits, or holds one event, whole', () => {
    const small = [event(10), event(20)];
    expect(fragments(small, 1000)).toEqual([small]);
    const huge = [event(5000)];
    expect(fragments(huge, 1000)).toEqual([huge]);
  });

  it('cuts a large response into consecutive groups, each below the limit unless one event', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 3000 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 200, max: 5000 }),
        (sizes, max) => {
          const events = sizes.map(event);
          const parts = fragments(events, max);
          expect(parts.flat()).toEqual(events);
          for (const p of parts) {
            expect(p.length).toBeGreaterThan(0);
            const bytes = p.reduce((n, e) => n + eventBytes(e), 0);
            if (parts.length > 1 && p.length > 1) expect(bytes).toBeLessThan(max);
          }
          // A cut is made only where the next event would not have fitted.
          for (let i = 0; i + 1 < parts.length; i++) {
            const bytes = parts[i]!.reduce((n, e) => n + eventBytes(e), 64);
            expect(bytes + eventBytes(parts[i + 1]![0]!)).toBeGreaterThanOrEqual(max);
          }
        },
      ),
    );
  });
});

describe('a Watch stream', () => {
  let e: EtcdHarness;
  // biome-ignore lint/suspicious/noExplicitAny: a generic client's methods are untyped
  let wc: any;
  beforeAll(async () => {
    e = await startEtcd({ maxRequestBytes: 4096, watchProgressNotifyMs: 150 });
    const Watch = makeGenericClientConstructor(etcdServices().Watch, 'Watch');
    wc = new Watch(e.base, credentials.createInsecure());
  });
  afterAll(async () => {
    wc?.close();
    await e?.close();
  });

  it('splits a revision larger than the request limit into fragments when asked', async () => {
    // One transaction: ten 1 KiB values at one revision.
    const t = await e.client.kv.txn({
      success: Array.from({ length: 10 }, (_, i) => ({
        request_put: { key: Buffer.from(`f/${i}`), value: Buffer.alloc(1024, i) },
      })),
    });
    const rev = Number(t.header.revision);
    for (const fragment of [true, false]) {
      const stream = wc.Watch();
      // biome-ignore lint/suspicious/noExplicitAny: proto-loader's messages are plain objects
      const got: any[] = [];
      stream.on('data', (r: unknown) => got.push(r));
      stream.on('error', () => {});
      try {
        stream.write({
          create_request: {
            key: Buffer.from('f/'),
            range_end: Buffer.from('f0'),
            start_revision: rev,
            fragment,
          },
        });
        const events = () => got.flatMap((r) => r.events);
        await waitUntil(() => events().length === 10);
        const responses = got.filter((r) => r.events.length > 0);
        expect(events().map((ev) => ev.kv.value[0])).toEqual([...Array(10).keys()]);
        if (fragment) {
          expect(responses.length).toBeGreaterThan(2);
          expect(responses.map((r) => r.fragment)).toEqual([
            ...Array(responses.length - 1).fill(true),
            false,
          ]);
          for (const r of responses) expect(r.events.length).toBeLessThanOrEqual(3);
        } else {
          expect(responses).toHaveLength(1);
          expect(responses[0].fragment).toBe(false);
        }
      } finally {
        stream.end();
      }
    }
  });

  it('sends progress notifications at the configured interval to watchers that asked', async () => {
    const stream = wc.Watch();
    // biome-ignore lint/suspicious/noExplicitAny: proto-loader's messages are plain objects
    const got: any[] = [];
    stream.on('data', (r: unknown) => got.push(r));
    stream.on('error', () => {});
    try {
      stream.write({ create_request: { key: Buffer.from('p'), progress_notify: true } });
      stream.write({ create_request: { key: Buffer.from('q') } });
      const progress = () => got.filter((r) => !r.created && r.events.length === 0);
      await waitUntil(() => progress().length >= 2, 5000);
      expect(new Set(progress().map((r) => r.watch_id))).toEqual(new Set([0]));
      expect(Number(progress()[0].header.revision)).toBe(e.h.sm.revision);
    } finally {
      stream.end();
    }
  });
});
