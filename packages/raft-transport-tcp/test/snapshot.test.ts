import { createHash } from 'node:crypto';
import { type Message, MessageType, newConfState, newMessage } from '@tsraft/raft-core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Node,
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

function snap(from: number, to: number, size: number, index = 100): Message {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >> 11)) & 0xff;
  return newMessage({
    type: MessageType.MsgSnap,
    from,
    to,
    term: 3,
    snapshot: {
      data,
      metadata: { index, term: 2, confState: newConfState({ voters: [1, 2, 3] }) },
    },
  });
}

const sha = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

describe('snapshot streaming', () => {
  it('streams a large snapshot in chunks beside heartbeats and reports finish', async () => {
    nodes = await cluster([1, 2], () => ({ snapshotChunkSize: 64 << 10 }));
    const [a, b] = nodes as [Node, Node];
    await waitFor(() => connected(a, 2), 'connection');
    const m = snap(1, 2, 3 << 20);
    a.t.send([m]);
    let commit = 0;
    const hb = setInterval(() => a.t.send([heartbeat(1, 2, ++commit)]), 1);
    try {
      await waitFor(() => a.snapStatus.length === 1, 'snapshot status', 10_000);
    } finally {
      clearInterval(hb);
    }
    expect(a.snapStatus).toEqual([[2, 'finish']]);
    const at = b.got.findIndex((x) => x.type === MessageType.MsgSnap);
    const got = b.got[at]!;
    expect(got.snapshot!.metadata).toEqual(m.snapshot!.metadata);
    expect(got.term).toBe(3);
    expect(got.snapshot!.data.length).toBe(3 << 20);
    expect(sha(got.snapshot!.data)).toBe(sha(m.snapshot!.data));
    expect(got.snapshot!.data).toBeInstanceOf(Uint8Array);
    expect(b.got.slice(0, at).some((x) => x.type === MessageType.MsgHeartbeat)).toBe(true);
    expect(peerStats(a, 2).snapshots).toEqual({ sent: 1, failed: 0, received: 0 });
    expect(peerStats(b, 1).snapshots).toEqual({ sent: 0, failed: 0, received: 1 });
    // A second one, empty, after the first finished.
    a.t.send([snap(1, 2, 0, 200)]);
    await waitFor(() => a.snapStatus.length === 2, 'second status');
    expect(a.snapStatus[1]).toEqual([2, 'finish']);
    expect(b.got.filter((x) => x.type === MessageType.MsgSnap).length).toBe(2);
  });

  it('reports failure when the receiver refuses it, and the connection lives on', async () => {
    nodes = await cluster([1, 2]);
    const [a, b] = nodes as [Node, Node];
    const orig = b.got.push.bind(b.got);
    b.got.push = (...ms: Message[]) => {
      if (ms.some((x) => x.type === MessageType.MsgSnap)) throw new Error('no thanks');
      return orig(...ms);
    };
    await waitFor(() => connected(a, 2), 'connection');
    a.t.send([snap(1, 2, 100_000)]);
    await waitFor(() => a.snapStatus.length === 1, 'status');
    expect(a.snapStatus).toEqual([[2, 'failure']]);
    a.t.send([heartbeat(1, 2, 5)]);
    await waitFor(() => b.got.length === 1, 'heartbeat after');
    expect(peerStats(a, 2).connects).toBe(1);
  });

  it('one stream per peer at a time: a second snapshot fails at once, the first finishes', async () => {
    nodes = await cluster([1, 2]);
    const [a] = nodes as [Node];
    await waitFor(() => connected(a, 2), 'connection');
    a.t.send([snap(1, 2, 2 << 20), snap(1, 2, 10, 101)]);
    await waitFor(() => a.snapStatus.length === 2, 'both statuses');
    expect(a.snapStatus).toEqual([
      [2, 'failure'],
      [2, 'finish'],
    ]);
  });

  it('fails for an unreachable peer and for an unknown one', async () => {
    const a = makeNode(1, {
      backoff: { initialInterval: 150, maxInterval: 150 },
      breaker: { failureThreshold: 2, resetTimeout: 10_000 },
    });
    nodes = [a];
    await a.t.start();
    a.t.addPeer(2, `127.0.0.1:${await deadPort()}`);
    // It does not wait out the retries for a connection (it would be stale by then): the
    // first failed dial fails it, long before the breaker opens.
    a.t.send([snap(1, 2, 1000)]);
    await waitFor(() => a.snapStatus.length === 1, 'failure after the failed dial');
    expect(a.snapStatus[0]).toEqual([2, 'failure']);
    expect(peerStats(a, 2)).toMatchObject({ connectFailures: 1, breaker: 'closed' });
    await waitFor(() => peerStats(a, 2).breaker === 'open', 'breaker open');
    a.t.send([snap(1, 2, 1000)]); // breaker open: fails at once
    a.t.send([snap(1, 7, 1000)]); // not a peer
    await waitFor(() => a.snapStatus.length === 3, 'more failures');
    expect(a.snapStatus.slice(1)).toEqual([
      [2, 'failure'],
      [7, 'failure'],
    ]);
  });

  it('a snapshot over the receiver’s maxSnapshotSize closes the connection and fails', async () => {
    nodes = await cluster([1, 2], (id) => (id === 2 ? { maxSnapshotSize: 1 << 20 } : {}));
    const [a, b] = nodes as [Node, Node];
    await waitFor(() => connected(a, 2), 'connection');
    a.t.send([snap(1, 2, 2 << 20)]);
    await waitFor(() => a.snapStatus.length === 1, 'status');
    expect(a.snapStatus).toEqual([[2, 'failure']]);
    await waitFor(() => peerStats(b, 1).lastError === 'TRANSPORT_SNAPSHOT_TOO_LARGE', 'reason');
    // And they reconnect.
    await waitFor(() => connected(a, 2) && connected(b, 1), 'reconnected');
    a.t.send([heartbeat(1, 2, 1)]);
    await waitFor(() => b.got.length === 1, 'heartbeat');
  });
});

describe('snapshot beside appends', () => {
  it('a snapshot and a stream of appends to the same peer both make progress', async () => {
    nodes = await cluster([1, 2], () => ({ maxQueueBytes: 64 << 20 }));
    const [a, b] = nodes as [Node, Node];
    await waitFor(() => connected(a, 2), 'connection');
    // 8 MiB of appends queued first, then a 1 MiB snapshot: the snapshot does not wait for all
    // of them (the two take turns going first in each write).
    const N = 512;
    for (let i = 1; i <= N; i++) a.t.send([appMsg(i, 16 << 10)]);
    a.t.send([snap(1, 2, 1 << 20)]);
    await waitFor(() => a.snapStatus.length === 1, 'snapshot status', 10_000);
    const at = b.got.findIndex((x) => x.type === MessageType.MsgSnap);
    expect(a.snapStatus[0]).toEqual([2, 'finish']);
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(N / 2);
    await waitFor(() => b.got.length === N + 1, 'everything');
    const indexes = b.got.filter((x) => x.type === MessageType.MsgApp).map((x) => x.index);
    expect(indexes).toEqual(Array.from({ length: N }, (_, i) => i + 1));
  });
});

function appMsg(index: number, size: number): Message {
  return newMessage({
    type: MessageType.MsgApp,
    from: 1,
    to: 2,
    term: 1,
    index,
    entries: [{ term: 1, index: index + 1, type: 0, data: new Uint8Array(size) }],
  });
}
