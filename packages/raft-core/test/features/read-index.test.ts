// Linearizable reads (Raft thesis §6.4): readIndex with ReadOnlySafe (confirmed by a
// heartbeat round) and ReadOnlyLeaseBased (needs checkQuorum), ReadStates in Ready, reads
// forwarded by followers, a new leader that defers reads until it has committed an entry of
// its term, and a deposed leader that never serves a stale read, checked on fixed scenarios
// and on random partition schedules (seed printed on failure). Protocol traces:
// testdata/read_index*.txt.
import { describe, expect, it } from 'vitest';
import {
  ConfChangeTransition,
  EMPTY_BYTES,
  ErrInvalidConfig,
  MemoryStorage,
  MessageType,
  RawNode,
  ReadOnlyOption,
  StateType,
  newConfState,
} from '../../src/index.js';
import {
  type AddNodesOptions,
  InteractionEnv,
  parseConfChanges,
  seededRandom,
} from '../util/interaction.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function cluster(n: number, opts: AddNodesOptions = {}, seed = 0): InteractionEnv {
  const env = new InteractionEnv(seed);
  env.addNodes(n, { voters: Array.from({ length: n }, (_, i) => i + 1), index: 2, ...opts });
  env.node(1).rawNode.campaign();
  env.stabilize();
  return env;
}

/** Collects released reads as ctx -> {node, index}. */
function collectReads(env: InteractionEnv) {
  const reads = new Map<string, { node: number; index: number }>();
  env.onReadState = (n, rs) =>
    reads.set(dec.decode(rs.requestCtx), { node: n.id, index: rs.index });
  return reads;
}

function run(env: InteractionEnv, rounds: number): void {
  for (let i = 0; i < rounds; i++) {
    env.tick(1);
    env.stabilize();
  }
}

