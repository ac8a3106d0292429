import { createHash } from 'node:crypto';
import { decodeMessage, encodeMessage, encodedMessageSize } from '@tsraft/raft-core';
import { describe, expect, it } from 'vitest';
import { TransportError } from '../src/errors.js';
import { FrameBatch, FrameDecoder, FrameKind } from '../src/framing.js';
import {
  HandshakeKind,
  HandshakeReader,
  PROTOCOL_VERSION,
  encodeHandshake,
} from '../src/handshake.js';
import { Fifo, Lane, SendQueue } from '../src/queue.js';
import { app } from './helpers.js';

function collect(dec: FrameDecoder, chunks: Buffer[]): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  for (const c of chunks) dec.push(c, (k, b) => out.push([k, Buffer.from(b)]));
  return out;
}

/** Kinds and body digests: cheap to compare (deep-equal on 70 KB buffers is slow). */
function digest(frames: [number, Buffer][]): string[] {
  return frames.map(([k, b]) => `${k}:${createHash('sha1').update(b).digest('hex')}`);
}

function codeOf(f: () => void): string {
  try {
    f();
  } catch (e) {
    if (e instanceof TransportError) return e.code;
    throw e;
  }
  return 'none';
}

describe('FrameBatch + FrameDecoder', () => {
  const bodies = [
    Buffer.from('a'),
    Buffer.alloc(0),
    Buffer.alloc(70_000, 7), // above the copy limit: written as its own buffer
    Buffer.from(encodeMessage(app(1, 2, 9))),
  ];

  function encoded(): Buffer {
    const batch = new FrameBatch();
    batch.add(FrameKind.Message, null, bodies[0]!);
    batch.add(FrameKind.Ping, null, bodies[1]!);
    batch.add(FrameKind.SnapChunk, Buffer.from([0, 0, 0, 1]), bodies[2]!);
    batch.add(FrameKind.Message, null, bodies[3]!);
    const bytes = batch.bytes;
    const bufs = batch.take();
    expect(bufs.length).toBe(3); // headers+small, large body, rest
    const all = Buffer.concat(bufs);
    expect(all.length).toBe(bytes);
    expect(batch.count).toBe(0);
    return all;
  }

  it('round-trips frames in one chunk', () => {
    const frames = collect(new FrameDecoder(1 << 20), [encoded()]);
    expect(frames.map((f) => f[0])).toEqual([1, 5, 3, 1]);
    expect(frames[0]![1]).toEqual(bodies[0]);
    expect(frames[1]![1].length).toBe(0);
    expect(frames[2]![1]).toEqual(Buffer.concat([Buffer.from([0, 0, 0, 1]), bodies[2]!]));
    expect(frames[3]![1]).toEqual(bodies[3]);
  });

  it('round-trips frames cut at any point, and byte by byte', () => {
    const all = encoded();
    const want = digest(collect(new FrameDecoder(1 << 20), [all]));
    const cuts = new Set<number>();
    for (let cut = 0; cut <= 64; cut++) cuts.add(cut); // inside the small frames' headers
    for (let cut = 0; cut <= all.length; cut += 997) cuts.add(cut);
    for (let d = -6; d <= 6; d++) cuts.add(all.length - bodies[3]!.length + d);
    for (const cut of cuts) {
      if (cut < 0 || cut > all.length) continue;
      const got = collect(new FrameDecoder(1 << 20), [all.subarray(0, cut), all.subarray(cut)]);
      expect(digest(got)).toEqual(want);
    }
    const oneByOne = collect(
      new FrameDecoder(1 << 20),
      [...all].map((b) => Buffer.from([b])),
    );
    expect(digest(oneByOne)).toEqual(want);
  });

  it('refuses a zero or oversized length as soon as the length is known', () => {
    expect(codeOf(() => new FrameDecoder(100).push(Buffer.from([0, 0, 0, 0, 1]), () => {}))).toBe(
      'TRANSPORT_FRAME_TOO_LARGE',
    );
    // Only 4 bytes: the length alone is enough to refuse.
    expect(codeOf(() => new FrameDecoder(100).push(Buffer.from([0, 0, 0, 101]), () => {}))).toBe(
      'TRANSPORT_FRAME_TOO_LARGE',
    );
    const dec = new FrameDecoder(100);
    dec.push(Buffer.from([0xff, 0xff]), () => {});
    expect(codeOf(() => dec.push(Buffer.from([0xff, 0xff]), () => {}))).toBe(
      'TRANSPORT_FRAME_TOO_LARGE',
    );
  });

  it('refuses an unknown kind, and reports a pending partial frame', () => {
    expect(codeOf(() => new FrameDecoder(100).push(Buffer.from([0, 0, 0, 1, 99]), () => {}))).toBe(
      'TRANSPORT_BAD_FRAME',
    );
    const dec = new FrameDecoder(100);
    dec.push(Buffer.from([0, 0, 0, 10, 1, 1, 2]), () => {});
    expect(dec.pending).toBe(2);
  });

  it('stops delivering once halted', () => {
    const dec = new FrameDecoder(100);
    const seen: number[] = [];
    dec.push(Buffer.from([0, 0, 0, 1, 5, 0, 0, 0, 1, 5]), (k) => {
      seen.push(k);
      dec.halt();
    });
    expect(seen).toEqual([5]);
  });
});

