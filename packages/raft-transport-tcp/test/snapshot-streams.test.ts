// Snapshot data streamed through the `snapshots` hooks: from a source to a sink, checksummed
// per chunk, never whole in memory, refused (not delivered) when damaged, short or aborted.
import { crc32 } from 'node:zlib';
import {
  type Message,
  MessageType,
  encodeMessage,
  newConfState,
  newMessage,
} from '@tsraft/raft-core';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameKind } from '../src/framing.js';
import { PREFETCH_BYTES } from '../src/snapshot.js';
import type { SnapshotSink, SnapshotSource, SnapshotStreams } from '../src/index.js';
import { type Node, RawPeer, cluster, connected, makeNode, stopAll, waitFor } from './helpers.js';

let nodes: Node[] = [];
let raws: RawPeer[] = [];
afterEach(async () => {
  for (const r of raws) r.destroy();
  raws = [];
  await stopAll(nodes);
  nodes = [];
});

const DESCRIPTOR = new Uint8Array([7, 7, 7]);

function msgSnap(from: number, to: number, index = 100): Message {
  return newMessage({
    type: MessageType.MsgSnap,
    from,
    to,
    term: 3,
    snapshot: {
      data: DESCRIPTOR,
      metadata: { index, term: 2, confState: newConfState({ voters: [1, 2] }) },
    },
  });
}

/** Chunk `i` of a test stream: 64 KiB of bytes derived from i. */
function chunk(i: number, size = 64 << 10): Uint8Array {
  const b = new Uint8Array(size);
  for (let j = 0; j < size; j += 97) b[j] = (i * 13 + j) & 0xff;
  return b;
}

interface SinkLog {
  written: number;
  chunks: Uint8Array[];
  finished: number;
  aborted: string[];
}

/** Streams: `count` chunks from the source (counting pulls), into a recording sink. */
function streams(
  count: number,
  sinks: SinkLog,
  o: { failAt?: number; slowMs?: number; pulls?: { n: number; closed: number } } = {},
): SnapshotStreams {
  return {
    open(): SnapshotSource {
      const pulls = o.pulls ?? { n: 0, closed: 0 };
      return {
        async *[Symbol.asyncIterator]() {
          for (let i = 0; i < count; i++) {
            if (i === o.failAt) throw new Error('source failed');
            pulls.n++;
            yield chunk(i);
          }
        },
        close: () => {
          pulls.closed++;
        },
      };
    },
    receive(m): SnapshotSink {
      return {
        async write(c) {
          if (o.slowMs !== undefined) await new Promise((r) => setTimeout(r, o.slowMs));
          sinks.written += c.length;
          sinks.chunks.push(c);
        },
        finish() {
          sinks.finished++;
          return m;
        },
        abort(err) {
          sinks.aborted.push(err.message);
        },
      };
    },
  };
}

const newLog = (): SinkLog => ({ written: 0, chunks: [], finished: 0, aborted: [] });

/** Node 2 with a recording sink, and a raw socket speaking for node 3 after its handshake. */
async function rawSender(): Promise<{ log: SinkLog; b: Node; r: RawPeer }> {
  const log = newLog();
  const b = makeNode(2, { peers: { 3: '127.0.0.1:1' }, snapshots: streams(0, log) });
  nodes = [b];
  await b.t.start();
  const r = new RawPeer(b.t.addr!);
  raws.push(r);
  await r.connected();
  r.hello({ from: 3, to: 2 });
  expect((await r.reply())?.kind).toBeDefined();
  return { log, b, r };
}

