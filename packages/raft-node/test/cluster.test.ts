// A 3-node cluster in one process on real TCP and LevelDB: elections, proposals, forwarding,
// linearizable reads, leadership transfer, leader-change events, the committed-entry iterator.
import { afterEach, describe, expect, it } from 'vitest';
import type { CommittedEntry, LeaderState } from '../src/index.js';
import { Cluster, op, until } from './helpers.js';

let cluster: Cluster | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

describe('a 3-node cluster', () => {
  it('elects one leader and applies proposals in the same order everywhere', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    expect(await leader.propose(op(5))).toBe(5);
    expect(await leader.propose(op(2))).toBe(7);
    const results = await Promise.all([1, 2, 3].map((i) => leader.propose(op(i))));
    expect([...results].sort((a, b) => a - b)).toEqual([8, 10, 13]);
    await until(() => cluster!.running().every((n) => n.counter.total === 13), 5000, 'all applied');
    const orders = cluster.running().map((n) => n.counter.applied.map((e) => e.index));
    expect(orders[1]).toEqual(orders[0]);
    expect(orders[2]).toEqual(orders[0]);
    for (const n of cluster.running()) {
      expect(n.members().map((m) => [m.id, m.role])).toEqual([
        [1, 'voter'],
        [2, 'voter'],
        [3, 'voter'],
      ]);
    }
  });

  it('forwards a follower proposal to the leader and resolves on the follower', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    const [f1, f2] = cluster.followers(leader.id);
    expect(await f1!.propose(op(10))).toBe(10);
    expect(await f2!.propose(op(1))).toBe(11);
    const burst = await Promise.all(Array.from({ length: 50 }, () => f1!.propose(op(1))));
    expect(Math.max(...burst)).toBe(61);
    expect(new Set(burst).size).toBe(50);
    // Every proposer sees its own entries as proposed by it. (The leader may apply after the
    // follower did: committed is not applied everywhere at once.)
    const byF1 = () => leader.counter.applied.filter((e) => e.proposer === f1!.id).length;
    await until(() => byF1() >= 51, 5000, 'the leader to apply the burst');
    expect(byF1()).toBe(51);
  });

  it('read() on a follower after a write sees the write', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    for (const f of cluster.followers(leader.id)) {
      const total = await leader.propose(op(3));
      const index = await f.read();
      expect(index).toBeGreaterThan(0);
      expect(f.appliedIndex()).toBeGreaterThanOrEqual(index);
      expect(f.counter.total).toBe(total);
    }
    // On the leader too, and many at once.
    await leader.propose(op(4));
    const indexes = await Promise.all(Array.from({ length: 20 }, () => leader.read()));
    expect(leader.counter.total).toBe(10);
    expect(Math.min(...indexes)).toBeGreaterThan(0);
  });

  it('transfers leadership and reports it through events and the iterator', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    const target = cluster.followers(leader.id)[0]!;
    const seen: LeaderState[] = [];
    target.on('leaderChange', (s) => seen.push(s));
    const ac = new AbortController();
    const it = target.leaderChanges({ signal: ac.signal });
    const first = await it.next();
    expect(first.value).toMatchObject({ leader: leader.id, role: 'follower' });

    await leader.transferLeadership(target.id);
    expect(target.isLeader()).toBe(true);
    const after = await cluster.leader();
    expect(after.id).toBe(target.id);
    // The iterator never yields a stale state: its next value is the newest one.
    const next = await it.next();
    expect(next.value).toMatchObject({ leader: target.id, role: 'leader' });
    expect(seen.at(-1)).toMatchObject({ leader: target.id, role: 'leader' });
    ac.abort();
    expect((await it.next()).done).toBe(true);
    // The new leader takes proposals; the old one forwards.
    expect(await leader.propose(op(1))).toBe(1);
    expect(await target.waitForLeader()).toBe(target.id);
  });

  it('campaign() elects the node that asks', async () => {
    // Election timeouts so long that nobody campaigns on their own.
    cluster = await Cluster.start(3, { electionTick: 100_000 });
    const n2 = cluster.node(2);
    expect(n2.leader()).toBeNull();
    // Raft refuses to campaign with conf changes (here the bootstrap ones) not yet applied.
    await until(() => n2.appliedIndex() >= 3, 5000, 'bootstrap applied');
    n2.campaign();
    expect(await n2.waitForLeader({ signal: AbortSignal.timeout(5000) })).toBe(2);
    expect((await cluster.leader()).id).toBe(2);
    expect(n2.status()).toMatchObject({ role: 'leader', leader: 2 });
    expect(n2.metrics().elections).toBe(1);
  });

  it('iterates over committed entries from an index, then follows new ones', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    await leader.propose(op(1));
    await leader.propose(op(2));
    const f = cluster.followers(leader.id)[0]!;
    await f.read();
    const ac = new AbortController();
    const got: CommittedEntry[] = [];
    const done = (async () => {
      for await (const e of f.committedEntries(1, { signal: ac.signal })) {
        got.push(e);
        if (got.filter((x) => x.kind === 'normal').length === 4) ac.abort();
      }
    })();
    await leader.propose(op(3));
    await leader.propose(op(4));
    await done;
    // Three bootstrap conf changes, the first leader's empty entry, then the proposals.
    expect(got.slice(0, 3).map((e) => e.kind)).toEqual(['confChange', 'confChange', 'confChange']);
    const normal = got.filter((e) => e.kind === 'normal');
    expect(normal.map((e) => new TextDecoder().decode(e.data))).toEqual(['1', '2', '3', '4']);
    expect(got.map((e) => e.index)).toEqual(got.map((_, i) => i + 1));
  });

  it('reports status and metrics', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    await leader.propose(op(1));
    const s = leader.status();
    expect(s.role).toBe('leader');
    expect(s.progress.size).toBe(3);
    expect(s.appliedIndex).toBeGreaterThanOrEqual(5);
    expect(s.members).toHaveLength(3);
    const m = leader.metrics();
    expect(m.proposalsApplied).toBe(1);
    expect(m.saves).toBeGreaterThan(0);
    expect(m.fsyncSeconds.count).toBe(m.saves);
    expect(leader.transportStats()?.peers).toHaveLength(2);
  });
});
