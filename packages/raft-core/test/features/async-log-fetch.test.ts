// Async log fetch: Storage.entries may throw ErrLogTemporarilyUnavailable while it loads
// entries; raft retries once RawNode.onEntriesFetched(ctx) reports them loaded. The storage
// used here (EnvStorage) refuses entries below `coldBelow` and records each refused read's
// FetchContext. Protocol trace: testdata/async_log_fetch.txt.
import { describe, expect, it } from 'vitest';
import { MessageType, StateType } from '../../src/index.js';
import { type AddNodesOptions, InteractionEnv, seededRandom } from '../util/interaction.js';

function cluster(n: number, opts: AddNodesOptions = {}, seed = 0): InteractionEnv {
  const env = new InteractionEnv(seed);
  env.addNodes(n, { voters: Array.from({ length: n }, (_, i) => i + 1), index: 10, ...opts });
  env.node(1).rawNode.campaign();
  env.stabilize();
  return env;
}

/** n3 misses `k` entries, which n1 then holds only in storage. */
function lagging(k: number, opts: AddNodesOptions = {}): InteractionEnv {
  const env = cluster(3, opts);
  env.isolate(3);
  for (let i = 0; i < k; i++) env.propose(1, `e${i}`);
  env.stabilize();
  env.blocked.clear();
  return env;
}

const appsTo = (env: InteractionEnv, id: number) =>
  (env.trace ?? []).filter(
    (m) => m.to === id && m.type === MessageType.MsgApp && m.entries.length > 0,
  );

describe('async log fetch', () => {
  it('the leader sends nothing while the entries load, and retries once told they are loaded', () => {
    const env = lagging(3);
    const leader = env.node(1);
    leader.storage.coldBelow = 100;
    env.trace = [];
    env.tick(1, [1]);
    env.stabilize();
    expect(appsTo(env, 3)).toEqual([]);
    expect(leader.storage.pendingFetches).toEqual([{ why: 'append', to: 3 }]);
    // Heartbeats keep asking; the storage is asked again but the request is the same.
    env.tick(3, [1]);
    env.stabilize();
    expect(appsTo(env, 3)).toEqual([]);
    expect(leader.storage.pendingFetches).toHaveLength(1);
    // Loaded: the callback makes the leader send at once, without waiting for a heartbeat.
    leader.storage.coldBelow = 0;
    leader.rawNode.onEntriesFetched(leader.storage.pendingFetches.pop()!);
    env.stabilize();
    expect(appsTo(env, 3).flatMap((m) => m.entries.map((e) => e.index))).toEqual([12, 13, 14]);
    expect(env.node(3).applied).toEqual(['e0', 'e1', 'e2']);
  });

  it('replication from the unstable log and the in-memory tail is not affected', () => {
    const env = cluster(3);
    env.node(1).storage.coldBelow = 12; // 11 and below are cold; new entries are not
    env.propose(1, 'hot');
    env.stabilize();
    expect(env.node(3).applied).toEqual(['hot']);
    expect(env.node(1).storage.pendingFetches).toEqual([]);
  });

  it('applying waits for a fetch too, then resumes in order', () => {
    const env = cluster(3);
    const n2 = env.node(2);
    n2.storage.coldBelow = 1000;
    for (const d of ['a', 'b', 'c']) env.propose(1, d);
    env.stabilize();
    expect(n2.rawNode.raft.raftLog.committed).toBe(14);
    expect(n2.applied).toEqual([]);
    expect(n2.storage.pendingFetches).toEqual([{ why: 'apply', to: 0 }]);
    expect(n2.rawNode.hasReady()).toBe(false);
    n2.storage.coldBelow = 0;
    n2.rawNode.onEntriesFetched(n2.storage.pendingFetches.pop()!);
    expect(n2.rawNode.hasReady()).toBe(true);
    env.stabilize();
    expect(n2.applied).toEqual(['a', 'b', 'c']);
  });

  it('a node that cannot read its unapplied entries yet does not campaign (and campaign() does not throw)', () => {
    // Before campaigning, raft checks the committed but unapplied entries for conf changes.
    // While the storage loads them it cannot tell, so it waits, as for a pending change.
    const env = cluster(3);
    const n2 = env.node(2);
    n2.storage.coldBelow = 1000;
    env.propose(1, 'a');
    env.stabilize();
    expect(n2.rawNode.raft.raftLog.applied).toBeLessThan(n2.rawNode.raft.raftLog.committed);
    env.isolate(1);
    expect(() => n2.rawNode.campaign()).not.toThrow();
    for (let i = 0; i < 20; i++) n2.rawNode.tick();
    expect(n2.rawNode.raft.state).toBe(StateType.Follower);
    // Loaded and applied: now it campaigns.
    n2.storage.coldBelow = 0;
    for (const ctx of n2.storage.pendingFetches.splice(0)) n2.rawNode.onEntriesFetched(ctx);
    env.stabilize();
    expect(n2.applied).toEqual(['a']);
    n2.rawNode.campaign();
    env.stabilize();
    expect(n2.rawNode.raft.state).toBe(StateType.Leader);
  });

  it('a report for a peer that is gone, or after losing leadership, is harmless', () => {
    const env = lagging(2);
    const leader = env.node(1);
    leader.storage.coldBelow = 100;
    env.tick(1, [1]);
    env.stabilize();
    const ctx = leader.storage.pendingFetches.pop()!;
    leader.storage.coldBelow = 0;
    // n1 loses leadership before the storage reports back.
    env.node(2).rawNode.campaign();
    env.stabilize();
    expect(leader.rawNode.raft.state).toBe(StateType.Follower);
    env.trace = [];
    leader.rawNode.onEntriesFetched(ctx);
    leader.rawNode.onEntriesFetched({ why: 'append', to: 42 });
    env.stabilize();
    expect(env.trace.filter((m) => m.from === 1 && m.type === MessageType.MsgApp)).toEqual([]);
  });

  it('random cold and warm periods: every node converges on the same applied entries', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = seededRandom(seed);
      const env = cluster(3, { config: { asyncStorageWrites: seed % 2 === 0 } }, seed);
      let k = 0;
      for (let step = 0; step < 200; step++) {
        const r = rnd();
        const n = env.node(1 + Math.floor(rnd() * 3));
        if (r < 0.1) {
          n.storage.coldBelow = Math.floor(rnd() * (n.storage.lastIndex() + 2));
        } else if (r < 0.25) {
          n.storage.coldBelow = 0;
          for (const ctx of n.storage.pendingFetches.splice(0)) n.rawNode.onEntriesFetched(ctx);
        } else if (r < 0.35) {
          env.blocked.clear();
          env.isolate(n.id);
        } else if (r < 0.45) {
          env.blocked.clear();
        } else if (r < 0.7) {
          const [l] = env.leaders();
          if (l !== undefined) env.propose(l.id, `v${k++}`);
        }
        env.tick(1);
        env.stabilize();
      }
      env.blocked.clear();
      for (const n of env.nodes) {
        n.storage.coldBelow = 0;
        for (const ctx of n.storage.pendingFetches.splice(0)) n.rawNode.onEntriesFetched(ctx);
      }
      for (let i = 0; i < 30; i++) {
        env.tick(1);
        env.stabilize();
      }
      const [l] = env.leaders();
      expect(l, `seed ${seed}: no leader`).toBeDefined();
      env.propose(l!.id, 'final');
      env.stabilize();
      const want = env.node(1).applied;
      expect(want.at(-1), `seed ${seed}`).toBe('final');
      for (const n of env.nodes) expect(n.applied, `seed ${seed}: node ${n.id}`).toEqual(want);
    }
  });
});