describe('snapshot streams', () => {
  it('streams from a source into a sink; the MsgSnap arrives with its own data', async () => {
    const log = newLog();
    const pulls = { n: 0, closed: 0 };
    nodes = await cluster([1, 2], () => ({ snapshots: streams(40, log, { pulls }) }));
    const [a, b] = nodes as [Node, Node];
    await waitFor(() => connected(a, 2), 'connection');
    a.t.send([msgSnap(1, 2)]);
    await waitFor(() => a.snapStatus.length === 1, 'status', 10_000);
    expect(a.snapStatus).toEqual([[2, 'finish']]);
    const got = b.got.find((m) => m.type === MessageType.MsgSnap)!;
    expect([...got.snapshot!.data]).toEqual([...DESCRIPTOR]);
    expect(got.snapshot!.metadata.index).toBe(100);
    expect(log.written).toBe(40 * (64 << 10));
    expect(log.chunks.map((c) => crc32(c))).toEqual(
      Array.from({ length: 40 }, (_, i) => crc32(chunk(i))),
    );
    expect(log).toMatchObject({ finished: 1, aborted: [] });
    expect(pulls).toEqual({ n: 40, closed: 1 });
  });

  it('a slow sink holds the sender back: the source is read about a window ahead', async () => {
    const log = newLog();
    const pulls = { n: 0, closed: 0 };
    let ahead = 0;
    nodes = await cluster([1, 2], (id) => ({
      sendWindow: 256 << 10,
      snapshots: streams(30, log, id === 2 ? { slowMs: 5 } : { pulls }),
    }));
    const [a] = nodes as [Node];
    await waitFor(() => connected(a, 2), 'connection');
    a.t.send([msgSnap(1, 2)]);
    const probe = setInterval(() => {
      ahead = Math.max(ahead, pulls.n - log.chunks.length);
    }, 1);
    try {
      await waitFor(() => a.snapStatus.length === 1, 'status', 10_000);
    } finally {
      clearInterval(probe);
    }
    expect(a.snapStatus).toEqual([[2, 'finish']]);
    // 256 KiB of window is 4 chunks of 64 KiB; PREFETCH_BYTES more are read ahead of the
    // socket, one more is being pulled and one is being written.
    expect(ahead).toBeLessThanOrEqual(4 + PREFETCH_BYTES / (64 << 10) + 3);
    expect(ahead).toBeGreaterThan(0);
  });

  it('a source that fails midway aborts the stream: failure, sink discarded, nothing delivered', async () => {
    const log = newLog();
    nodes = await cluster([1, 2], () => ({ snapshots: streams(10, log, { failAt: 5 }) }));
    const [a, b] = nodes as [Node, Node];
    await waitFor(() => connected(a, 2), 'connection');
    a.t.send([msgSnap(1, 2)]);
    await waitFor(() => a.snapStatus.length === 1, 'status');
    expect(a.snapStatus).toEqual([[2, 'failure']]);
    expect(b.got.some((m) => m.type === MessageType.MsgSnap)).toBe(false);
    expect(log.finished).toBe(0);
    expect(log.aborted).toEqual(['sender aborted the snapshot']);
  });

  it('a flipped byte in a chunk is refused, the connection lives on, a good stream then passes', async () => {
    const { log, b, r } = await rawSender();

    const send = (streamId: number, corrupt: boolean) => {
      const m = { ...msgSnap(3, 2), from: 3 };
      const head = Buffer.alloc(4);
      head.writeUInt32BE(streamId, 0);
      r.frame(FrameKind.SnapBegin, Buffer.concat([head, encodeMessage(m)]));
      const data = chunk(1, 1000);
      const ch = Buffer.alloc(8);
      ch.writeUInt32BE(streamId, 0);
      ch.writeUInt32BE(crc32(data), 4);
      const body = Buffer.concat([ch, data]);
      if (corrupt) body[8 + 500]! ^= 0x10;
      r.frame(FrameKind.SnapChunk, body);
      const end = Buffer.alloc(17);
      end.writeUInt32BE(streamId, 0);
      end.writeUInt32BE(1000, 9);
      end.writeUInt32BE(1, 13);
      r.frame(FrameKind.SnapEnd, end);
    };
    send(1, true);
    await waitFor(() => log.aborted.length === 1, 'refused');
    expect(log.aborted[0]).toMatch(/checksum/);
    expect(b.got).toEqual([]);
    send(2, false);
    await waitFor(() => b.got.length === 1, 'the good one delivered');
    expect(log.finished).toBe(1);
    expect(log.written).toBe(1000);
    expect(r.socket.destroyed).toBe(false);
  });

  it('a stream shorter than its end frame says is refused', async () => {
    const { log, b, r } = await rawSender();
    const head = Buffer.alloc(4);
    head.writeUInt32BE(9, 0);
    r.frame(FrameKind.SnapBegin, Buffer.concat([head, encodeMessage(msgSnap(3, 2))]));
    const end = Buffer.alloc(17);
    end.writeUInt32BE(9, 0);
    end.writeUInt32BE(5000, 9);
    end.writeUInt32BE(2, 13);
    r.frame(FrameKind.SnapEnd, end);
    await waitFor(() => log.aborted.length === 1, 'refused');
    expect(log.aborted[0]).toMatch(/5000 bytes in 2 chunks arrived as 0 in 0/);
    expect(b.got).toEqual([]);
  });

  it('the connection lost mid-stream aborts the sink and fails the send', async () => {
    const log = newLog();
    nodes = await cluster([1, 2], (id) => ({
      snapshots: streams(200, log, id === 2 ? { slowMs: 2 } : {}),
    }));
    const [a, b] = nodes as [Node, Node];
    await waitFor(() => connected(a, 2), 'connection');
    a.t.send([msgSnap(1, 2)]);
    await waitFor(() => log.chunks.length >= 3, 'some chunks written');
    await b.t.stop();
    await waitFor(() => a.snapStatus.length === 1, 'status');
    expect(a.snapStatus).toEqual([[2, 'failure']]);
    expect(log.aborted.length).toBe(1);
    expect(log.finished).toBe(0);
  });
});
