// Partition scenarios on the simulated cluster: an isolated leader, minority partitions,
// symmetric and asymmetric splits, and a partitioned node rejoining with and without PreVote.
// The safety checkers run at every step of every scenario.
import { type NodeId, StateType } from '@tsraft/raft-core';
import { describe, expect, it } from 'vitest';
import { Cluster, type RaftOptions } from '../harness/index.js';

const enc = new TextEncoder();

function cluster(n: number, raft: RaftOptions, seed = Number(process.env.SEED ?? 7)): Cluster {
  const voters = Array.from({ length: n }, (_, i) => i + 1);
  return new Cluster({ seed, voters, raft: { electionTick: 10, heartbeatTick: 1, ...raft } });
}

/** Elects `id` and lets everyone apply the new leader's first entry. */
function elect(c: Cluster, id: NodeId): void {
  c.stabilize(); // apply the bootstrap conf changes first: raft refuses to campaign before
  c.campaign(id);
  c.stabilize();
  c.runUntil(() => c.node(id).isLeader, 50, `node ${id} leads`);
  c.tick(3);
}

function state(c: Cluster, id: NodeId): StateType {
  return c.node(id).raw!.raft.state;
}

function commit(c: Cluster, id: NodeId): number {
  return c.node(id).raw!.raft.raftLog.committed;
}

/** Proposes `n` entries at `id` and ticks until they are applied on every node in `on`. */
function proposeAndApply(c: Cluster, id: NodeId, n: number, on: NodeId[], tag: string): void {
  const target = c.node(id).raw!.raft.raftLog.lastIndex() + n;
  for (let i = 0; i < n; i++) expect(c.propose(id, enc.encode(`${tag}-${i}`))).toBe(true);
  c.runUntil(
    () => on.every((x) => c.node(x).sm.appliedIndex >= target),
    100,
    `${tag} applied on [${on}]`,
  );
}

function payloads(c: Cluster, id: NodeId): string[] {
  return c
    .node(id)
    .sm.payloads()
    .map((d) => new TextDecoder().decode(d));
}

