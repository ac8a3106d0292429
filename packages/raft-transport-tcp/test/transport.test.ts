import net from 'node:net';
import { MessageType } from '@tsraft/raft-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type Node,
  app,
  cluster,
  connected,
  deadPort,
  heartbeat,
  makeNode,
  peerStats,
  sleep,
  stopAll,
  waitFor,
} from './helpers.js';

let nodes: Node[] = [];
afterEach(async () => {
  await stopAll(nodes);
  nodes = [];
});

const seq = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('TcpTransport: exchange', () => {
  it('two transports exchange messages both ways, in order, over one connection', async () => {
    nodes = await cluster([1, 2]);
    const [a, b] = nodes as [Node, Node];
    await waitFor(() => connected(a, 2) && connected(b, 1), 'connection');
    const N = 2000;
    for (let i = 1; i <= N; i++) {
      a.t.send([app(1, 2, i), heartbeat(1, 2, i)]);
      b.t.send([app(2, 1, i)]);
    }
    await waitFor(() => b.got.length === 2 * N && a.got.length === N, 'all messages');
    const appsAtB = b.got.filter((m) => m.type === MessageType.MsgApp).map((m) => m.index);
    const hbsAtB = b.got.filter((m) => m.type === MessageType.MsgHeartbeat).map((m) => m.commit);
    expect(appsAtB).toEqual(seq(N));
    expect(hbsAtB).toEqual(seq(N));
    expect(a.got.map((m) => m.index)).toEqual(seq(N));
    const first = b.got.find((m) => m.type === MessageType.MsgApp)!;
    expect(first.entries[0]!.data).toEqual(new Uint8Array(16).fill(1));
    expect(first).toMatchObject({ from: 1, to: 2, term: 1, index: 1, logTerm: 1, commit: 1 });
    // One TCP connection: one socket at each end, and both agree on who dialed it.
    expect(a.t.openSockets()).toBe(1);
    expect(b.t.openSockets()).toBe(1);
    const da = peerStats(a, 2).direction;
    const db = peerStats(b, 1).direction;
    expect([da, db].sort()).toEqual(['inbound', 'outbound']);
    expect(peerStats(a, 2).messagesSent).toBe(2 * N);
    expect(peerStats(b, 1).messagesReceived).toBe(2 * N);
    // Window credit frames may still be in flight: wait for the counts to meet.
    await waitFor(
      () => peerStats(a, 2).bytesSent === peerStats(b, 1).bytesReceived,
      'byte counts to agree',
    );
  });

  it('three transports: every pair exchanges, in order per connection', async () => {
    nodes = await cluster([1, 2, 3]);
    for (const n of nodes) {
      for (const p of nodes) if (p !== n) await waitFor(() => connected(n, p.id), 'mesh');
    }
    const N = 500;
    for (let i = 1; i <= N; i++) {
      for (const n of nodes) {
        n.t.send(nodes.filter((p) => p !== n).map((p) => app(n.id, p.id, i)));
      }
    }
    await waitFor(() => nodes.every((n) => n.got.length === 2 * N), 'all messages');
    for (const n of nodes) {
      for (const p of nodes) {
        if (p === n) continue;
        expect(n.got.filter((m) => m.from === p.id).map((m) => m.index)).toEqual(seq(N));
      }
      expect(n.t.openSockets()).toBe(2);
    }
  });

  it('a simultaneous dial from both sides ends with one connection, dialed by the lower id', async () => {
    for (let round = 0; round < 8; round++) {
      const a = makeNode(1);
      const b = makeNode(2);
      nodes = [a, b];
      await Promise.all([a.t.start(), b.t.start()]);
      // Same tick: both dial before either hears from the other.
      a.t.addPeer(2, b.t.addr!);
      b.t.addPeer(1, a.t.addr!);
      await waitFor(
        () =>
          connected(a, 2) && connected(b, 1) && a.t.openSockets() === 1 && b.t.openSockets() === 1,
        'one connection',
      );
      expect(peerStats(a, 2).direction).toBe('outbound');
      expect(peerStats(b, 1).direction).toBe('inbound');
      expect(peerStats(a, 2).connects).toBe(1);
      expect(peerStats(b, 1).connects).toBe(1);
      expect(peerStats(b, 1).connectFailures).toBe(0); // yielding is not a failure
      a.t.send([heartbeat(1, 2, 1)]);
      b.t.send([heartbeat(2, 1, 1)]);
      await waitFor(() => a.got.length === 1 && b.got.length === 1, 'both ways');
      await stopAll(nodes);
    }
    nodes = [];
  });

  it('a peer that restarts is reconnected, with backoff between failed dials', async () => {
    const backoff = { initialInterval: 10, maxInterval: 80, multiplier: 2, jitter: 0.1 };
    nodes = await cluster([1, 2], () => ({ backoff }));
    const [a, b] = nodes as [Node, Node];
    await waitFor(() => connected(a, 2) && connected(b, 1), 'connection');
    const port = Number(b.t.addr!.split(':')[1]);
    await b.t.stop();
    await waitFor(() => !connected(a, 2), 'a notices');
    const before = peerStats(a, 2).connectFailures;
    await sleep(400);
    const failures = peerStats(a, 2).connectFailures - before;
    // 10+20+40+80+80+… ms: about 7 dials in 400 ms, nowhere near a busy loop.
    expect(failures).toBeGreaterThanOrEqual(3);
    expect(failures).toBeLessThanOrEqual(12);
    expect(peerStats(a, 2).lastError).toBe('TRANSPORT_SOCKET');

    const b2 = makeNode(2, { listen: `127.0.0.1:${port}`, backoff });
    nodes = [a, b2];
    await b2.t.start();
    b2.t.addPeer(1, a.t.addr!);
    await waitFor(() => connected(a, 2) && connected(b2, 1), 'reconnection');
    a.t.send([app(1, 2, 7)]);
    await waitFor(() => b2.got.length === 1, 'message after restart');
    expect(b2.got[0]!.index).toBe(7);
    expect(peerStats(a, 2).connects).toBeGreaterThanOrEqual(2);
    expect(peerStats(a, 2).breaker).toBe('closed');
  });
});

