// Issue 13: hosts running many groups, in the cluster simulation. Three hosts each hold a
// replica of 12 groups (node id = host id, as in a RaftHost); one seeded schedule of
// host-level faults hits every group at once, as it does a RaftHost: a host partitioned
// away (all its replicas), loss on a host's links, a host crashing at a point of Ready
// handling (all its replicas at the same step) and restarting, proposals to random groups.
// Every group's checkers verify election safety, log matching, leader completeness and state
// machine safety at every step; healed, every group converges. And a crashed host's groups
// all elect new leaders within a few election timeouts.
//
//   npx vitest run test/cluster/hosts.test.ts              40 seeds
//   SEEDS=200 npx vitest run test/cluster/hosts.test.ts    more
//   SEED=7 npx vitest run test/cluster/hosts.test.ts       replay one
import { describe, expect, it } from 'vitest';
import { Cluster, Rng, crashPoints, seedFromEnv } from '../harness/index.js';

const HOSTS = [1, 2, 3];
const GROUPS = 12;
const ELECTION = 10;

function groupsOf(seed: number): Cluster[] {
  return Array.from(
    { length: GROUPS },
    (_, g) =>
      new Cluster({
        seed: seed * 1000 + g,
        voters: HOSTS,
        raft: { electionTick: ELECTION, heartbeatTick: 1, preVote: true, checkQuorum: true },
      }),
  );
}

function tickAll(groups: Cluster[], n = 1): void {
  for (let i = 0; i < n; i++) for (const c of groups) c.tick();
}

/** Runs one seed; throws with the seed and the step on a violation or a stuck group. */
function runSeed(seed: number): void {
  const rng = new Rng(seed);
  const groups = groupsOf(seed);
  const down = new Set<number>();
  const log: string[] = [];
  let step = 0;
  try {
    for (const c of groups) {
      c.stabilize();
      c.campaign(rng.pick(HOSTS));
    }
    tickAll(groups, 3 * ELECTION);
    for (step = 0; step < 60; step++) {
      const x = rng.next();
      if (x < 0.4) {
        // Proposals to random groups, through the leader when one is up.
        for (let k = rng.int(8); k >= 0; k--) {
          const c = rng.pick(groups);
          const l = c.leader();
          if (l !== undefined) c.propose(l.id, Uint8Array.of(step, k));
        }
      } else if (x < 0.5) {
        const h = rng.pick(HOSTS);
        log.push(`isolate ${h}`);
        for (const c of groups) c.isolate(h);
      } else if (x < 0.6) {
        log.push('heal');
        for (const c of groups) c.heal();
      } else if (x < 0.7) {
        const h = rng.pick(HOSTS);
        const rate = rng.chance(0.5) ? 0.3 : 0;
        log.push(`loss ${h} ${rate}`);
        for (const c of groups) {
          for (const o of HOSTS) {
            if (o === h) continue;
            c.net.setLinkDropRate(h, o, rate);
            c.net.setLinkDropRate(o, h, rate);
          }
        }
      } else if (x < 0.85) {
        const up = HOSTS.filter((h) => !down.has(h));
        if (up.length > 0) {
          const h = rng.pick(up);
          const point = rng.pick(crashPoints);
          log.push(`crash ${h} ${point}`);
          for (const c of groups) c.crash(h, point);
          down.add(h);
        }
      } else if (down.size > 0) {
        const h = rng.pick([...down]);
        const mode = rng.chance(0.5) ? 'applied' : 'replay';
        log.push(`restart ${h} ${mode}`);
        for (const c of groups) c.restart(h, mode);
        down.delete(h);
      }
      tickAll(groups, 1 + rng.int(3 * ELECTION));
    }
    // Heal, bring every host back, and converge.
    for (const c of groups) c.heal();
    for (const c of groups) {
      for (const h of HOSTS) {
        for (const o of HOSTS) if (o !== h) c.net.setLinkDropRate(h, o, 0);
      }
    }
    for (const h of down) for (const c of groups) c.restart(h);
    for (const [g, c] of groups.entries()) {
      let marked = 0;
      c.runUntil(
        () => {
          const l = c.leader();
          if (l === undefined) return false;
          const r = l.raw!.raft;
          if (marked !== r.term) {
            marked = r.term;
            c.propose(l.id, Uint8Array.of(255, g));
          }
          const committed = r.raftLog.committed;
          if (committed !== r.raftLog.lastIndex()) return false;
          return HOSTS.every((h) => c.node(h).up && c.node(h).sm.appliedIndex === committed);
        },
        3000,
        `group ${g} to converge`,
      );
      c.checkConverged(HOSTS);
    }
  } catch (err) {
    throw new Error(
      `seed ${seed} failed at step ${step} (replay: SEED=${seed} npx vitest run test/cluster/hosts.test.ts): ${(err as Error).message}\nschedule: ${log.join(', ')}`,
      { cause: err },
    );
  }
}

describe('hosts running many groups (simulation)', () => {
  const replay = seedFromEnv();
  const seeds =
    replay !== undefined
      ? [replay]
      : Array.from({ length: Number(process.env.SEEDS ?? 40) }, (_, i) => i + 1);

  it(`${seeds.length} seeds: every group keeps the safety properties and converges`, {
    timeout: 600_000,
  }, () => {
    for (const seed of seeds) runSeed(seed);
  });

  it('when a host crashes, the groups it led elect new leaders in about two election timeouts', () => {
    const groups = groupsOf(99);
    // Host 1 leads every group.
    for (const c of groups) {
      c.stabilize(); // the bootstrap conf changes applied: campaigning is allowed
      c.campaign(1);
      c.runUntil(() => c.leader()?.id === 1, 5 * ELECTION, 'host 1 to lead');
    }
    tickAll(groups, ELECTION);
    for (const c of groups) c.crash(1);
    const elected: number[] = groups.map(() => 0);
    for (let t = 1; t <= 10 * ELECTION && elected.includes(0); t++) {
      tickAll(groups);
      for (const [g, c] of groups.entries()) {
        if (elected[g] === 0 && c.leader() !== undefined) elected[g] = t;
      }
    }
    expect(elected).not.toContain(0);
    // A follower waits out its randomized timeout ([1, 2) election timeouts) without a
    // heartbeat, then a pre-vote and a vote round; a split vote costs another timeout.
    const sorted = [...elected].sort((a, b) => a - b);
    expect(sorted[Math.floor(GROUPS / 2)]!).toBeLessThanOrEqual(2 * ELECTION + 2);
    expect(sorted[GROUPS - 1]!).toBeLessThanOrEqual(6 * ELECTION);
  });
});
