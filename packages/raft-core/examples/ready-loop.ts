// Three RawNodes in one process over MemoryStorage, driven by the Ready loop: tick until a
// leader is elected, propose three commands, and apply them on every node.
import {
  EMPTY_BYTES,
  EntryType,
  MemoryStorage,
  type Message,
  RawNode,
  StateType,
  decodeConfChange,
  decodeConfChangeV2,
  newConfState,
} from '@tsraft/raft-core';

export function main(log: (line: string) => void = console.log): string[][] {
  const ids = [1, 2, 3];
  const network: Message[] = [];
  const nodes = ids.map((id) => {
    const storage = new MemoryStorage();
    // Every member starts from the same configuration (or call node.bootstrap(peers) once).
    storage.applySnapshot({
      data: EMPTY_BYTES,
      metadata: { index: 1, term: 1, confState: newConfState({ voters: ids }) },
    });
    const node = new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage });
    return { id, node, storage, applied: [] as string[] };
  });

  // The Ready loop: persist, then send, then apply, then advance.
  const handleReady = (n: (typeof nodes)[number]): void => {
    const rd = n.node.ready();
    // 1. Persist (a real store fsyncs here when rd.mustSync).
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    // 2. Send: some messages acknowledge what step 1 made durable.
    network.push(...rd.messages);
    // 3. Apply committed entries; conf changes go back to raft.
    for (const e of rd.committedEntries) {
      if (e.type === EntryType.EntryConfChange) n.node.applyConfChange(decodeConfChange(e.data));
      else if (e.type === EntryType.EntryConfChangeV2)
        n.node.applyConfChange(decodeConfChangeV2(e.data));
      else if (e.data.length > 0) n.applied.push(new TextDecoder().decode(e.data));
    }
    // 4. Done: raft may now hand out the next Ready.
    n.node.advance();
  };

  // Handle Readys and deliver messages until the cluster is quiet.
  const settle = (): void => {
    for (;;) {
      const busy = nodes.filter((n) => n.node.hasReady());
      for (const n of busy) handleReady(n);
      const inFlight = network.splice(0);
      for (const m of inFlight) nodes[m.to - 1]!.node.step(m);
      if (busy.length === 0 && inFlight.length === 0) return;
    }
  };

  // Time is logical: tick until some node's randomized election timeout fires.
  const leader = () =>
    nodes.find((n) => n.node.basicStatus().softState.raftState === StateType.Leader);
  while (leader() === undefined) {
    for (const n of nodes) n.node.tick();
    settle();
  }
  const l = leader()!;
  log(`node ${l.id} leads term ${l.node.basicStatus().hardState.term}`);

  for (const cmd of ['x=1', 'y=2', 'z=3']) l.node.propose(new TextEncoder().encode(cmd));
  settle();
  for (const n of nodes) log(`node ${n.id} applied ${n.applied.join(' ')}`);
  return nodes.map((n) => n.applied);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
