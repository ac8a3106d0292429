// A deposed leader re-forwards the proposals and read requests its followers had sent it.
//
// etcd/raft keeps the original `from` on a forwarded MsgProp / MsgReadIndex (the leader answers
// a read to `m.from`, the node that asked), so such a message reaches the new leader on the
// connection with the deposed leader while naming another node. The transport must deliver it
// instead of closing a healthy connection as TRANSPORT_BAD_MESSAGE (issue 14): three RawNodes
// over real transports on 127.0.0.1, driven by hand (no ticks needed, no timers).
import {
  EntryType,
  type Message,
  MemoryStorage,
  MessageType,
  type NodeId,
  RawNode,
  StateType,
} from '@tsraft/raft-core';
import { afterEach, expect, it } from 'vitest';
import { TcpTransport } from '../src/index.js';
import { CLUSTER, FAST, captureLogger, waitFor } from './helpers.js';

interface Member {
  id: NodeId;
  node: RawNode;
  storage: MemoryStorage;
  transport: TcpTransport;
  applied: string[];
  reads: string[];
  /** While paused (a SIGSTOPped process), what arrives waits here unstepped. */
  held: Message[] | null;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
let members: Member[] = [];
const logger = captureLogger();

afterEach(async () => {
  await Promise.all(members.map((m) => m.transport.stop()));
  members = [];
});

function drain(m: Member): void {
  while (m.node.hasReady()) {
    const rd = m.node.ready();
    m.storage.append(rd.entries);
    if (rd.hardState !== undefined) m.storage.setHardState(rd.hardState);
    m.transport.send(rd.messages);
    for (const e of rd.committedEntries) {
      if (e.type === EntryType.EntryNormal && e.data.length > 0) m.applied.push(dec.decode(e.data));
    }
    for (const rs of rd.readStates) m.reads.push(dec.decode(rs.requestCtx));
    m.node.advance();
  }
}

function step(m: Member, msg: Message): void {
  try {
    m.node.step(msg);
  } catch {
    // A dropped proposal (no leader yet) is the sender's loss, as in a real driver.
  }
  drain(m);
}

async function start(ids: NodeId[]): Promise<Member[]> {
  const ms = ids.map((id): Member => {
    const storage = new MemoryStorage();
    const node = new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1 });
    node.bootstrap(ids.map((p) => ({ id: p })));
    const m: Member = {
      id,
      node,
      storage,
      applied: [],
      reads: [],
      held: null,
      transport: undefined as never,
    };
    m.transport = new TcpTransport({
      id,
      clusterId: CLUSTER,
      listen: '127.0.0.1:0',
      logger,
      onMessage: (msg) => (m.held !== null ? m.held.push(msg) : step(m, msg)),
      ...FAST,
    });
    return m;
  });
  members = ms;
  await Promise.all(ms.map((m) => m.transport.start()));
  for (const a of ms) for (const b of ms) if (a !== b) a.transport.addPeer(b.id, b.transport.addr!);
  for (const m of ms) drain(m);
  return ms;
}

const isRequest = (m: Message) =>
  m.type === MessageType.MsgProp || m.type === MessageType.MsgReadIndex;
const leads = (m: Member) => m.node.basicStatus().softState.raftState === StateType.Leader;
const peer = (m: Member, id: NodeId) => m.transport.stats().peers.find((p) => p.id === id)!;

it('a deposed leader re-forwards followers MsgProp and MsgReadIndex to the new leader', async () => {
  const [n1, n2, n3] = await start([1, 2, 3]);
  n2!.node.campaign();
  drain(n2!);
  await waitFor(() => leads(n2!) && n1!.node.basicStatus().softState.lead === 2, 'node 2 leads');
  await waitFor(() => peer(n1!, 2).connection === 'connected', 'nodes 1 and 2 connected');
  const connects = peer(n1!, 2).connects;

  // Node 2 stops (SIGSTOP): what the followers forward to it waits in its socket.
  n2!.held = [];
  n3!.node.propose(enc.encode('prop-from-3'));
  n3!.node.readIndex(enc.encode('read-from-3'));
  drain(n3!);
  n1!.node.propose(enc.encode('prop-from-1'));
  n1!.node.readIndex(enc.encode('read-from-1'));
  drain(n1!);
  await waitFor(() => n2!.held!.filter(isRequest).length === 4, 'forwards held at 2');

  // Node 1 takes over with node 3's vote.
  n1!.node.campaign();
  drain(n1!);
  await waitFor(() => leads(n1!) && n3!.node.basicStatus().softState.lead === 1, 'node 1 leads');

  // Node 2 resumes: it learns of the new leader first, then steps what it had been sent, and
  // forwards those requests to node 1 with their original `from` (3, and 1 itself).
  const held = n2!.held!;
  n2!.held = null;
  for (const m of held.filter((m) => !isRequest(m))) step(n2!, m);
  expect(n2!.node.basicStatus().softState.lead).toBe(1);
  for (const m of held.filter(isRequest)) step(n2!, m);

  await waitFor(
    () => members.every((m) => m.applied.length === 2),
    'the re-forwarded proposals applied everywhere',
  );
  expect(n1!.applied.sort()).toEqual(['prop-from-1', 'prop-from-3']);
  // The leader answered each read to the node that asked for it.
  await waitFor(() => n3!.reads.includes('read-from-3'), 'node 3 read');
  await waitFor(() => n1!.reads.includes('read-from-1'), 'node 1 read');
  expect(n2!.reads).toEqual([]);
  // The connection between 1 and 2 was never closed as malformed.
  expect(peer(n1!, 2).malformed).toBe(0);
  expect(peer(n2!, 1).malformed).toBe(0);
  expect(peer(n1!, 2).connects).toBe(connects);
  expect(logger.codes()).not.toContain('TRANSPORT_BAD_MESSAGE');
});
