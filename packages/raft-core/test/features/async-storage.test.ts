// Async storage writes (etcd's AsyncStorageWrites): MsgStorageAppend / MsgStorageApply to the
// local append and apply threads, their responses, several writes in flight, the leader
// counting its own entries only once durable, and the term guard on append responses. A
// random schedule (seed printed on failure) runs the threads at arbitrary times. Protocol
// traces: testdata/async_storage_writes*.txt.
import { describe, expect, it } from 'vitest';
import {
  EMPTY_BYTES,
  ErrUsage,
  LocalAppendThread,
  LocalApplyThread,
  MemoryStorage,
  MessageType,
  RawNode,
  newConfState,
  newMessage,
} from '../../src/index.js';
import {
  type AddNodesOptions,
  type EnvNode,
  InteractionEnv,
  seededRandom,
} from '../util/interaction.js';

const dec = new TextDecoder();
const ASYNC = { config: { asyncStorageWrites: true } };

function cluster(n: number, opts: AddNodesOptions = ASYNC, seed = 0): InteractionEnv {
  const env = new InteractionEnv(seed);
  env.addNodes(n, { voters: Array.from({ length: n }, (_, i) => i + 1), index: 10, ...opts });
  env.node(1).rawNode.campaign();
  env.stabilize();
  return env;
}

const local = (n: EnvNode, type: MessageType) =>
  type === MessageType.MsgStorageAppend ? n.appendWork : n.applyWork;

