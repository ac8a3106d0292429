// raft-core outside Node: three RawNodes elect a leader and commit 1,000 entries, every
// message going through the raftpb codec (encode, then decode) on its way, as it would on a
// wire. Plain JavaScript with no imports of its own: the caller passes raft-core's module, so
// the same check runs on Bun and Deno (smoke-cli.mjs) and in a browser (smoke.html).

/** Runs the check; returns a one-line summary or throws. */
export function runSmoke(core) {
  const { EMPTY_BYTES, MemoryStorage, RawNode, StateType, newConfState } = core;
  const { encodeMessage, decodeMessage } = core;
  const voters = [1, 2, 3];
  const nodes = voters.map((id) => {
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
    return { id, node, storage, applied: 0 };
  });
  let wireBytes = 0;
  const drain = () => {
    for (let round = 0; round < 100_000; round++) {
      const queue = [];
      for (const n of nodes) {
        if (!n.node.hasReady()) continue;
        const rd = n.node.ready();
        if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
        n.storage.append(rd.entries);
        if (rd.hardState) n.storage.setHardState(rd.hardState);
        for (const m of rd.messages) queue.push(m);
        for (const e of rd.committedEntries) if (e.data.length > 0) n.applied++;
        n.node.advance();
      }
      if (queue.length === 0) return;
      for (const m of queue) {
        const bytes = encodeMessage(m);
        wireBytes += bytes.length;
        const back = decodeMessage(bytes);
        nodes.find((n) => n.id === back.to).node.step(back);
      }
    }
    throw new Error('the cluster did not settle');
  };
  nodes[0].node.campaign();
  drain();
  if (nodes[0].node.basicStatus().softState.raftState !== StateType.Leader) {
    throw new Error('node 1 did not become leader');
  }
  const payload = new Uint8Array(64).fill(7);
  for (let i = 0; i < 1000; i++) {
    nodes[0].node.propose(payload);
    if (i % 50 === 49) drain();
  }
  drain();
  for (const n of nodes) {
    if (n.applied !== 1000) throw new Error(`node ${n.id} applied ${n.applied} of 1000 entries`);
  }
  return `raft-core smoke ok: 3 nodes committed 1000 entries, ${wireBytes} bytes through the codec`;
}