describe('ReadIndex, ReadOnlySafe', () => {
  it('is released only once a quorum answers the heartbeat round that carries its context', () => {
    const env = cluster(5);
    const reads = collectReads(env);
    const commit = env.node(1).rawNode.raft.raftLog.committed;
    env.trace = [];
    env.node(1).rawNode.readIndex(enc.encode('r'));
    env.processReady(1);
    const round = env.trace.filter((m) => m.type === MessageType.MsgHeartbeat);
    expect(round.map((m) => m.to)).toEqual([2, 3, 4, 5]);
    expect(round.every((m) => dec.decode(m.context) === 'r')).toBe(true);
    // One ack: with the leader's own, 2 of 5. Not enough.
    env.deliverMsgs(2);
    env.processReady(2);
    env.deliverMsgs(1);
    env.processReady(1);
    expect(reads.size).toBe(0);
    // A second ack makes 3 of 5.
    env.deliverMsgs(3);
    env.processReady(3);
    env.deliverMsgs(1);
    env.processReady(1);
    expect(reads.get('r')).toEqual({ node: 1, index: commit });
  });

  it('records the commit index at the time of the request', () => {
    const env = cluster(3);
    const reads = collectReads(env);
    const commit = env.node(1).rawNode.raft.raftLog.committed;
    env.node(1).rawNode.readIndex(enc.encode('early'));
    env.propose(1, 'w');
    env.stabilize();
    expect(env.node(1).rawNode.raft.raftLog.committed).toBe(commit + 1);
    // The read started before w was acknowledged: commit is a valid (and the recorded) index.
    expect(reads.get('early')?.index).toBe(commit);
  });

  it('a single voter answers at once, without messages', () => {
    const env = cluster(1);
    const reads = collectReads(env);
    env.node(1).rawNode.readIndex(enc.encode('solo'));
    env.trace = [];
    env.stabilize();
    expect(reads.get('solo')).toEqual({
      node: 1,
      index: env.node(1).rawNode.raft.raftLog.committed,
    });
    expect(env.trace).toEqual([]);
  });

  it('a follower forwards its read; the ReadState appears in the follower`s Ready', () => {
    const env = cluster(3);
    const reads = collectReads(env);
    env.propose(1, 'w');
    env.stabilize();
    env.node(3).rawNode.readIndex(enc.encode('f'));
    env.stabilize();
    expect(reads.get('f')).toEqual({ node: 3, index: env.node(1).rawNode.raft.raftLog.committed });
    // The follower has applied up to the read index, so it may serve the read now.
    expect(env.node(3).rawNode.raft.raftLog.applied).toBeGreaterThanOrEqual(reads.get('f')!.index);
  });

  it('a learner reads through the leader like a follower', () => {
    const env = cluster(2);
    env.addNodes(1);
    env.node(1).rawNode.proposeConfChange({
      transition: ConfChangeTransition.ConfChangeTransitionAuto,
      changes: parseConfChanges('l3'),
      context: EMPTY_BYTES,
    });
    env.stabilize();
    const reads = collectReads(env);
    env.node(3).rawNode.readIndex(enc.encode('learner'));
    env.stabilize();
    expect(reads.get('learner')).toEqual({
      node: 3,
      index: env.node(1).rawNode.raft.raftLog.committed,
    });
  });

  it('without a known leader the read is dropped, not queued', () => {
    const env = cluster(3);
    const reads = collectReads(env);
    env.isolate(3);
    run(env, 20); // n3 times out and campaigns in vain
    expect(env.node(3).rawNode.raft.lead).toBe(0);
    env.node(3).rawNode.readIndex(enc.encode('lost'));
    env.blocked.clear();
    run(env, 20);
    expect(reads.has('lost')).toBe(false);
  });

  it('a new leader serves no read, local or forwarded, before it commits an entry of its term', () => {
    const env = cluster(3);
    const reads = collectReads(env);
    env.propose(1, 'w');
    env.stabilize();
    // n2 wins an election, but its empty entry is not yet committed.
    env.node(2).rawNode.campaign();
    env.processReady(2);
    env.deliverMsgs(1);
    env.deliverMsgs(3);
    env.processReady(1);
    env.processReady(3);
    env.deliverMsgs(2);
    expect(env.node(2).rawNode.raft.state).toBe(StateType.Leader);
    env.node(2).rawNode.readIndex(enc.encode('local'));
    env.trace = [];
    env.processReady(2); // the new-term entry goes out; no heartbeat round for the read
    expect(env.trace.filter((m) => m.type === MessageType.MsgHeartbeat)).toEqual([]);
    // n3 learns of its leader from the append, and forwards a read before acking.
    env.deliverMsgs(3, { type: MessageType.MsgApp });
    env.node(3).rawNode.readIndex(enc.encode('forwarded'));
    env.processReady(3);
    env.deliverMsgs(2, { type: MessageType.MsgReadIndex });
    expect(env.node(2).rawNode.raft.pendingReadIndexMessages).toHaveLength(2);
    expect(reads.size).toBe(0);
    env.stabilize();
    const newTermEntry = env.node(2).rawNode.raft.raftLog.committed;
    expect(env.node(2).rawNode.raft.raftLog.term(newTermEntry)).toBe(env.node(2).rawNode.raft.term);
    expect(reads.get('local')).toEqual({ node: 2, index: newTermEntry });
    expect(reads.get('forwarded')).toEqual({ node: 3, index: newTermEntry });
  });

  it('a deposed leader in a minority never serves the read, while the majority moves on', () => {
    const env = cluster(5, { config: { preVote: true } });
    const reads = collectReads(env);
    env.partition([1, 2], [3, 4, 5]);
    run(env, 30);
    const newLeader = env.leaders().find((n) => n.id >= 3)!;
    expect(newLeader).toBeDefined();
    env.propose(newLeader.id, 'w');
    env.stabilize();
    const wIndex = newLeader.rawNode.raft.raftLog.committed;
    // n1 still believes it leads term 1 (no checkQuorum): it takes the read but cannot
    // confirm it with a majority.
    expect(env.node(1).rawNode.raft.state).toBe(StateType.Leader);
    env.node(1).rawNode.readIndex(enc.encode('stale?'));
    env.node(2).rawNode.readIndex(enc.encode('stale-too?'));
    run(env, 30);
    expect(reads.size).toBe(0);
    // After the partition heals, n1 learns of the new term and steps down; the reads it held
    // are dropped (the client retries), never answered with an old index.
    env.blocked.clear();
    run(env, 10);
    expect(env.node(1).rawNode.raft.state).toBe(StateType.Follower);
    expect(reads.size).toBe(0);
    env.node(1).rawNode.readIndex(enc.encode('retry'));
    env.stabilize();
    expect(reads.get('retry')!.index).toBeGreaterThanOrEqual(wIndex);
  });
});

