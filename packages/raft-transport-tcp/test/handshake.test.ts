// Handshake refusals and malformed input: each closes that one connection with a typed, logged
// reason, and the other connections keep working.
import net from 'node:net';
import { MessageType, encodeMessage, newMessage } from '@tsraft/raft-core';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameKind } from '../src/framing.js';
import { HandshakeKind, PROTOCOL_VERSION, encodeHandshake } from '../src/handshake.js';
import {
  CLUSTER,
  type Node,
  RawPeer,
  app,
  captureLogger,
  cluster,
  connected,
  deadPort,
  heartbeat,
  makeNode,
  peerStats,
  stopAll,
  waitFor,
} from './helpers.js';

let nodes: Node[] = [];
afterEach(async () => {
  await stopAll(nodes);
  nodes = [];
});

describe('handshake refusals', () => {
  it('a wrong cluster id is refused on both sides, with the reason logged', async () => {
    const log1 = captureLogger();
    const log3 = captureLogger();
    const a = makeNode(1, { logger: log1 });
    const c = makeNode(3, { clusterId: 'another-cluster', logger: log3 });
    nodes = [a, c];
    await Promise.all([a.t.start(), c.t.start()]);
    a.t.addPeer(3, c.t.addr!);
    c.t.addPeer(1, a.t.addr!);
    await waitFor(
      () =>
        peerStats(a, 3).lastError === 'TRANSPORT_CLUSTER_MISMATCH' &&
        peerStats(c, 1).lastError === 'TRANSPORT_CLUSTER_MISMATCH',
      'both refused',
    );
    expect(connected(a, 3) || connected(c, 1)).toBe(false);
    expect(a.t.stats().inbound.rejected.TRANSPORT_CLUSTER_MISMATCH).toBeGreaterThanOrEqual(1);
    expect(log1.codes()).toContain('TRANSPORT_CLUSTER_MISMATCH');
    const line = log1.lines.find((l) => l.obj.code === 'TRANSPORT_CLUSTER_MISMATCH')!;
    expect(line.level).toBe('warn');
    expect(String(line.obj.err)).toMatch(/another-cluster/);
    expect(log3.codes()).toContain('TRANSPORT_CLUSTER_MISMATCH');
  });

  it('an unknown node id is refused', async () => {
    const log = captureLogger();
    const a = makeNode(1, { logger: log });
    const z = makeNode(9);
    nodes = [a, z];
    await Promise.all([a.t.start(), z.t.start()]);
    z.t.addPeer(1, a.t.addr!); // a does not know 9
    await waitFor(() => peerStats(z, 1).lastError === 'TRANSPORT_UNKNOWN_NODE', 'refused');
    expect(a.t.stats().inbound.rejected.TRANSPORT_UNKNOWN_NODE).toBeGreaterThanOrEqual(1);
    expect(log.codes()).toContain('TRANSPORT_UNKNOWN_NODE');
    expect(a.t.openSockets()).toBe(0);
  });

  it('a removed node is refused with REMOVED (not UNKNOWN_NODE), and is told so', async () => {
    const log = captureLogger();
    nodes = await cluster([1, 2]);
    const [a, b] = nodes as [Node, Node];
    const told: number[] = [];
    const z = makeNode(3, { logger: log, onRemoved: (peer) => told.push(peer) });
    nodes.push(z);
    await z.t.start();
    a.t.markRemoved(3); // a removed node 3 from the cluster; b never heard of it
    z.t.addPeer(1, a.t.addr!);
    z.t.addPeer(2, b.t.addr!);
    await waitFor(() => told.includes(1), 'onRemoved from node 1');
    expect(peerStats(z, 1).lastError).toBe('TRANSPORT_REMOVED');
    expect(a.t.stats().inbound.rejected.TRANSPORT_REMOVED).toBeGreaterThanOrEqual(1);
    await waitFor(() => peerStats(z, 2).lastError === 'TRANSPORT_UNKNOWN_NODE', 'unknown to 2');
    expect(told).not.toContain(2); // an unknown node may be one not heard of yet: no verdict
    // The pair 1-2 is untouched, and re-adding node 3 lifts the refusal.
    expect(connected(a, 2)).toBe(true);
    a.t.addPeer(3, z.t.addr!);
    await waitFor(() => connected(a, 3) || connected(z, 1), 'connected after addPeer');
  });

  it('a node answering at the wrong address is refused (both directions)', async () => {
    nodes = await cluster([1, 2]);
    const [a] = nodes as [Node];
    const c = makeNode(3);
    nodes.push(c);
    await c.t.start();
    c.t.addPeer(2, a.t.addr!); // c believes node 2 lives at node 1's address
    await waitFor(() => peerStats(c, 2).lastError === 'TRANSPORT_WRONG_NODE', 'refused');
    expect(a.t.stats().inbound.rejected.TRANSPORT_WRONG_NODE).toBeGreaterThanOrEqual(1);
  });

  it('a version mismatch is refused with a REJECT that says so', async () => {
    const log = captureLogger();
    const a = makeNode(1, { logger: log });
    nodes = [a];
    await a.t.start();
    a.t.addPeer(3, `127.0.0.1:${await deadPort()}`);
    const r = new RawPeer(a.t.addr!);
    await r.connected();
    r.hello({ from: 3, to: 1 }, PROTOCOL_VERSION - 1);
    const reply = await r.reply();
    expect(reply).toMatchObject({
      kind: HandshakeKind.Reject,
      reason: 1,
      version: PROTOCOL_VERSION,
      from: 1,
    });
    await r.closed;
    expect(log.codes()).toContain('TRANSPORT_VERSION_MISMATCH');
    expect(a.t.stats().inbound.rejected.TRANSPORT_VERSION_MISMATCH).toBe(1);
  });

  it('a silent client is dropped after handshakeTimeout', async () => {
    const a = makeNode(1, { handshakeTimeout: 100 });
    nodes = [a];
    await a.t.start();
    const r = new RawPeer(a.t.addr!);
    await r.connected();
    await r.closed;
    expect(a.t.stats().inbound.rejected.TRANSPORT_HANDSHAKE_TIMEOUT).toBe(1);
  });
});