describe('HandshakeReader', () => {
  const rec = {
    kind: HandshakeKind.Hello,
    reason: 0,
    from: 2 ** 40 + 7,
    to: 3,
    clusterId: 'prod-é',
  };

  it('reads a record split anywhere and returns the bytes after it', () => {
    const record = encodeHandshake(rec);
    const bytes = Buffer.concat([record, Buffer.from([1, 2, 3])]);
    for (let cut = 1; cut < record.length; cut++) {
      const r = new HandshakeReader();
      expect(r.push(bytes.subarray(0, cut))).toBeNull();
      const got = r.push(bytes.subarray(cut));
      expect(got?.record).toEqual({ ...rec, version: PROTOCOL_VERSION });
      expect([...got!.rest]).toEqual([1, 2, 3]);
    }
  });

  it('refuses garbage at the first wrong byte', () => {
    expect(codeOf(() => new HandshakeReader().push(Buffer.from('G')))).toBe('TRANSPORT_BAD_MAGIC');
    expect(codeOf(() => new HandshakeReader().push(Buffer.from([0x16, 3, 1])))).toBe(
      'TRANSPORT_BAD_MAGIC',
    );
  });

  it('refuses an unknown kind and an unsafe node id', () => {
    const b = encodeHandshake(rec);
    b[6] = 9;
    expect(codeOf(() => new HandshakeReader().push(b))).toBe('TRANSPORT_BAD_HANDSHAKE');
    const c = encodeHandshake(rec);
    c.fill(0xff, 8, 16);
    expect(codeOf(() => new HandshakeReader().push(c))).toBe('TRANSPORT_BAD_HANDSHAKE');
  });
});

describe('SendQueue', () => {
  it('bounds each lane in bytes and drops what does not fit', () => {
    const q = new SendQueue(20, 100);
    expect(q.push(Lane.Control, new Uint8Array(10))).toBe(true); // 15 with header
    expect(q.push(Lane.Control, new Uint8Array(10))).toBe(false);
    expect(q.push(Lane.Bulk, new Uint8Array(90))).toBe(true);
    expect(q.push(Lane.Bulk, new Uint8Array(10))).toBe(false);
    expect(q.length).toBe(2);
    expect(q.bytes).toBe(110);
  });

  it('fillControl takes the whole control lane; fillBulk stays in its budget (at least one)', () => {
    const q = new SendQueue(1000, 10_000);
    for (let i = 0; i < 5; i++) q.push(Lane.Bulk, new Uint8Array(95).fill(i));
    q.push(Lane.Control, new Uint8Array([42]));
    q.push(Lane.Control, new Uint8Array([43]));
    const batch = new FrameBatch();
    expect(q.fillControl(batch)).toBe(2);
    expect(q.fillBulk(batch, 250)).toBe(2); // 100 + 100 <= 250 < 300
    const frames = collect(new FrameDecoder(1000), batch.take());
    expect(frames.map(([, b]) => b[0])).toEqual([42, 43, 0, 1]);
    expect(q.fillBulk(batch, 10)).toBe(1); // budget below one message: still one
    batch.take();
    expect(q.length).toBe(2);
    expect(q.bulkLength).toBe(2);
    expect(q.clear()).toBe(2);
    expect(q.bytes).toBe(0);
  });
});