describe('async storage writes', () => {
  it('a Ready becomes a MsgStorageAppend (entries, hard state, responses) and a MsgStorageApply', () => {
    const env = cluster(1);
    const n = env.node(1);
    env.propose(1, 'a');
    env.processReady(1);
    const [app] = local(n, MessageType.MsgStorageAppend);
    expect(app).toMatchObject({ to: LocalAppendThread, from: 1 });
    expect(app!.entries.map((e) => dec.decode(e.data))).toEqual(['a']);
    // Delivered when the write is done: the leader's own ack, then the durability notice.
    expect(app!.responses.map((m) => [MessageType[m.type], m.from, m.to, m.index])).toEqual([
      ['MsgAppResp', 1, 1, 12],
      ['MsgStorageAppendResp', LocalAppendThread, 1, 12],
    ]);
    expect(app!.responses[1]!.term).toBe(n.rawNode.raft.term);
    env.processAppendThread(1);
    env.deliverMsgs(1);
    env.processReady(1);
    const [apply] = local(n, MessageType.MsgStorageApply);
    expect(apply).toMatchObject({ to: LocalApplyThread, from: 1 });
    expect(apply!.entries.map((e) => e.index)).toEqual([12]);
    expect(apply!.responses.map((m) => MessageType[m.type])).toEqual(['MsgStorageApplyResp']);
    // The hard state (new commit index) rides on a MsgStorageAppend of the same Ready.
    const hs = n.appendWork.at(-1)!;
    expect([hs.term, hs.vote, hs.commit]).toEqual([n.rawNode.raft.term, 1, 12]);
    env.stabilize();
    expect(n.applied).toEqual(['a']);
    expect(n.rawNode.raft.raftLog.applied).toBe(12);
  });

  it('advance() is refused; ready() may be called again with writes in flight', () => {
    const env = cluster(3);
    const rn = env.node(1).rawNode;
    expect(() => rn.advance()).toThrow(ErrUsage);
    env.propose(1, 'a');
    env.processReady(1);
    env.propose(1, 'b');
    env.processReady(1);
    env.propose(1, 'c');
    env.processReady(1);
    expect(env.node(1).appendWork.map((m) => m.entries.map((e) => dec.decode(e.data)))).toEqual([
      ['a'],
      ['b'],
      ['c'],
    ]);
    // Nothing is durable yet: the entries stay in the unstable log.
    expect(rn.raft.raftLog.unstable.entries).toHaveLength(3);
    env.processAppendThread(1);
    env.deliverMsgs(1);
    expect(rn.raft.raftLog.unstable.entries.map((e) => dec.decode(e.data))).toEqual(['b', 'c']);
    env.stabilize();
    for (const id of [1, 2, 3]) expect(env.node(id).applied).toEqual(['a', 'b', 'c']);
  });

  it('the synchronous contract refuses a second ready() before advance()', () => {
    const storage = new MemoryStorage();
    storage.applySnapshot({
      data: EMPTY_BYTES,
      metadata: { index: 1, term: 1, confState: newConfState({ voters: [1] }) },
    });
    const rn = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage, applied: 1 });
    rn.campaign();
    rn.ready();
    expect(() => rn.ready()).toThrow(ErrUsage);
    rn.advance();
    expect(() => rn.ready()).not.toThrow();
  });

  it('a single-node leader commits only once its own write is done', () => {
    const env = cluster(1);
    const rn = env.node(1).rawNode;
    const commit = rn.raft.raftLog.committed;
    env.propose(1, 'a');
    env.processReady(1);
    env.stabilizeRound(); // nothing else to do but wait...
    expect(rn.raft.raftLog.committed).toBe(commit); // ...for the append thread
    env.processAppendThread(1);
    env.deliverMsgs(1);
    expect(rn.raft.raftLog.committed).toBe(commit + 1);
  });

  it('a leader does not count itself toward a quorum before its write is done', () => {
    const env = cluster(3);
    const rn = env.node(1).rawNode;
    const commit = rn.raft.raftLog.committed;
    env.propose(1, 'a');
    env.processReady(1);
    env.deliverMsgs(3, { drop: true });
    env.deliverMsgs(2);
    env.processReady(2);
    env.processAppendThread(2);
    env.deliverMsgs(1, { type: MessageType.MsgAppResp });
    // n2 has it durably, n1 does not yet: 1 of 3.
    expect(rn.status().progress.get(1)!.match).toBe(commit);
    expect(rn.raft.raftLog.committed).toBe(commit);
    env.processAppendThread(1);
    env.deliverMsgs(1);
    expect(rn.raft.raftLog.committed).toBe(commit + 1);
  });

  it('an append response from an older term does not mark entries stable', () => {
    const env = cluster(3);
    const n2 = env.node(2);
    env.propose(1, 'a');
    env.processReady(1);
    env.deliverMsgs(2);
    env.processReady(2); // write of 1/12 "a" in flight on n2
    const stale = n2.appendWork[0]!.responses.find(
      (m) => m.type === MessageType.MsgStorageAppendResp,
    )!;
    expect([stale.term, stale.index, stale.logTerm]).toEqual([1, 12, 1]);
    // n2 moves to term 2 (a vote request from n3), keeping 1/12 "a" in its unstable log.
    n2.rawNode.step(
      newMessage({ type: MessageType.MsgVote, from: 3, to: 2, term: 2, index: 11, logTerm: 1 }),
    );
    expect(n2.rawNode.raft.term).toBe(2);
    const u = n2.rawNode.raft.raftLog.unstable;
    expect(u.entries.map((e) => e.index)).toEqual([12]);
    // The write completes, but its response names term 1: ignored, 12 stays unstable.
    n2.rawNode.step(stale);
    expect(u.entries.map((e) => e.index)).toEqual([12]);
    // The same response in the current term would have made it stable.
    n2.rawNode.step({ ...stale, term: 2 });
    expect(u.entries).toEqual([]);
  });

  it('a snapshot write is acknowledged even across a term change', () => {
    const env = cluster(3, { config: { asyncStorageWrites: true } });
    env.isolate(3);
    for (let i = 0; i < 3; i++) env.propose(1, `e${i}`);
    env.stabilize();
    const leader = env.node(1);
    leader.storage.compact(leader.rawNode.raft.raftLog.applied);
    env.blocked.clear();
    env.tick(1, [1]);
    // Run until n3 has a snapshot write in flight (its other writes complete as usual).
    const n3 = env.node(3);
    const snapWrite = () => n3.appendWork.find((m) => m.snapshot !== null);
    for (let i = 0; i < 20 && snapWrite() === undefined; i++) {
      for (const id of [1, 2, 3]) if (env.node(id).rawNode.hasReady()) env.processReady(id);
      for (const id of [1, 2, 3]) env.deliverMsgs(id);
      for (const id of [1, 2, 3]) {
        while (env.node(id).appendWork.length > 0 && snapWrite() === undefined)
          env.processAppendThread(id);
      }
    }
    const w = n3.appendWork.find((m) => m.snapshot !== null)!;
    expect(w).toBeDefined();
    // The term moves on before the write's response is stepped.
    n3.rawNode.step(
      newMessage({ type: MessageType.MsgVote, from: 2, to: 3, term: 5, index: 1, logTerm: 1 }),
    );
    while (n3.appendWork.length > 0) env.processAppendThread(3);
    env.deliverMsgs(3);
    expect(n3.rawNode.raft.raftLog.hasNextOrInProgressSnapshot()).toBe(false);
    expect(n3.rawNode.raft.raftLog.applied).toBe(w.snapshot!.metadata.index);
  });
});