describe('malformed input closes that connection only', () => {
  // T (5) is the target; G (6) a good peer exchanging with it throughout; the raw client
  // claims to be node 3 (lower than 5, so T takes its HELLO over T's own dial to 3).
  const cases: [string, (r: RawPeer) => void, string][] = [
    ['garbage bytes', (r) => r.write(Buffer.from('GET / HTTP/1.1\r\n\r\n')), 'TRANSPORT_BAD_MAGIC'],
    [
      'an oversized length',
      (r) => r.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1])),
      'TRANSPORT_FRAME_TOO_LARGE',
    ],
    ['a zero length', (r) => r.write(Buffer.from([0, 0, 0, 0])), 'TRANSPORT_FRAME_TOO_LARGE'],
    ['an unknown frame kind', (r) => r.frame(77, Buffer.from([1])), 'TRANSPORT_BAD_FRAME'],
    [
      'invalid protobuf',
      (r) => r.frame(FrameKind.Message, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x7f])),
      'TRANSPORT_CODEC',
    ],
    [
      'an unknown message type',
      (r) => r.frame(FrameKind.Message, Buffer.from([0x08, 99])),
      'TRANSPORT_CODEC',
    ],
    [
      'a truncated frame',
      (r) => {
        r.write(Buffer.from([0, 0, 0, 100, 1, 1, 2, 3]));
        r.socket.end();
      },
      'TRANSPORT_TRUNCATED',
    ],
    [
      'a message claiming another sender',
      (r) => r.frame(FrameKind.Message, encodeMessage(app(4, 5, 1))),
      'TRANSPORT_BAD_MESSAGE',
    ],
    [
      // Only a term-less MsgProp / MsgReadIndex may name another sender (a relayed request).
      'a relayed proposal with a term',
      (r) =>
        r.frame(
          FrameKind.Message,
          encodeMessage(newMessage({ type: MessageType.MsgProp, from: 4, to: 5, term: 1 })),
        ),
      'TRANSPORT_BAD_MESSAGE',
    ],
    [
      'a relayed read request for another node',
      (r) =>
        r.frame(
          FrameKind.Message,
          encodeMessage(newMessage({ type: MessageType.MsgReadIndex, from: 4, to: 6 })),
        ),
      'TRANSPORT_BAD_MESSAGE',
    ],
    [
      'a relayed proposal from nobody',
      (r) =>
        r.frame(
          FrameKind.Message,
          encodeMessage(newMessage({ type: MessageType.MsgProp, from: 0, to: 5 })),
        ),
      'TRANSPORT_BAD_MESSAGE',
    ],
    [
      'a local message type',
      (r) =>
        r.frame(
          FrameKind.Message,
          encodeMessage(newMessage({ type: MessageType.MsgHup, from: 3, to: 5 })),
        ),
      'TRANSPORT_BAD_MESSAGE',
    ],
    [
      'a snapshot chunk without a begin',
      (r) => r.frame(FrameKind.SnapChunk, Buffer.from([0, 0, 0, 1, 9, 9])),
      'TRANSPORT_BAD_FRAME',
    ],
    [
      'window credit never earned',
      (r) => r.frame(FrameKind.Window, Buffer.from([0, 0, 1, 0])),
      'TRANSPORT_BAD_FRAME',
    ],
  ];

  it.each(cases)('%s', async (_name, send, code) => {
    const log = captureLogger();
    nodes = await cluster([5, 6], (id) => (id === 5 ? { logger: log, maxFrameSize: 1 << 20 } : {}));
    const [t, g] = nodes as [Node, Node];
    t.t.addPeer(3, `127.0.0.1:${await deadPort()}`);
    await waitFor(() => connected(t, 6) && connected(g, 5), 'good connection');

    const r = new RawPeer(t.t.addr!);
    await r.connected();
    if (code !== 'TRANSPORT_BAD_MAGIC') {
      r.hello({ from: 3, to: 5 });
      expect(await r.reply()).toMatchObject({ kind: HandshakeKind.Accept, from: 5, to: 3 });
      r.frame(FrameKind.Message, encodeMessage(heartbeat(3, 5, 42))); // a good frame first
      await waitFor(() => t.got.some((m) => m.from === 3 && m.commit === 42), 'good frame');
    }
    send(r);
    await r.closed;
    await waitFor(() => log.codes().includes(code), `${code} logged`);
    const line = log.lines.find((l) => l.obj.code === code)!;
    expect(line.level).toBe('warn');
    if (code === 'TRANSPORT_BAD_MAGIC') {
      expect(t.t.stats().inbound.malformed).toBe(1);
    } else {
      // Peer 3's address is a dead port: a redial after the close may have failed since.
      expect([code, 'TRANSPORT_SOCKET']).toContain(peerStats(t, 3).lastError);
      expect(peerStats(t, 3).malformed).toBe(1);
    }
    // The good connection never noticed.
    t.t.send([app(5, 6, 1)]);
    g.t.send([app(6, 5, 2)]);
    await waitFor(() => g.got.length === 1 && t.got.some((m) => m.from === 6), 'good peer');
    expect(peerStats(t, 6).connects).toBe(1);
  });
});