describe('TcpTransport: queues and lanes', () => {
  it('a per-peer queue bounded in bytes drops and counts what does not fit', async () => {
    const port = await deadPort();
    const a = makeNode(1, {
      maxQueueBytes: 10_000,
      backoff: { initialInterval: 1000, maxInterval: 1000 },
    });
    nodes = [a];
    await a.t.start();
    a.t.addPeer(2, `127.0.0.1:${port}`);
    for (let i = 1; i <= 100; i++) a.t.send([app(1, 2, i, 1000)]);
    a.t.send([heartbeat(1, 2, 1)]); // the control lane has its own room
    const s = peerStats(a, 2);
    expect(s.queuedBytes).toBeLessThanOrEqual(10_000 + 200);
    expect(s.dropped.queueFull).toBe(100 - s.queuedMessages + 1);
    expect(s.dropped.queueFull).toBeGreaterThan(85);
    await waitFor(() => a.unreachable.includes(2), 'dropped appends reported unreachable');
    // Messages for unknown peers are counted, not thrown.
    a.t.send([app(1, 99, 1)]);
    expect(a.t.stats().droppedUnknownPeer).toBe(1);
  });

  it('a heartbeat is not stuck behind megabytes of appends', async () => {
    nodes = await cluster([1, 2], () => ({ maxQueueBytes: 32 << 20 }));
    const [a, b] = nodes as [Node, Node];
    await waitFor(() => connected(a, 2), 'connection');
    const N = 200; // 200 × 64 KiB = 12.5 MiB of appends
    for (let i = 1; i <= N; i++) a.t.send([app(1, 2, i, 64 << 10)]);
    await new Promise((r) => setImmediate(r)); // the first batch is on the socket
    a.t.send([heartbeat(1, 2, 1)]);
    await waitFor(() => b.got.length === N + 1, 'everything', 20_000);
    const pos = b.got.findIndex((m) => m.type === MessageType.MsgHeartbeat);
    // Behind at most one send window (1 MiB = 16 appends) already on the wire, not 12 MiB.
    expect(pos).toBeLessThanOrEqual(17);
    expect(peerStats(a, 2).dropped.queueFull).toBe(0);
  });
});

