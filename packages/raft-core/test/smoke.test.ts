import { describe, expect, it } from 'vitest';
import {
  EMPTY_BYTES,
  MemoryStorage,
  type Message,
  RawNode,
  StateType,
  newConfState,
} from '../src/index.js';

function mk(id: number, voters: number[]) {
  const storage = new MemoryStorage();
  storage.applySnapshot({
    data: EMPTY_BYTES,
    metadata: { index: 1, term: 1, confState: newConfState({ voters }) },
  });
  const node = new RawNode({
    id,
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    preVote: true,
    checkQuorum: true,
  });
  return { id, node, storage, applied: [] as Uint8Array[] };
}

function drain(nodes: ReturnType<typeof mk>[]) {
  const q: Message[] = [];
  for (let round = 0; round < 1000; round++) {
    let busy = false;
    for (const n of nodes) {
      if (!n.node.hasReady()) continue;
      busy = true;
      const rd = n.node.ready();
      if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
      n.storage.append(rd.entries);
      if (rd.hardState) n.storage.setHardState(rd.hardState);
      q.push(...rd.messages);
      for (const e of rd.committedEntries) if (e.data.length > 0) n.applied.push(e.data);
      n.node.advance();
    }
    while (q.length > 0) {
      busy = true;
      const m = q.shift()!;
      nodes.find((n) => n.id === m.to)!.node.step(m);
    }
    if (!busy) return;
  }
  throw new Error('no quiescence');
}

describe('smoke', () => {
  it('single node elects itself and commits', () => {
    const n = mk(1, [1]);
    n.node.campaign();
    drain([n]);
    expect(n.node.basicStatus().softState.raftState).toBe(StateType.Leader);
    for (let i = 0; i < 10; i++) n.node.propose(new Uint8Array([i]));
    drain([n]);
    expect(n.applied).toHaveLength(10);
  });
  it('three nodes elect node 1 and replicate', () => {
    const ns = [mk(1, [1, 2, 3]), mk(2, [1, 2, 3]), mk(3, [1, 2, 3])];
    ns[0]!.node.campaign();
    drain(ns);
    expect(ns[0]!.node.basicStatus().softState.raftState).toBe(StateType.Leader);
    for (let i = 0; i < 100; i++) ns[0]!.node.propose(new Uint8Array([i]));
    drain(ns);
    for (const n of ns) expect(n.applied).toHaveLength(100);
  });
});
