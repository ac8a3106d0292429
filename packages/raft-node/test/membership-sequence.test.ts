// Membership changes one after another: once a change's promise resolves, raft itself knows the
// change was applied, so the next change is accepted (raft refuses a conf change while an
// earlier one is unapplied). A change raft does refuse is counted as dropped.
import { ErrProposalDropped } from '@tsraft/raft-core';
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, freePorts, makeNode, tempDir } from './helpers.js';

let cluster: Cluster | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

/** Starts node `id` with no peers: it waits for the leader to call. */
async function joiner(c: Cluster, id: number) {
  const [port] = await freePorts(1);
  const addr = `127.0.0.1:${port}`;
  const dir = await tempDir();
  c.dirs.push(dir);
  c.peers[id] = addr;
  const n = makeNode(id, addr, dir, {}, { join: true });
  c.nodes.set(id, n);
  await n.start();
  return n;
}

describe('membership changes back to back', () => {
  it('accepts the next change as soon as the previous one resolved', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    const n4 = await joiner(cluster, 4);
    // Each step starts in the same turn as the previous promise resolves.
    for (let round = 0; round < 4; round++) {
      await leader.addLearner(4, n4.address);
      await leader.promote(4);
      const after = await leader.removeNode(4);
      expect(after.map((m) => m.id)).toEqual([1, 2, 3]);
      // A removed id may come back: raft-node refuses it only while it is a member.
    }
    const m = leader.metrics();
    expect(m.proposalsDropped).toBe(0);
    expect(m.proposalsFailed).toBe(0);
  });

  it('counts a conf change raft refuses as dropped, not failed', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    const n4 = await joiner(cluster, 4);
    // Two at once: raft takes the first and turns the second into an empty entry.
    const [first, second] = await Promise.allSettled([
      leader.addLearner(4, n4.address),
      leader.removeNode(3),
    ]);
    expect(first.status).toBe('fulfilled');
    expect(second.status).toBe('rejected');
    expect((second as PromiseRejectedResult).reason).toBeInstanceOf(ErrProposalDropped);
    const m = leader.metrics();
    expect(m.proposalsDropped).toBe(1);
    expect(m.proposalsFailed).toBe(0);
  });
});
