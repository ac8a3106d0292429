// The same three nodes with asyncStorageWrites. A Ready no longer has to be persisted before
// the next one: its writes arrive as messages to two local "threads", MsgStorageAppend to
// LocalAppendThread and MsgStorageApply to LocalApplyThread, and there is no advance().
// When a write is done, its `responses` are delivered: to peers (acks that needed the write
// to be durable) and back to this node (so raft learns what is stable and applied). Here
// each thread is a queue worked off one write per round, so several writes are in flight.
import {
  EMPTY_BYTES,
  EntryType,
  LocalAppendThread,
  LocalApplyThread,
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
    storage.applySnapshot({
      data: EMPTY_BYTES,
      metadata: { index: 1, term: 1, confState: newConfState({ voters: ids }) },
    });
    const node = new RawNode({
      id,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      asyncStorageWrites: true,
    });
    return {
      id,
      node,
      storage,
      appends: [] as Message[],
      applies: [] as Message[],
      applied: [] as string[],
    };
  });
  type Node = (typeof nodes)[number];

  const handleReady = (n: Node): void => {
    // Only the messages matter: entries, hard state and commits travel inside them.
    for (const m of n.node.ready().messages) {
      if (m.to === LocalAppendThread) n.appends.push(m);
      else if (m.to === LocalApplyThread) n.applies.push(m);
      else network.push(m); // safe to send now: nothing here waits for durability
    }
  };

  // The append thread: persist one MsgStorageAppend, then release its responses.
  const appendOne = (n: Node): void => {
    const m = n.appends.shift();
    if (m === undefined) return;
    if (m.term !== 0 || m.vote !== 0 || m.commit !== 0) {
      n.storage.setHardState({ term: m.term, vote: m.vote, commit: m.commit });
    }
    if (m.snapshot !== null) n.storage.applySnapshot(m.snapshot);
    n.storage.append(m.entries);
    network.push(...m.responses);
  };

  // The apply thread: apply one MsgStorageApply, then release its responses.
  const applyOne = (n: Node): void => {
    const m = n.applies.shift();
    if (m === undefined) return;
    for (const e of m.entries) {
      if (e.type === EntryType.EntryConfChange) n.node.applyConfChange(decodeConfChange(e.data));
      else if (e.type === EntryType.EntryConfChangeV2)
        n.node.applyConfChange(decodeConfChangeV2(e.data));
      else if (e.data.length > 0) n.applied.push(new TextDecoder().decode(e.data));
    }
    network.push(...m.responses);
  };

  let maxInFlight = 0;
  const settle = (): void => {
    for (;;) {
      const busy = nodes.filter(
        (n) => n.node.hasReady() || n.appends.length + n.applies.length > 0,
      );
      for (const n of busy) if (n.node.hasReady()) handleReady(n);
      for (const n of nodes) maxInFlight = Math.max(maxInFlight, n.appends.length);
      for (const n of busy) appendOne(n);
      for (const n of busy) applyOne(n);
      const inFlight = network.splice(0);
      for (const m of inFlight) nodes[m.to - 1]!.node.step(m);
      if (busy.length === 0 && inFlight.length === 0) return;
    }
  };

  const leader = () =>
    nodes.find((n) => n.node.basicStatus().softState.raftState === StateType.Leader);
  while (leader() === undefined) {
    for (const n of nodes) n.node.tick();
    settle();
  }
  const l = leader()!;
  log(`node ${l.id} leads term ${l.node.basicStatus().hardState.term}`);

  // Proposals between Readys: each Ready's write joins the append queue behind the last.
  for (const cmd of ['x=1', 'y=2', 'z=3']) {
    l.node.propose(new TextEncoder().encode(cmd));
    handleReady(l);
  }
  settle();
  log(`up to ${maxInFlight} writes were in flight on one node`);
  for (const n of nodes) log(`node ${n.id} applied ${n.applied.join(' ')}`);
  return nodes.map((n) => n.applied);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
