// Restarts from the data directory and catch-up by snapshot, on real LevelDB files.
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, op, until } from './helpers.js';

let cluster: Cluster | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

describe('durability', () => {
  it('a stopped follower restarts from its data dir and catches up', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    for (let i = 0; i < 10; i++) await leader.propose(op(1));
    const f = cluster.followers(leader.id)[0]!;
    await until(() => f.counter.total === 10, 5000, 'follower applied');
    await f.stop();
    // Written while it is down: it learns them from the leader after the restart.
    for (let i = 0; i < 5; i++) await leader.propose(op(1));
    const again = await cluster.restart(f.id);
    // Its own log is replayed into the (in-memory) state machine at once...
    await until(() => again.counter.total >= 10, 5000, 'replay');
    // ...and the rest arrives from the leader.
    await until(() => again.counter.total === 15, 5000, 'catch up');
    expect(await again.propose(op(1))).toBe(16);
  });

  it('the whole cluster restarts with nothing lost, the leader included', async () => {
    cluster = await Cluster.start(3);
    let leader = await cluster.leader();
    const acked: number[] = [];
    for (let i = 0; i < 20; i++) acked.push(await leader.propose(op(i)));
    await leader.stop(); // leader first: the others elect a new one
    const next = await cluster.leader().catch(() => null);
    if (next !== null) acked.push(await next.propose(op(100)));
    const total = acked.at(-1)!;
    for (const n of cluster.running()) await n.stop();
    for (const id of [1, 2, 3]) await cluster.restart(id);
    leader = await cluster.leader();
    // Everything acknowledged is there (a read barrier makes sure it is applied here).
    await leader.read();
    expect(leader.counter.total).toBe(total);
    expect(await leader.propose(op(1))).toBe(total + 1);
    for (const n of cluster.running())
      await until(() => n.counter.total === total + 1, 5000, 'applied');
  });

  it('takes snapshots, compacts, and restores a lagging follower from a snapshot', async () => {
    // A small transport queue: appends to the stopped node are dropped, not kept for its return.
    const opts = {
      snapshotInterval: 20,
      snapshotCatchUpEntries: 5,
      transport: { maxQueueBytes: 2048 },
    };
    cluster = await Cluster.start(3, opts);
    const leader = await cluster.leader();
    const lagging = cluster.followers(leader.id)[0]!;
    await lagging.stop();
    for (let i = 0; i < 100; i++) await leader.propose(op(1));
    const st = leader.status();
    expect(st.snapshotIndex).toBeGreaterThanOrEqual(80);
    expect(st.firstIndex).toBeGreaterThan(60); // compacted, keeping a few entries
    expect(leader.metrics().snapshotsCreated).toBeGreaterThanOrEqual(4);

    const back = await cluster.restart(lagging.id, opts);
    await until(() => back.counter.total === 100, 10_000, 'caught up');
    // Its log stopped before the leader's first index: it got the state as a snapshot.
    expect(back.counter.restores).toBe(1);
    expect(back.metrics().snapshotsRestored).toBe(1);
    expect(back.members().map((m) => m.id)).toEqual([1, 2, 3]);
    // And it keeps going: applies, snapshots of its own, a restart from its own snapshot.
    for (let i = 0; i < 30; i++) await back.propose(op(1));
    await until(() => back.status().snapshotIndex > st.snapshotIndex, 5000, 'own snapshot');
    const again = await cluster.restart(back.id, opts);
    expect(again.counter.restores).toBe(1); // restored at start from its snapshot
    await again.read();
    expect(again.counter.total).toBe(130);
  });
});