describe('TcpTransport: circuit breaker', () => {
  it('opens after repeated failures, reports unreachable, half-opens after its timeout', async () => {
    const port = await deadPort();
    const a = makeNode(1, {
      backoff: { initialInterval: 2, maxInterval: 5, jitter: 0 },
      breaker: { failureThreshold: 3, resetTimeout: 300 },
    });
    nodes = [a];
    await a.t.start();
    a.t.addPeer(2, `127.0.0.1:${port}`);
    await waitFor(() => peerStats(a, 2).breaker === 'open', 'breaker open');
    expect(peerStats(a, 2).connectFailures).toBe(3);
    await waitFor(() => a.unreachable.includes(2), 'onUnreachable');
    // While open: no dials, and sends are dropped (and reported) at once.
    a.t.send([app(1, 2, 1)]);
    expect(peerStats(a, 2).dropped.unreachable).toBeGreaterThanOrEqual(1);
    expect(peerStats(a, 2).queuedMessages).toBe(0);
    await sleep(60);
    expect(peerStats(a, 2).connectFailures).toBe(3);
    // After the timeout one trial dial fails and the breaker opens again.
    await waitFor(() => peerStats(a, 2).connectFailures === 4, 'trial dial', 2000);
    expect(peerStats(a, 2).breaker).toBe('open');

    // The peer comes up: the next trial succeeds and closes the breaker.
    const b = makeNode(2, { listen: `127.0.0.1:${port}` });
    nodes = [a, b];
    await b.t.start();
    b.t.addPeer(1, `127.0.0.1:${await deadPort()}`); // b cannot dial a: a's trial must do it
    await waitFor(() => connected(a, 2) && peerStats(a, 2).breaker === 'closed', 'closed', 3000);
    expect(peerStats(a, 2).direction).toBe('outbound');
    a.t.send([app(1, 2, 5)]);
    await waitFor(() => b.got.length === 1, 'message');
  });
});

describe('TcpTransport: lifecycle', () => {
  it('removePeer closes the connection; stop() closes everything and silences callbacks', async () => {
    nodes = await cluster([1, 2, 3]);
    const [a, b, c] = nodes as [Node, Node, Node];
    await waitFor(() => connected(a, 2) && connected(a, 3), 'mesh');
    a.t.removePeer(3);
    expect(a.t.stats().peers.map((p) => p.id)).toEqual([2]);
    await waitFor(() => !connected(c, 1), 'c sees the close');
    a.t.send([app(1, 3, 1)]);
    expect(a.t.stats().droppedUnknownPeer).toBe(1);
    await b.t.stop();
    expect(b.t.openSockets()).toBe(0);
    b.t.send([app(2, 1, 1)]); // a no-op after stop
    await sleep(20);
    expect(a.got.length).toBe(0);
  });

  it('validates options with typed errors', () => {
    const base = { clusterId: 'x', listen: '127.0.0.1:0', onMessage: () => {} };
    expect(() => makeNode(0)).toThrow(/positive safe integer/);
    expect(() => makeNode(1, { listen: 'nope' })).toThrow(/host:port/);
    expect(() => makeNode(1, { clusterId: 'x'.repeat(300) })).toThrow(/255/);
    expect(() => makeNode(1, { peers: { 1: '127.0.0.1:1' } })).toThrow(/bad peer id/);
    expect(() => makeNode(1, { maxFrameSize: 10 })).toThrow(/maxFrameSize/);
    try {
      makeNode(1, { ...base, snapshotChunkSize: 0 });
    } catch (e) {
      expect((e as { code: string }).code).toBe('TRANSPORT_INVALID_CONFIG');
    }
  });
});