describe('ReadIndex, ReadOnlyLeaseBased', () => {
  it('is refused at config validation without checkQuorum', () => {
    const storage = new MemoryStorage();
    storage.applySnapshot({
      data: EMPTY_BYTES,
      metadata: { index: 1, term: 1, confState: newConfState({ voters: [1] }) },
    });
    const base = { id: 1, electionTick: 10, heartbeatTick: 1, storage };
    expect(() => new RawNode({ ...base, readOnlyOption: ReadOnlyOption.LeaseBased })).toThrow(
      ErrInvalidConfig,
    );
    expect(
      () => new RawNode({ ...base, readOnlyOption: ReadOnlyOption.LeaseBased, checkQuorum: false }),
    ).toThrow(/checkQuorum/);
    expect(
      () => new RawNode({ ...base, readOnlyOption: ReadOnlyOption.LeaseBased, checkQuorum: true }),
    ).not.toThrow();
  });

  it('answers from the lease, without a heartbeat round', () => {
    const env = cluster(3, {
      config: { readOnlyOption: ReadOnlyOption.LeaseBased, checkQuorum: true },
    });
    const reads = collectReads(env);
    env.trace = [];
    env.node(1).rawNode.readIndex(enc.encode('l'));
    env.node(2).rawNode.readIndex(enc.encode('f'));
    env.stabilize();
    expect(env.trace.filter((m) => m.type === MessageType.MsgHeartbeat)).toEqual([]);
    const commit = env.node(1).rawNode.raft.raftLog.committed;
    expect(reads.get('l')).toEqual({ node: 1, index: commit });
    expect(reads.get('f')).toEqual({ node: 2, index: commit });
  });

  it('a partitioned lease holder steps down within two election timeouts and then serves nothing', () => {
    const env = cluster(5, {
      config: { readOnlyOption: ReadOnlyOption.LeaseBased, checkQuorum: true },
    });
    const reads = collectReads(env);
    env.isolate(1);
    const et = env.node(1).config.electionTick;
    run(env, 2 * et);
    expect(env.node(1).rawNode.raft.state).toBe(StateType.Follower);
    env.node(1).rawNode.readIndex(enc.encode('x'));
    run(env, 10);
    expect(reads.has('x')).toBe(false);
  });
});

describe('random partitions: every read sees every write acknowledged before it started (ReadOnlySafe)', () => {
  const SEEDS = 150;
  const STEPS = 250;

  function runSeed(seed: number): { reads: number; writes: number } {
    const rnd = seededRandom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const env = cluster(5, { config: { preVote: rnd() < 0.5, checkQuorum: rnd() < 0.5 } }, seed);
    const ids = [1, 2, 3, 4, 5];
    // Writes: data -> index once applied on the node that proposed it (the client's ack).
    const proposedOn = new Map<string, number>();
    const acked: { step: number; index: number; data: string }[] = [];
    const readStart = new Map<string, number>();
    let served = 0;
    let step = 0;
    env.onApply = (n, e) => {
      const data = dec.decode(e.data);
      if (proposedOn.get(data) === n.id) {
        acked.push({ step, index: e.index, data });
        proposedOn.delete(data);
      }
    };
    env.onReadState = (n, rs) => {
      const ctx = dec.decode(rs.requestCtx);
      const started = readStart.get(ctx);
      if (started === undefined) throw new Error(`unknown read ${ctx}`);
      readStart.delete(ctx);
      served++;
      for (const w of acked) {
        if (w.step < started && w.index > rs.index) {
          throw new Error(
            `seed ${seed}: read ${ctx} on ${n.id} (started at step ${started}) got index ${rs.index}, ` +
              `but write ${w.data} at index ${w.index} was acknowledged at step ${w.step}`,
          );
        }
      }
    };
    let nextId = 0;
    for (step = 1; step <= STEPS; step++) {
      const r = rnd();
      if (r < 0.08) {
        env.blocked.clear();
        const shuffled = [...ids].sort(() => rnd() - 0.5);
        const cut = 1 + Math.floor(rnd() * 4);
        env.partition(shuffled.slice(0, cut), shuffled.slice(cut));
      } else if (r < 0.14) {
        env.blocked.clear();
      } else if (r < 0.4) {
        const id = pick(ids);
        const data = `w${nextId++}`;
        if (env.propose(id, data) === undefined) proposedOn.set(data, id);
      } else if (r < 0.65) {
        const ctx = `r${nextId++}`;
        readStart.set(ctx, step);
        env.node(pick(ids)).rawNode.readIndex(enc.encode(ctx));
      }
      env.tick(1);
      env.stabilize();
    }
    return { reads: served, writes: acked.length };
  }

  it(`${SEEDS} seeds x ${STEPS} steps`, () => {
    let reads = 0;
    let writes = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = runSeed(seed);
      reads += r.reads;
      writes += r.writes;
    }
    // The schedules are not vacuous: plenty of reads and writes complete.
    expect(reads).toBeGreaterThan(SEEDS * 10);
    expect(writes).toBeGreaterThan(SEEDS * 10);
  });
});
