// Fsyncs per proposal: one per member per round, as etcd's. A follower's second write of a
// round (the leader's commit update) moves only the commit index and is not synced.
import { afterEach, expect, it } from 'vitest';
import { MemoryNetwork } from '../src/index.js';
import { Cluster, op, until } from './helpers.js';

let cluster: Cluster | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

it('one client proposing one at a time: about one synced write per proposal on every member', async () => {
  const net = new MemoryNetwork();
  // Ticks of 100 ms: the commit index held back is written on its own at most once a tick.
  cluster = await Cluster.start(3, { transport: net.transport, tickMs: 100, electionTick: 5 });
  const leader = await cluster.leader();
  const followers = cluster.followers(leader.id);
  await until(() => followers.every((f) => f.appliedIndex() === leader.appliedIndex()));
  const before = cluster.running().map((n) => n.metrics().saves);
  const N = 60;
  for (let i = 1; i <= N; i++) await leader.propose(op(i));
  await until(() => followers.every((f) => f.appliedIndex() === leader.appliedIndex()));
  const perPut = cluster.running().map((n, i) => (n.metrics().saves - before[i]!) / N);
  // Before this was spared, followers synced about twice per proposal.
  for (const p of perPut) expect(p).toBeLessThanOrEqual(1.1);
  for (const f of followers) expect(f.counter.total).toBe((N * (N + 1)) / 2);
});
