// Protocol 3: many raft groups share one connection. Messages and snapshot streams carry
// their group id end to end on real loopback sockets, a peer of protocol 2 is refused in both
// directions with an error naming both versions, and a malformed group frame closes only
// its connection.
import net from 'node:net';
import { type Message, MessageType, encodeMessage, newMessage } from '@tsraft/raft-core';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameKind } from '../src/framing.js';
import { HandshakeKind, PROTOCOL_VERSION, encodeHandshake } from '../src/handshake.js';
import type { SnapshotStreams } from '../src/index.js';
import {
  CLUSTER,
  type Node,
  RawPeer,
  app,
  captureLogger,
  cluster,
  heartbeat,
  makeNode,
  peerStats,
  stopAll,
  waitFor,
} from './helpers.js';

let nodes: Node[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  await stopAll(nodes);
  nodes = [];
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

function msgSnap(from: number, to: number, index: number): Message {
  return newMessage({
    type: MessageType.MsgSnap,
    from,
    to,
    term: 1,
    snapshot: {
      data: new Uint8Array(0),
      metadata: {
        index,
        term: 1,
        confState: {
          voters: [1, 2],
          learners: [],
          votersOutgoing: [],
          learnersNext: [],
          autoLeave: false,
        },
      },
    },
  });
}

describe('groups on one connection (protocol 3)', () => {
  it('speaks protocol 3', () => {
    expect(PROTOCOL_VERSION).toBe(3);
  });

  it('delivers each message with the group it was sent for, in order per group', async () => {
    const got: [number, number][] = []; // [group, index]
    nodes = await cluster([1, 2], (id) =>
      id === 2 ? { onMessage: (m: Message, g: number) => void got.push([g, m.index]) } : {},
    );
    const [a] = nodes as [Node, Node];
    const groups = [0, 1, 7, 2 ** 40, Number.MAX_SAFE_INTEGER];
    for (let i = 1; i <= 20; i++) {
      for (const g of groups) a.t.send([app(1, 2, i)], g);
    }
    await waitFor(() => got.length === 100, '100 messages');
    for (const g of groups) {
      expect(got.filter(([x]) => x === g).map(([, i]) => i)).toEqual(
        Array.from({ length: 20 }, (_, k) => k + 1),
      );
    }
    expect(peerStats(a, 2).connects).toBe(1); // one connection for all of them
  });

  it('streams snapshots with their group: open, receive and the status name it', async () => {
    const opened: number[] = [];
    const received: number[] = [];
    const statuses: [number, string, number][] = [];
    const streams: SnapshotStreams = {
      open: (_m, g) => {
        opened.push(g);
        return (async function* () {
          yield new Uint8Array(1000).fill(g & 0xff);
        })();
      },
      receive: (m, g) => {
        received.push(g);
        const parts: Uint8Array[] = [];
        return {
          write: (c) => {
            parts.push(c);
          },
          finish: () => {
            // The data is the sender's group's: 1000 bytes of (g & 0xff).
            const all = Buffer.concat(parts);
            if (all.length !== 1000 || all.some((b) => b !== (g & 0xff)))
              throw new Error('bad data');
            return m;
          },
          abort: () => {},
        };
      },
    };
    const delivered: [number, number][] = [];
    nodes = await cluster([1, 2], (id) => ({
      snapshots: streams,
      ...(id === 1
        ? { onSnapshotStatus: (p: number, s: string, g: number) => void statuses.push([p, s, g]) }
        : { onMessage: (m: Message, g: number) => void delivered.push([m.type, g]) }),
    }));
    const [a] = nodes as [Node, Node];
    a.t.send([msgSnap(1, 2, 10)], 42);
    await waitFor(() => statuses.length === 1, 'snapshot status');
    a.t.send([msgSnap(1, 2, 11)]); // group 0: the plain SnapBegin frame
    await waitFor(() => statuses.length === 2, 'second snapshot status');
    expect(opened).toEqual([42, 0]);
    expect(received).toEqual([42, 0]);
    expect(delivered).toEqual([
      [MessageType.MsgSnap, 42],
      [MessageType.MsgSnap, 0],
    ]);
    expect(statuses).toEqual([
      [2, 'finish', 42],
      [2, 'finish', 0],
    ]);
  });

  it('snapshots of several groups to one peer go one after the other, none refused', async () => {
    const statuses: [number, string, number][] = [];
    const delivered: number[] = [];
    const streams: SnapshotStreams = {
      open: () =>
        (async function* () {
          yield new Uint8Array(300_000); // a few chunks, so the next ones have to wait
        })(),
      receive: (m) => ({ write: () => {}, finish: () => m, abort: () => {} }),
    };
    nodes = await cluster([1, 2], (id) => ({
      snapshots: streams,
      snapshotChunkSize: 64 << 10,
      ...(id === 1
        ? { onSnapshotStatus: (p: number, s: string, g: number) => void statuses.push([p, s, g]) }
        : { onMessage: (_m: Message, g: number) => void delivered.push(g) }),
    }));
    const [a] = nodes as [Node, Node];
    a.t.send([msgSnap(1, 2, 10)], 1);
    a.t.send([msgSnap(1, 2, 10)], 2);
    a.t.send([msgSnap(1, 2, 10)], 3);
    a.t.send([msgSnap(1, 2, 11)], 2); // group 2 already waits: this one is refused at once
    await waitFor(() => statuses.length === 4, 'four snapshot statuses');
    expect(statuses).toEqual([
      [2, 'failure', 2],
      [2, 'finish', 1],
      [2, 'finish', 2],
      [2, 'finish', 3],
    ]);
    expect(delivered).toEqual([1, 2, 3]);
  });

  it('refuses a bad group id in send() with a typed error and sends nothing', async () => {
    nodes = await cluster([1, 2]);
    const [a, b] = nodes as [Node, Node];
    for (const g of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => a.t.send([heartbeat(1, 2, 1)], g)).toThrow(
        expect.objectContaining({ code: 'TRANSPORT_INVALID_CONFIG' }),
      );
    }
    a.t.send([heartbeat(1, 2, 9)], 3);
    await waitFor(() => b.got.length === 1, 'the good one');
    expect(b.got[0]!.commit).toBe(9);
  });

  it('a protocol 2 peer dialing us is refused, and the log names both versions', async () => {
    const log = captureLogger();
    const a = makeNode(1, { logger: log, peers: { 3: '127.0.0.1:1' } });
    nodes = [a];
    await a.t.start();
    const r = new RawPeer(a.t.addr!);
    await r.connected();
    r.hello({ from: 3, to: 1 }, 2);
    expect(await r.reply()).toMatchObject({ kind: HandshakeKind.Reject, reason: 1, version: 3 });
    await r.closed;
    const line = log.lines.find((l) => l.obj.code === 'TRANSPORT_VERSION_MISMATCH');
    expect(line?.obj.err).toBe('peer speaks protocol 2, we speak 3');
  });

  it('dialing a protocol 2 peer fails with VERSION_MISMATCH naming both versions', async () => {
    // What a node of protocol 2 answers a HELLO of protocol 3 with.
    const old = net.createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => {
        s.end(
          encodeHandshake(
            { kind: HandshakeKind.Reject, reason: 1, from: 2, to: 1, clusterId: CLUSTER },
            2,
          ),
        );
      });
    });
    servers.push(old);
    await new Promise<void>((r) => old.listen(0, '127.0.0.1', () => r()));
    const port = (old.address() as net.AddressInfo).port;
    const log = captureLogger();
    const a = makeNode(1, { logger: log, peers: { 2: `127.0.0.1:${port}` } });
    nodes = [a];
    await a.t.start();
    await waitFor(() => peerStats(a, 2).lastError === 'TRANSPORT_VERSION_MISMATCH', 'refused');
    const line = log.lines.find((l) => l.obj.code === 'TRANSPORT_VERSION_MISMATCH');
    expect(line?.obj.err).toMatch(/speaks protocol 2, we speak 3/);
  });

  it('a group frame naming group 0 closes that connection as malformed', async () => {
    const got: number[] = [];
    const a = makeNode(1, { peers: { 3: '127.0.0.1:1' }, onMessage: (_m, g) => void got.push(g) });
    nodes = [a];
    await a.t.start();
    const r = new RawPeer(a.t.addr!);
    await r.connected();
    r.hello({ from: 3, to: 1 });
    expect((await r.reply())?.kind).toBe(HandshakeKind.Accept);
    const body = (g: number) => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(Math.floor(g / 2 ** 32), 0);
      head.writeUInt32BE(g >>> 0, 4);
      return Buffer.concat([head, encodeMessage(heartbeat(3, 1, 5))]);
    };
    r.frame(FrameKind.GroupMessage, body(9)); // a good one first
    r.frame(FrameKind.GroupMessage, body(0));
    await r.closed;
    expect(got).toEqual([9]);
    expect(peerStats(a, 3).lastError).toBe('TRANSPORT_BAD_FRAME');
  });
});
