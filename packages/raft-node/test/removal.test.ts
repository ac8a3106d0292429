// A removed member learns that it was removed and stops by itself: when it applies its own
// removal, or when a member refuses its connection as removed (REMOVED), also after restarts
// and once the removal is only in a snapshot.
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, type TestNode, makeNode, op, until } from './helpers.js';

let cluster: Cluster | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

function removedEvent(n: TestNode): Promise<void> {
  return new Promise((resolve) => n.once('removed', () => resolve()));
}

describe('removal', () => {
  it('a removed follower emits removed, refuses requests and stops by itself', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    await leader.propose(op(1));
    const victim = cluster.followers(leader.id)[0]!;
    const removed = removedEvent(victim);
    const members = await leader.removeNode(victim.id);
    expect(members.map((m) => m.id)).not.toContain(victim.id);
    await removed;
    await expect(victim.propose(op(1))).rejects.toMatchObject({
      code: 'RAFT_NODE_REMOVED',
      outcome: 'dropped',
    });
    await until(() => victim.state === 'stopped', 5000, 'the removed node to stop');
    // The others carry on without it.
    expect(await leader.propose(op(1))).toBe(2);
    expect(leader.transportStats()!.peers.map((p) => p.id)).not.toContain(victim.id);
  });

  it('a node removed while down learns it from the members when it comes back', async () => {
    const opts = { snapshotInterval: 5, snapshotCatchUpEntries: 1 };
    cluster = await Cluster.start(3, opts);
    const leader = await cluster.leader();
    const victim = cluster.followers(leader.id)[0]!;
    await victim.stop();
    await leader.removeNode(victim.id);
    // Enough entries after the removal that every member's log starts past it: only the
    // snapshot remembers it.
    for (let i = 0; i < 20; i++) await leader.propose(op(1));
    const rest = cluster.running();
    await until(
      () => rest.every((n) => n.status().firstIndex > 5 && n.counter.total === 20),
      10_000,
      'compaction past the removal',
    );
    // Restart the remaining members (their removed set comes from the snapshot), then the victim.
    for (const n of rest) await cluster.restart(n.id, opts);
    await cluster.leader();
    const back = makeNode(victim.id, victim.address, victim.dir, cluster.peers, opts);
    cluster.nodes.set(victim.id, back);
    const removed = removedEvent(back);
    await back.start();
    await removed;
    await until(() => back.state === 'stopped', 5000, 'the returning node to stop');
    // It never applied its removal: a member refused it as removed (not as unknown).
    expect(back.members().map((m) => m.id)).toContain(victim.id);
    const refused = cluster
      .running()
      .map((n) => n.transportStats()!.inbound.rejected.TRANSPORT_REMOVED ?? 0);
    expect(refused.some((x) => x > 0)).toBe(true);
    const l = await cluster.leader();
    expect(await l.propose(op(1))).toBe(21);
  });

  it('a leader that removes itself answers the request, then stops; the rest elect a leader', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    await leader.propose(op(1));
    const removed = removedEvent(leader);
    const members = await leader.removeNode(leader.id);
    expect(members.map((m) => m.id)).not.toContain(leader.id);
    await removed;
    await until(() => leader.state === 'stopped', 5000, 'the removed leader to stop');
    const next = await cluster.leader();
    expect(next.id).not.toBe(leader.id);
    expect(await next.propose(op(1))).toBe(2);
    expect(next.members().map((m) => m.id)).not.toContain(leader.id);
  });
});
