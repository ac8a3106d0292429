// Three RawNodes (MemoryStorage) talking over TcpTransport on 127.0.0.1: elect a leader and
// replicate a few proposals. It shows the wiring a driver does (raft-node does it for you):
//   onMessage        -> node.step(m)
//   onUnreachable    -> node.reportUnreachable(id)
//   onSnapshotStatus -> node.reportSnapshot(id, SnapshotStatus.Finish | .Failure)
//   rd.messages      -> transport.send(rd.messages), after persisting rd.entries/hardState
// Run by test/example.test.ts. Run it yourself (from the repository root):
//
//   node --conditions=source --import tsx packages/raft-transport-tcp/examples/three-nodes.ts
import {
  EntryType,
  MemoryStorage,
  type NodeId,
  RawNode,
  SnapshotStatus,
  StateType,
} from '@tsraft/raft-core';
import { TcpTransport } from '@tsraft/raft-transport-tcp';

interface Member {
  id: NodeId;
  node: RawNode;
  storage: MemoryStorage;
  transport: TcpTransport;
  applied: string[];
}

export async function main(log: (line: string) => void = console.log): Promise<string[][]> {
  const ids = [1, 2, 3];
  const members: Member[] = ids.map((id) => {
    const storage = new MemoryStorage();
    const node = new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1 });
    node.bootstrap(ids.map((p) => ({ id: p })));
    const m: Member = { id, node, storage, applied: [], transport: undefined as never };
    m.transport = new TcpTransport({
      id,
      clusterId: 'example',
      listen: '127.0.0.1:0',
      onMessage: (msg) => {
        node.step(msg);
        drain(m);
      },
      onUnreachable: (peer) => node.reportUnreachable(peer),
      onSnapshotStatus: (peer, s) =>
        node.reportSnapshot(peer, s === 'finish' ? SnapshotStatus.Finish : SnapshotStatus.Failure),
    });
    return m;
  });
  await Promise.all(members.map((m) => m.transport.start()));
  for (const m of members) {
    for (const p of members) if (p !== m) m.transport.addPeer(p.id, p.transport.addr!);
  }

  // The Ready loop of one member: persist, send, apply, advance.
  function drain(m: Member): void {
    while (m.node.hasReady()) {
      const rd = m.node.ready();
      if (rd.snapshot !== undefined) m.storage.applySnapshot(rd.snapshot);
      m.storage.append(rd.entries);
      if (rd.hardState !== undefined) m.storage.setHardState(rd.hardState);
      m.transport.send(rd.messages);
      for (const e of rd.committedEntries) {
        if (e.type === EntryType.EntryNormal && e.data.length > 0) {
          m.applied.push(new TextDecoder().decode(e.data));
        }
      }
      m.node.advance();
    }
  }

  const ticker = setInterval(() => {
    for (const m of members) {
      m.node.tick();
      drain(m);
    }
  }, 10);
  try {
    for (const m of members) drain(m); // persist and apply the bootstrap configuration
    members[0]!.node.campaign();
    drain(members[0]!);
    const isLeader = (m: Member) => m.node.basicStatus().softState.raftState === StateType.Leader;
    await until(() => members.some(isLeader));
    const leader = members.find(isLeader)!;
    log(`node ${leader.id} leads`);
    for (const cmd of ['x=1', 'y=2', 'z=3']) leader.node.propose(new TextEncoder().encode(cmd));
    drain(leader);
    await until(() => members.every((m) => m.applied.length === 3));
    for (const m of members) log(`node ${m.id} applied ${m.applied.join(' ')}`);
    return members.map((m) => m.applied);
  } finally {
    clearInterval(ticker);
    await Promise.all(members.map((m) => m.transport.stop()));
  }
}

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('example timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
