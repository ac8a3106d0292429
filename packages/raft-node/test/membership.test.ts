// Membership changes through conf changes: a node joins a running cluster knowing nothing but
// its own address, learners are added and promoted, members are removed.
import { LevelStorage } from '@tsraft/raft-storage-level';
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, type TestNode, freePorts, makeNode, op, tempDir, until } from './helpers.js';

let cluster: Cluster | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

/** Starts a node that joins with no peers at all: it waits for the leader to call. */
async function joiner(c: Cluster, id: number, overrides = {}) {
  const [port] = await freePorts(1);
  const addr = `127.0.0.1:${port}`;
  const dir = await tempDir();
  c.dirs.push(dir);
  c.peers[id] = addr;
  const n = makeNode(id, addr, dir, {}, { join: true, ...overrides });
  c.nodes.set(id, n);
  await n.start();
  return n;
}

describe('membership', () => {
  it('a joining node that saved a hard state but no log yet still takes the leader’s call', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    for (let i = 0; i < 3; i++) await leader.propose(op(1));
    // As if it had joined, heard a heartbeat (a term) and been killed before any entry.
    const [port] = await freePorts(1);
    const addr = `127.0.0.1:${port}`;
    const dir = await tempDir();
    cluster.dirs.push(dir);
    const s = await LevelStorage.open(dir);
    await s.save({ hardState: { term: leader.status().hardState.term, vote: 0, commit: 0 } });
    await s.close();
    cluster.peers[4] = addr;
    const n4 = makeNode(4, addr, dir, {}, { join: true });
    cluster.nodes.set(4, n4);
    await n4.start();
    await leader.addNode(4, addr);
    await until(() => n4.counter.total === 3, 10_000, 'the joiner to catch up');
  });

  it('adds a 4th node through a follower, then removes one', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    for (let i = 0; i < 5; i++) await leader.propose(op(1));

    const n4 = await joiner(cluster, 4);
    expect(n4.members()).toEqual([]);
    // Any member will do: a follower's conf change is forwarded like a proposal.
    const via = cluster.followers(leader.id).find((n) => n.id !== 4)!;
    const members = await via.addNode(4, n4.address);
    expect(members.map((m) => [m.id, m.role])).toEqual([
      [1, 'voter'],
      [2, 'voter'],
      [3, 'voter'],
      [4, 'voter'],
    ]);
    await until(() => n4.counter.total === 5, 10_000, 'joiner caught up');
    expect(n4.leader()).toBe(leader.id);
    // It learned every address from the log.
    expect(n4.members().map((m) => m.addr)).toEqual([1, 2, 3, 4].map((i) => cluster!.peers[i]));
    expect(await n4.propose(op(1))).toBe(6);

    // Remove a follower other than the new one.
    const gone = cluster.followers(leader.id).find((n) => n.id !== 4)!;
    const after = await leader.removeNode(gone.id);
    expect(after.map((m) => m.id)).not.toContain(gone.id);
    expect(after).toHaveLength(3);
    await gone.stop();
    // The remaining three still make progress (a quorum of 2 out of 3).
    expect(await n4.propose(op(1))).toBe(7);
    expect(await leader.propose(op(1))).toBe(8);

    // A joined node restarts like any other: members and addresses come from its data dir.
    const again = await cluster.restart(4, { join: false });
    await until(() => again.counter.total === 8, 10_000, 'restarted joiner caught up');
    expect(again.members().map((m) => m.id)).toEqual(after.map((m) => m.id));
  });

  it('adds a learner that catches up by snapshot, then promotes it', async () => {
    const opts = { snapshotInterval: 10, snapshotCatchUpEntries: 2 };
    cluster = await Cluster.start(3, opts);
    const leader = await cluster.leader();
    for (let i = 0; i < 30; i++) await leader.propose(op(1));
    expect(leader.status().firstIndex).toBeGreaterThan(1);

    const n5 = await joiner(cluster, 5, opts);
    const members = await leader.addLearner(5, n5.address);
    expect(members.find((m) => m.id === 5)?.role).toBe('learner');
    await until(() => n5.counter.total === 30, 10_000, 'learner caught up');
    expect(n5.counter.restores).toBe(1); // the log it needed was compacted: a snapshot
    expect(n5.members().find((m) => m.id === 5)?.role).toBe('learner');
    expect(n5.members().map((m) => m.addr)).toEqual([1, 2, 3, 5].map((i) => cluster!.peers[i]));
    // A learner's proposals are forwarded like a follower's; its reads are linearizable.
    expect(await n5.propose(op(1))).toBe(31);
    await n5.read();
    expect(n5.counter.total).toBe(31);

    const promoted = await leader.promote(5);
    expect(promoted.find((m) => m.id === 5)?.role).toBe('voter');
    await until(
      () => n5.members().find((m) => m.id === 5)?.role === 'voter',
      5000,
      'promotion applied on the node',
    );
    // As a voter it can lead.
    await leader.transferLeadership(5);
    expect(n5.isLeader()).toBe(true);
    expect(await n5.propose(op(1))).toBe(32);
  });

  it('moves a member to a new address: every member, and one restarted later, dials it there', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    await leader.propose(op(1));
    const moved = cluster.followers(leader.id)[0]!;
    const other = cluster.followers(leader.id).find((n) => n.id !== moved.id)!;
    await moved.stop();
    const [port] = await freePorts(1);
    const addr = `127.0.0.1:${port}`;
    // Through the other follower: forwarded like any proposal.
    const members = await other.updateNode(moved.id, addr);
    expect(members.find((m) => m.id === moved.id)).toEqual({ id: moved.id, addr, role: 'voter' });
    const dialed = (n: TestNode) => n.transportStats()?.peers.find((p) => p.id === moved.id)?.addr;
    await until(() => dialed(leader) === addr && dialed(other) === addr, 5000, 'transports');
    // Back at the new address from its data dir: it catches up and commits.
    cluster.peers[moved.id] = addr;
    const back = makeNode(moved.id, addr, moved.dir, cluster.peers);
    cluster.nodes.set(moved.id, back);
    await back.start();
    expect(await back.propose(op(1))).toBe(2);
    expect(back.members().find((m) => m.id === moved.id)?.addr).toBe(addr);
    // A member restarted with the old address in its options takes the log's (once it
    // applies the update again).
    const old = { ...cluster.peers, [moved.id]: moved.address };
    await other.stop();
    const again = makeNode(other.id, other.address, other.dir, old);
    cluster.nodes.set(other.id, again);
    await again.start();
    await until(
      () => dialed(again) === addr,
      5000,
      'the restarted member to take the log’s address',
    );
    await until(() => again.counter.total === 2, 10_000, 'the restarted member caught up');
  });

  it('refuses membership requests that make no sense', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    await expect(leader.addNode(2, '127.0.0.1:1')).rejects.toMatchObject({
      code: 'RAFT_NODE_BAD_MEMBERSHIP',
      outcome: 'dropped',
    });
    await expect(leader.removeNode(9)).rejects.toMatchObject({ code: 'RAFT_NODE_BAD_MEMBERSHIP' });
    await expect(leader.promote(2)).rejects.toMatchObject({ code: 'RAFT_NODE_BAD_MEMBERSHIP' });
    await expect(leader.updateNode(9, '127.0.0.1:1')).rejects.toMatchObject({
      code: 'RAFT_NODE_BAD_MEMBERSHIP',
      outcome: 'dropped',
    });
    await expect(leader.updateNode(2, 'no port')).rejects.toMatchObject({
      code: 'RAFT_NODE_BAD_MEMBERSHIP',
    });
    await expect(leader.transferLeadership(9)).rejects.toMatchObject({
      code: 'RAFT_NODE_BAD_MEMBERSHIP',
    });
  });
});