describe('SendQueue slabs', () => {
  it('keeps frames in order across slabs, budgets and pushes between takes', () => {
    const q = new SendQueue(1 << 20, 64 << 20);
    const sizes = [10, 300, 5000, 40, 70_000, 1, 900]; // some frames end a slab, one is a slab
    let pushed = 0;
    let taken = 0;
    const budgets = [1, 500, 64 << 10, 3000, Number.POSITIVE_INFINITY];
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 50; i++) {
        const m = app(1, 2, pushed, sizes[pushed % sizes.length]!);
        expect(q.pushMessage(Lane.Bulk, m, encodedMessageSize(m))).toBe(true);
        pushed++;
      }
      const batch = new FrameBatch();
      const moved = q.fillBulk(batch, budgets[round % budgets.length]!);
      expect(moved).toBeGreaterThan(0);
      expect(batch.count).toBe(moved);
      const bytes = batch.bytes;
      const bufs = batch.take();
      expect(Buffer.concat(bufs).length).toBe(bytes);
      const frames = collect(new FrameDecoder(1 << 20), bufs);
      expect(frames.length).toBe(moved);
      for (const [kind, body] of frames) {
        expect(kind).toBe(FrameKind.Message);
        const m = decodeMessage(body);
        expect(m.index).toBe(taken);
        expect(m.entries[0]!.data.length).toBe(sizes[taken % sizes.length]);
        taken++;
      }
    }
    const batch = new FrameBatch();
    q.push(Lane.Control, new Uint8Array([7]));
    expect(q.fillBulk(batch, Number.POSITIVE_INFINITY) + q.fillControl(batch)).toBe(
      pushed - taken + 1,
    );
    expect(q.length).toBe(0);
    expect(q.bytes).toBe(0);
  });
});

describe('FrameDecoder message ranges', () => {
  it('hands whole Message frames as ranges, split ones and other kinds to the sink, in order', () => {
    const batch = new FrameBatch();
    for (let i = 0; i < 20; i++) {
      batch.add(i % 3 === 0 ? FrameKind.Ping : FrameKind.Message, null, Buffer.alloc(i * 7, i));
    }
    const all = Buffer.concat(batch.take());
    for (const step of [1, 13, 200, all.length]) {
      const out: string[] = [];
      let ranges = 0;
      const dec = new FrameDecoder(1 << 20);
      for (let at = 0; at < all.length; at += step) {
        dec.push(
          all.subarray(at, at + step),
          (k, b) => out.push(`${k}:${b.length}:${b[0] ?? '-'}`),
          (buf, start, end) => {
            ranges++;
            out.push(`${FrameKind.Message}:${end - start}:${buf[start] ?? '-'}`);
          },
        );
      }
      expect(out).toEqual(
        Array.from(
          { length: 20 },
          (_, i) => `${i % 3 === 0 ? 5 : 1}:${i * 7}:${i === 0 ? '-' : i}`,
        ),
      );
      if (step === all.length) expect(ranges).toBe(13);
    }
  });
});

describe('FrameBatch with already-framed bytes', () => {
  it('keeps them in order between copied runs and large bodies', () => {
    const framed = new FrameBatch();
    framed.add(FrameKind.Message, null, Buffer.from('xy'));
    framed.add(FrameKind.Message, null, Buffer.from('z'));
    const pre = Buffer.concat(framed.take());
    const batch = new FrameBatch();
    batch.add(FrameKind.Window, null, Buffer.from([0, 0, 0, 9]));
    batch.addFrames(pre, 2);
    batch.add(FrameKind.SnapChunk, Buffer.from([0, 0, 0, 1]), Buffer.alloc(5000, 3));
    batch.addFrames(pre, 2);
    batch.add(FrameKind.Pong, null, Buffer.alloc(0));
    expect(batch.count).toBe(7);
    const bytes = batch.bytes;
    const bufs = batch.take();
    expect(Buffer.concat(bufs).length).toBe(bytes);
    const frames = collect(new FrameDecoder(1 << 20), bufs);
    expect(frames.map(([k, b]) => `${k}:${b.length}`)).toEqual([
      '6:4',
      '1:2',
      '1:1',
      '3:5004',
      '1:2',
      '1:1',
      '7:0',
    ]);
  });
});

describe('Fifo', () => {
  it('keeps order across compactions', () => {
    const f = new Fifo<number>();
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) f.push(next++);
      for (let i = 0; i < 70; i++) expect(f.shift()).toBe(expected++);
    }
    expect(f.length).toBe(next - expected);
    while (f.length > 0) expect(f.shift()).toBe(expected++);
    expect(f.shift()).toBeUndefined();
  });
});
