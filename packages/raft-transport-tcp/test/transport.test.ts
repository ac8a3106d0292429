import { MessageType } from '@tsraft/raft-core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Node,
  app,
  cluster,
  connected,
  heartbeat,
  peerStats,
  stopAll,
  waitFor,
} from './helpers.js';

let nodes: Node[] = [];
afterEach(async () => {
  await stopAll(nodes);
  nodes = [];
});

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
    expect(appsAtB).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(hbsAtB).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(a.got.map((m) => m.index)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(b.got.find((m) => m.type === MessageType.MsgApp)!.entries[0]!.data).toEqual(
      new Uint8Array(16).fill(1),
    );
    // One TCP connection: one socket at each end, and both see the same dialer.
    expect(a.t.openSockets()).toBe(1);
    expect(b.t.openSockets()).toBe(1);
    const da = peerStats(a, 2).direction;
    const db = peerStats(b, 1).direction;
    expect(da === 'outbound' ? db : da).toBe('inbound');
    expect(peerStats(a, 2).messagesSent).toBe(2 * N);
    expect(peerStats(b, 1).messagesReceived).toBe(2 * N);
  });
});