describe('TcpTransport: before start', () => {
  it('queues messages sent before start() and delivers them once connected', async () => {
    const a = makeNode(1);
    const b = makeNode(2);
    nodes = [a, b];
    await b.t.start();
    a.t.addPeer(2, b.t.addr!);
    a.t.send([heartbeat(1, 2, 1)]);
    expect(a.t.openSockets()).toBe(0); // no dial before start()
    await a.t.start();
    b.t.addPeer(1, a.t.addr!);
    await waitFor(() => b.got.length === 1, 'delivered after start');
  });
});

describe('TcpTransport: coalescing', () => {
  it('messages sent in one turn of the event loop go out in one socket write', async () => {
    nodes = await cluster([1, 2]);
    const [a, b] = nodes as [Node, Node];
    await waitFor(() => connected(a, 2) && connected(b, 1), 'connection');
    await sleep(20); // let handshake-time traffic settle
    const writes = vi.spyOn(net.Socket.prototype, 'write');
    try {
      for (let i = 1; i <= 1000; i++) a.t.send([heartbeat(1, 2, i)]);
      await waitFor(() => b.got.length === 1000, 'all heartbeats');
      const fromA = writes.mock.contexts.filter((s) => s === writesOf(a)).length;
      expect(fromA).toBe(1);
    } finally {
      writes.mockRestore();
    }
  });
});

describe('TcpTransport: window credit', () => {
  it("credit for an append rides on the receiver's next batch instead of a write of its own", async () => {
    let b: Node | undefined;
    const a = makeNode(1);
    // b answers the append in the next turn of the event loop (check phase), before any timer.
    b = makeNode(2, {
      onMessage: (m) => {
        b!.got.push(m);
        if (m.type === MessageType.MsgApp) setImmediate(() => b!.t.send([heartbeat(2, 1, 7)]));
      },
    });
    nodes = [a, b];
    await Promise.all(nodes.map((n) => n.t.start()));
    a.t.addPeer(2, b.t.addr!);
    b.t.addPeer(1, a.t.addr!);
    await waitFor(() => connected(a, 2) && connected(b!, 1), 'connection');
    await sleep(20); // let handshake-time traffic settle
    // Socket writes as the kernel sees them: one buffer (_write) or a corked batch (_writev).
    const single = vi.spyOn(net.Socket.prototype, '_write');
    const vector = vi.spyOn(net.Socket.prototype, '_writev');
    try {
      a.t.send([app(1, 2, 1)]);
      await waitFor(() => a.got.length === 1, 'the answer');
      const fromB = [single, vector]
        .flatMap((w) => w.mock.contexts)
        .filter((s) => s === writesOf(b!)).length;
      expect(fromB).toBe(1); // the heartbeat, carrying the credit
    } finally {
      single.mockRestore();
      vector.mockRestore();
    }
    await waitFor(
      () => peerStats(a, 2).bytesSent === peerStats(b!, 1).bytesReceived,
      'byte counts to agree',
    );
  });

  it("a sender whose window is far smaller than the receiver's is not stalled by held credit", async () => {
    // b holds back credit below a quarter of its own 4 MiB window; a may have only 8 KiB in
    // flight, so without b's credit timer a would stop after eight appends.
    nodes = await cluster([1, 2], (id) => (id === 1 ? { sendWindow: 8 << 10 } : {}));
    const [a, b] = nodes as [Node, Node];
    await waitFor(() => connected(a, 2) && connected(b, 1), 'connection');
    const N = 200;
    for (let i = 1; i <= N; i++) a.t.send([app(1, 2, i, 1024)]);
    await waitFor(() => b.got.length === N, 'all appends', 10_000);
    expect(b.got.map((m) => m.index)).toEqual(seq(N));
  });
});

/** The socket node `n` uses for its only peer. */
function writesOf(n: Node): net.Socket {
  // biome-ignore lint/suspicious/noExplicitAny: test-only peek at the peer's connection
  return (n.t as any).peers.values().next().value.conn.socket;
}