describe('partitions', () => {
  it('an isolated leader steps down (checkQuorum), a new one is elected, the old one rejoins and catches up', () => {
    const c = cluster(3, { preVote: true, checkQuorum: true });
    elect(c, 1);
    proposeAndApply(c, 1, 5, [1, 2, 3], 'before');
    const term = c.node(1).term;
    c.isolate(1);
    // Proposals on the isolated side never commit.
    const stale = commit(c, 1);
    for (let i = 0; i < 3; i++) c.propose(1, enc.encode(`lost-${i}`));
    // CheckQuorum: within two election timeouts the old leader notices it lost its quorum.
    const stepDown = c.runUntil(
      () => state(c, 1) !== StateType.Leader,
      20,
      'old leader steps down',
    );
    expect(stepDown).toBeLessThanOrEqual(20);
    expect(commit(c, 1)).toBe(stale);
    c.runUntil(() => [2, 3].some((id) => c.node(id).isLeader), 60, 'a new leader among 2, 3');
    const leader = c.leader()!.id;
    expect(leader).not.toBe(1);
    expect(c.node(leader).term).toBeGreaterThan(term);
    proposeAndApply(c, leader, 5, [2, 3], 'after');
    c.heal();
    // The old leader rejoins as a follower, drops its uncommitted tail and catches up.
    c.runUntil(
      () => c.node(1).sm.appliedIndex === c.node(leader).sm.appliedIndex,
      60,
      'old leader caught up',
    );
    expect(state(c, 1)).toBe(StateType.Follower);
    expect(c.leader()!.id).toBe(leader);
    c.checkConverged([1, 2, 3]);
    expect(payloads(c, 1)).toEqual(payloads(c, leader));
    expect(payloads(c, 1).some((p) => p.startsWith('lost'))).toBe(false);
    expect(payloads(c, 1).filter((p) => p.startsWith('after'))).toHaveLength(5);
  });

  it('without checkQuorum an isolated leader keeps believing it leads, yet commits nothing', () => {
    const c = cluster(3, { preVote: false, checkQuorum: false });
    elect(c, 1);
    c.isolate(1);
    const stale = commit(c, 1);
    c.propose(1, enc.encode('lost'));
    c.tick(100);
    expect(state(c, 1)).toBe(StateType.Leader);
    expect(commit(c, 1)).toBe(stale);
    // The majority elected another leader in a higher term meanwhile (election safety holds:
    // two leaders, never in the same term).
    const other = c.leader()!;
    expect(other.id).not.toBe(1);
    expect(other.term).toBeGreaterThan(c.node(1).term);
    c.heal();
    c.tick(5);
    expect(state(c, 1)).toBe(StateType.Follower);
    c.runUntil(
      () => c.node(1).sm.appliedIndex === other.sm.appliedIndex,
      50,
      'old leader caught up',
    );
    c.checkConverged([1, 2, 3]);
  });

  it('a minority partition makes no progress; the majority does', () => {
    const c = cluster(5, { preVote: true, checkQuorum: true });
    elect(c, 1);
    proposeAndApply(c, 1, 3, [1, 2, 3, 4, 5], 'before');
    // The leader ends up in the minority.
    c.partition([1, 2], [3, 4, 5]);
    const minorityCommit = commit(c, 1);
    const minorityTerms = [c.node(1).term, c.node(2).term];
    for (let i = 0; i < 4; i++) c.propose(1, enc.encode(`minority-${i}`));
    c.runUntil(() => [3, 4, 5].some((id) => c.node(id).isLeader), 60, 'majority leader');
    const leader = c.leader()!.id;
    proposeAndApply(c, leader, 4, [3, 4, 5], 'majority');
    c.tick(100);
    // Nothing committed on the minority side, and (PreVote) no term inflation there.
    expect(commit(c, 1)).toBe(minorityCommit);
    expect(commit(c, 2)).toBe(minorityCommit);
    expect(state(c, 1)).not.toBe(StateType.Leader);
    expect([c.node(1).term, c.node(2).term]).toEqual(minorityTerms);
    c.heal();
    c.runUntil(
      () => [1, 2].every((id) => c.node(id).sm.appliedIndex === c.node(leader).sm.appliedIndex),
      60,
      'minority caught up',
    );
    c.checkConverged([1, 2, 3, 4, 5]);
    expect(payloads(c, 1).some((p) => p.startsWith('minority'))).toBe(false);
    expect(payloads(c, 1).filter((p) => p.startsWith('majority'))).toHaveLength(4);
  });

  it('a symmetric split with no majority anywhere stalls, then recovers when healed', () => {
    const c = cluster(4, { preVote: true, checkQuorum: true });
    elect(c, 1);
    proposeAndApply(c, 1, 2, [1, 2, 3, 4], 'before');
    c.partition([1, 2], [3, 4]);
    const before = commit(c, 1);
    c.propose(1, enc.encode('stuck'));
    c.tick(80);
    // 2 of 4 is no quorum: no leader anywhere, nothing committed.
    expect(c.leader()).toBeUndefined();
    for (const id of [1, 2, 3, 4]) expect(commit(c, id)).toBe(before);
    c.heal();
    c.runUntil(() => c.leader() !== undefined, 80, 'leader after healing');
    proposeAndApply(c, c.leader()!.id, 3, [1, 2, 3, 4], 'after');
    c.checkConverged([1, 2, 3, 4]);
  });

  it('asymmetric: a leader that can send but not receive is replaced, and cannot disrupt', () => {
    const c = cluster(3, { preVote: true, checkQuorum: true });
    elect(c, 1);
    // Messages to node 1 are lost; node 1's own messages still arrive.
    c.net.cutOneWay(2, 1);
    c.net.cutOneWay(3, 1);
    // Without acknowledgements node 1 commits nothing and steps down at the CheckQuorum.
    c.runUntil(() => state(c, 1) !== StateType.Leader, 25, 'node 1 steps down');
    c.runUntil(() => c.leader() !== undefined && c.leader()!.id !== 1, 80, 'new leader');
    const leader = c.leader()!.id;
    proposeAndApply(c, leader, 3, [2, 3], 'progress');
    // Node 1 hears nobody now; its pre-votes reach 2 and 3, which ignore them while they
    // hear from their leader: no disruption, no term inflation.
    const term = c.node(leader).term;
    c.tick(100);
    expect(c.leader()!.id).toBe(leader);
    expect(c.node(leader).term).toBe(term);
    expect(c.node(1).term).toBeLessThanOrEqual(term);
    c.heal();
    c.runUntil(
      () => c.node(1).sm.appliedIndex === c.node(leader).sm.appliedIndex,
      50,
      'node 1 caught up',
    );
    c.checkConverged([1, 2, 3]);
  });

  it('asymmetric: a follower that receives but cannot send does not stop the others', () => {
    const c = cluster(3, { preVote: true, checkQuorum: true });
    elect(c, 1);
    c.net.cutOneWay(3, 1);
    c.net.cutOneWay(3, 2);
    proposeAndApply(c, 1, 5, [1, 2], 'progress');
    c.tick(100);
    // Node 3 hears the leader's heartbeats, so it never campaigns; the leader keeps leading.
    expect(c.leader()!.id).toBe(1);
    expect(c.node(3).term).toBe(c.node(1).term);
    c.heal();
    c.runUntil(
      () => c.node(3).sm.appliedIndex === c.node(1).sm.appliedIndex,
      50,
      'node 3 caught up',
    );
    c.checkConverged([1, 2, 3]);
  });

  it('with PreVote, a partitioned follower that rejoins does not disrupt the leader', () => {
    const c = cluster(3, { preVote: true, checkQuorum: false });
    elect(c, 1);
    const term = c.node(1).term;
    c.isolate(3);
    c.tick(200); // many election timeouts: 3 keeps pre-campaigning, never raising its term
    expect(c.node(3).term).toBe(term);
    proposeAndApply(c, 1, 3, [1, 2], 'while-away');
    c.heal();
    c.runUntil(
      () => c.node(3).sm.appliedIndex === c.node(1).sm.appliedIndex,
      50,
      'node 3 caught up',
    );
    expect(c.leader()!.id).toBe(1);
    expect(c.node(1).term).toBe(term);
    expect(c.checker.leaders.size).toBe(1);
    c.checkConverged([1, 2, 3]);
  });

  it('without PreVote or CheckQuorum, the rejoining follower forces a new election', () => {
    // The contrast that shows what PreVote buys.
    const c = cluster(3, { preVote: false, checkQuorum: false });
    elect(c, 1);
    const term = c.node(1).term;
    c.isolate(3);
    c.tick(200);
    expect(c.node(3).term).toBeGreaterThan(term + 3);
    c.heal();
    c.tick(30);
    expect(c.leader()!.term).toBeGreaterThan(term);
    c.runUntil(
      () => c.node(3).sm.appliedIndex === c.leader()!.sm.appliedIndex,
      60,
      'node 3 caught up',
    );
    c.checkConverged([1, 2, 3]);
  });

  it('CheckQuorum alone also keeps a rejoining follower from disrupting (leader lease)', () => {
    const c = cluster(3, { preVote: false, checkQuorum: true });
    elect(c, 1);
    c.isolate(3);
    c.tick(200);
    proposeAndApply(c, 1, 3, [1, 2], 'while-away'); // node 3's log falls behind
    const inflated = c.node(3).term;
    expect(inflated).toBeGreaterThan(c.node(1).term);
    c.heal();
    c.runUntil(
      () => c.leader() !== undefined && c.node(3).sm.appliedIndex === c.leader()!.sm.appliedIndex,
      300,
      'a settled leader, node 3 caught up',
    );
    // Node 3's vote requests are ignored within the lease; the leader's appends are answered
    // with node 3's higher term, so the leader steps down once and the group re-elects at a
    // higher term; node 3, whose log is behind, cannot win, and the group settles.
    expect(c.leader()!.id).not.toBe(3);
    c.checkConverged([1, 2, 3]);
  });
});