describe('a HELLO from a peer we already have a connection with', () => {
  it('is refused while our connection answers a ping', async () => {
    nodes = await cluster([1, 2], () => ({ handshakeTimeout: 200 }));
    const [a, b] = nodes as [Node, Node];
    await waitFor(() => connected(a, 2) && connected(b, 1), 'connection');
    expect(peerStats(a, 2).direction).toBe('outbound');
    const r = new RawPeer(a.t.addr!);
    await r.connected();
    r.hello({ from: 2, to: 1 });
    expect(await r.reply()).toMatchObject({ kind: HandshakeKind.Reject, reason: 5 });
    await r.closed;
    await new Promise((res) => setTimeout(res, 400)); // past the ping's deadline
    expect(peerStats(a, 2).connects).toBe(1);
    expect(connected(a, 2)).toBe(true);
  });

  it('replaces a connection that does not answer the ping (stale)', async () => {
    // "Node 2" accepts node 1's dial, then goes silent without closing: a half-open connection.
    const silent = net.createServer((s) => {
      s.on('error', () => {});
      s.once('data', () =>
        s.write(
          encodeHandshake({
            kind: HandshakeKind.Accept,
            reason: 0,
            from: 2,
            to: 1,
            clusterId: CLUSTER,
          }),
        ),
      );
    });
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', () => res()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const a = makeNode(1, { handshakeTimeout: 200 });
      nodes = [a];
      await a.t.start();
      a.t.addPeer(2, `127.0.0.1:${port}`);
      await waitFor(() => connected(a, 2), 'connection to the silent node');
      const r = new RawPeer(a.t.addr!); // the real node 2, which lost its end, dials
      await r.connected();
      r.hello({ from: 2, to: 1 });
      expect(await r.reply()).toMatchObject({ kind: HandshakeKind.Reject, reason: 5 });
      await waitFor(() => peerStats(a, 2).connects === 2, 'stale connection replaced by a redial');
      expect(peerStats(a, 2).lastError).toBe('TRANSPORT_SOCKET');
    } finally {
      silent.close();
      for (const n of nodes) await n.t.stop();
      nodes = [];
    }
  });
});