describe('async storage writes, random schedules', () => {
  const SEEDS = 60;
  const STEPS = 400;

  function runSeed(seed: number): number {
    const rnd = seededRandom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    // A mixed cluster: some nodes write asynchronously, some synchronously.
    const env = new InteractionEnv(seed);
    for (let id = 1; id <= 5; id++) {
      env.addNodes(1, {
        voters: [1, 2, 3, 4, 5],
        index: 10,
        config: { asyncStorageWrites: rnd() < 0.7, preVote: true },
      });
    }
    const ids = [1, 2, 3, 4, 5];
    const fail = (msg: string) => {
      throw new Error(`seed ${seed}: ${msg}`);
    };
    env.onApply = (n, e) => {
      // Only durable entries are applied.
      if (n.storage.lastIndex() < e.index || n.storage.term(e.index) !== e.term)
        fail(`node ${n.id} applied ${e.term}/${e.index} before it was durable`);
    };
    let k = 0;
    for (let step = 0; step < STEPS; step++) {
      const r = rnd();
      const id = pick(ids);
      const n = env.node(id);
      if (r < 0.15) n.rawNode.tick();
      else if (r < 0.3) env.propose(id, `v${k++}`);
      else if (r < 0.5) {
        if (n.rawNode.hasReady()) env.processReady(id);
      } else if (r < 0.7) {
        // Deliver some of what is queued for `id`; lose a message now and then.
        const drop = rnd() < 0.1;
        env.deliverMsgs(
          id,
          drop
            ? {
                type: pick([MessageType.MsgApp, MessageType.MsgAppResp, MessageType.MsgHeartbeat]),
                drop,
              }
            : {},
        );
      } else if (r < 0.85) {
        if (n.appendWork.length > 0) env.processAppendThread(id);
      } else if (n.applyWork.length > 0) {
        env.processApplyThread(id);
      }
      // State machine safety: applied sequences never diverge.
      const seqs = env.nodes.map((x) => x.applied);
      const longest = seqs.reduce((a, b) => (a.length >= b.length ? a : b));
      for (const s of seqs) {
        for (let i = 0; i < s.length; i++)
          if (s[i] !== longest[i]) fail(`applied sequences diverge at ${i}`);
      }
    }
    // Heal: everything is delivered and written; a leader emerges and all converge.
    for (let round = 0; round < 200; round++) {
      env.tick(1);
      env.stabilize();
      if (env.leaders().length === 1 && round > 20) break;
    }
    env.propose(env.leaders()[0]!.id, 'final');
    env.stabilize();
    const first = env.node(1).applied;
    if (first.at(-1) !== 'final') fail('the final proposal was not applied');
    for (const x of env.nodes) if (x.applied.join() !== first.join()) fail(`node ${x.id} diverged`);
    return first.length;
  }

  it(`${SEEDS} seeds x ${STEPS} steps: durable before applied, no divergence, convergence`, () => {
    let applied = 0;
    for (let seed = 1; seed <= SEEDS; seed++) applied += runSeed(seed);
    expect(applied).toBeGreaterThan(SEEDS * 5);
  });
});
