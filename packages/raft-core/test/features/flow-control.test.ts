// Flow control: maxSizePerMsg, maxInflightMsgs and maxInflightBytes bound what a leader has in
// flight to a follower; maxUncommittedEntriesSize bounds the uncommitted tail a leader
// accepts; maxCommittedSizePerReady bounds the committed entries handed out per Ready;
// disableProposalForwarding makes followers refuse proposals.
import { describe, expect, it } from 'vitest';
import {
  EMPTY_BYTES,
  ErrInvalidConfig,
  ErrProposalDropped,
  MemoryStorage,
  type Message,
  MessageType,
  RawNode,
  SnapshotStatus,
  entsSize,
  newConfState,
  payloadsSize,
} from '../../src/index.js';
import { type AddNodesOptions, InteractionEnv } from '../util/interaction.js';

function cluster(n: number, opts: AddNodesOptions = {}): InteractionEnv {
  const env = new InteractionEnv();
  env.addNodes(n, { voters: Array.from({ length: n }, (_, i) => i + 1), index: 2, ...opts });
  env.node(1).rawNode.campaign();
  env.stabilize();
  return env;
}

const appsTo = (msgs: readonly Message[], id: number) =>
  msgs.filter((m) => m.to === id && m.type === MessageType.MsgApp);

describe('maxInflightMsgs and maxInflightBytes', () => {
  it('a replicating follower has at most maxInflightMsgs appends outstanding', () => {
    // maxSizePerMsg 0: one entry per MsgApp (nothing is merged).
    const env = cluster(2, { config: { maxInflightMsgs: 3, maxSizePerMsg: 0 } });
    for (let i = 0; i < 10; i++) env.propose(1, `e${i}`);
    env.trace = [];
    env.processReady(1);
    expect(appsTo(env.trace, 2)).toHaveLength(3);
    const pr = env.node(1).rawNode.status().progress.get(2)!;
    expect(pr.inflights).toMatchObject({ count: 3, size: 3 });
    // Each acknowledgement frees a slot; the rest follows as acks come back.
    env.stabilize();
    expect(env.node(2).applied).toHaveLength(10);
    expect(env.node(1).rawNode.status().progress.get(2)!.inflights.count).toBe(0);
  });

  it('maxInflightBytes caps the payload bytes in flight', () => {
    const env = cluster(2, { config: { maxSizePerMsg: 10, maxInflightBytes: 25 } });
    const ten = 'x'.repeat(10);
    for (let i = 0; i < 6; i++) env.propose(1, ten);
    env.trace = [];
    env.processReady(1);
    // 10 + 10 < 25, a third message fits (the budget is checked before each send): 30 bytes.
    const apps = appsTo(env.trace, 2);
    expect(apps.map((m) => payloadsSize(m.entries))).toEqual([10, 10, 10]);
    expect(env.node(1).rawNode.status().progress.get(2)!.inflights).toMatchObject({
      count: 3,
      bytes: 30,
    });
    env.stabilize();
    expect(env.node(2).applied).toHaveLength(6);
  });

  it('maxInflightBytes below maxSizePerMsg is refused', () => {
    const storage = new MemoryStorage();
    expect(
      () =>
        new RawNode({
          id: 1,
          electionTick: 10,
          heartbeatTick: 1,
          storage,
          maxSizePerMsg: 1024,
          maxInflightBytes: 512,
        }),
    ).toThrow(ErrInvalidConfig);
  });

  it('maxSizePerMsg bounds a catch-up append (a single larger entry still goes alone)', () => {
    const env = cluster(3, { config: { maxSizePerMsg: 100 } });
    env.isolate(3);
    for (let i = 0; i < 20; i++) env.propose(1, 'y'.repeat(20));
    env.propose(1, 'z'.repeat(300));
    env.stabilize();
    env.blocked.clear();
    env.trace = [];
    env.tick(1, [1]);
    env.stabilize();
    const apps = appsTo(env.trace, 3).filter((m) => m.entries.length > 0);
    expect(apps.length).toBeGreaterThan(3);
    for (const m of apps) {
      // limitSize counts entry sizes (payload plus a fixed overhead) against the limit.
      if (m.entries.length > 1) expect(entsSize(m.entries)).toBeLessThanOrEqual(100);
    }
    expect(apps.at(-1)!.entries.map((e) => e.data.length)).toEqual([300]);
    expect(env.node(3).applied).toHaveLength(21);
  });

  it('a probing follower gets one append per round trip, then a pipeline once it matches', () => {
    const env = cluster(2, { config: { maxSizePerMsg: 0 } });
    env.isolate(2);
    for (let i = 0; i < 5; i++) env.propose(1, `e${i}`);
    env.stabilize();
    env.node(1).rawNode.reportUnreachable(2); // StateReplicate -> StateProbe
    const pr = () => env.node(1).rawNode.status().progress.get(2)!;
    expect(pr().state).toBe(0);
    env.blocked.clear();
    env.propose(1, 'a');
    env.trace = [];
    env.processReady(1);
    expect(appsTo(env.trace, 2)).toHaveLength(1); // the probe
    env.propose(1, 'b');
    env.propose(1, 'c');
    env.trace = [];
    env.processReady(1);
    expect(appsTo(env.trace, 2)).toHaveLength(0); // paused until the probe is answered
    env.stabilize();
    expect(pr().state).toBe(1); // StateReplicate
    expect(env.node(2).applied).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'a', 'b', 'c']);
  });
});

describe('snapshots to a follower', () => {
  it('a failed snapshot is retried after the next heartbeat; a finished one resumes replication', () => {
    const env = cluster(3);
    env.isolate(3);
    env.propose(1, 'x');
    env.stabilize();
    const leader = env.node(1);
    leader.storage.compact(leader.rawNode.raft.raftLog.applied);
    env.blocked.clear();
    env.node(1).rawNode.reportUnreachable(3);
    const pr3 = () => leader.rawNode.status().progress.get(3)!;
    env.trace = [];
    env.tick(1, [1]);
    // Run until the snapshot is sent, and lose it.
    for (let i = 0; i < 10 && pr3().state !== 2; i++) env.stabilizeRound([1, 3]);
    expect(pr3()).toMatchObject({ state: 2, pendingSnapshot: 4 });
    env.stabilizeRound([1]);
    expect(env.trace.filter((m) => m.type === MessageType.MsgSnap)).toHaveLength(1);
    env.deliverMsgs(3, { type: MessageType.MsgSnap, drop: true });
    leader.rawNode.reportSnapshot(3, SnapshotStatus.Failure);
    expect(pr3()).toMatchObject({ state: 0, pendingSnapshot: 0 });
    // Paused until the follower is heard from again.
    env.stabilize([1]);
    expect(env.trace.filter((m) => m.type === MessageType.MsgSnap)).toHaveLength(1);
    env.tick(1, [1]);
    env.stabilize();
    expect(env.trace.filter((m) => m.type === MessageType.MsgSnap)).toHaveLength(2);
    leader.rawNode.reportSnapshot(3, SnapshotStatus.Finish);
    env.stabilize();
    expect(pr3()).toMatchObject({ state: 1, match: 4 });
    expect(env.node(3).applied).toEqual(['x']);
  });
});

describe('maxUncommittedEntriesSize', () => {
  it('drops proposals beyond the limit with ErrProposalDropped until entries commit', () => {
    const env = cluster(3, { config: { maxUncommittedEntriesSize: 10 } });
    env.isolate(2);
    env.isolate(3);
    expect(env.propose(1, 'aaaaa')).toBeUndefined();
    expect(env.propose(1, 'bbbbb')).toBeUndefined(); // exactly 10
    expect(env.propose(1, 'c')).toBeInstanceOf(ErrProposalDropped);
    // Empty entries carry no payload and are always accepted.
    expect(env.propose(1, '')).toBeUndefined();
    env.stabilize();
    expect(env.propose(1, 'c')).toBeInstanceOf(ErrProposalDropped);
    // Once the tail commits and is applied, the quota is released.
    env.blocked.clear();
    env.tick(1, [1]);
    env.stabilize();
    expect(env.node(1).applied).toEqual(['aaaaa', 'bbbbb']);
    expect(env.propose(1, 'c')).toBeUndefined();
  });

  it('accepts one oversized proposal when nothing is uncommitted (no livelock)', () => {
    const env = cluster(3, { config: { maxUncommittedEntriesSize: 10 } });
    env.isolate(2);
    env.isolate(3);
    expect(env.propose(1, 'x'.repeat(50))).toBeUndefined();
    expect(env.propose(1, 'y')).toBeInstanceOf(ErrProposalDropped);
  });

  it('bounds the log of a leader cut off from its followers', () => {
    // etcd's TestRawNodeBoundedLogGrowthWithPartition: a partitioned leader keeps taking
    // proposals only up to the limit, so its log cannot grow without bound.
    const env = cluster(3, { config: { maxUncommittedEntriesSize: 1024 } });
    env.isolate(1);
    const before = env.node(1).rawNode.raft.raftLog.lastIndex();
    let dropped = 0;
    for (let i = 0; i < 1024; i++) {
      if (env.propose(1, 'p'.repeat(16)) !== undefined) dropped++;
      env.stabilize();
    }
    const grown = env.node(1).rawNode.raft.raftLog.lastIndex() - before;
    expect(grown).toBe(64); // 1024 / 16
    expect(dropped).toBe(1024 - 64);
    expect(env.node(1).rawNode.raft.uncommittedSize).toBe(1024);
    env.blocked.clear();
    env.tick(1, [1]);
    env.stabilize();
    expect(env.node(1).rawNode.raft.uncommittedSize).toBe(0);
    expect(env.node(3).applied).toHaveLength(64);
  });

  it('a new leader starts with an empty quota', () => {
    const env = cluster(3, { config: { maxUncommittedEntriesSize: 10 } });
    env.isolate(1);
    env.propose(1, 'x'.repeat(10));
    env.node(2).rawNode.campaign();
    env.stabilize();
    expect(env.node(2).rawNode.raft.uncommittedSize).toBe(0);
    expect(env.propose(2, 'y'.repeat(10))).toBeUndefined();
  });
});

describe('maxCommittedSizePerReady', () => {
  it('bounds the committed entries of each Ready; all are applied in order over several', () => {
    const env = cluster(3, { config: { maxCommittedSizePerReady: 100 } });
    env.isolate(3);
    // Each entry counts 9 payload bytes + 24 overhead = 33: three fit in 100.
    const data = Array.from({ length: 12 }, (_, i) => `entry-${String(i).padStart(3, '0')}`);
    for (const d of data) env.propose(1, d);
    env.stabilize();
    env.blocked.clear();
    const perReady: number[][] = [];
    env.onReady = (n, rd) => {
      if (n.id === 3 && rd.committedEntries.length > 0)
        perReady.push([rd.committedEntries.length, entsSize(rd.committedEntries)]);
    };
    // n3 receives the 12 entries and their commit index at once, then applies in slices.
    env.tick(1, [1]);
    env.stabilize();
    expect(env.node(3).applied).toEqual(data);
    expect(perReady).toEqual([
      [3, 99],
      [3, 99],
      [3, 99],
      [3, 99],
    ]);
  });

  it('with async storage writes, the next slice waits for the previous one to be applied', () => {
    const env = cluster(1, { config: { maxCommittedSizePerReady: 100, asyncStorageWrites: true } });
    for (let i = 0; i < 6; i++) env.propose(1, `entry-${String(i).padStart(3, '0')}`);
    env.processReady(1);
    env.processAppendThread(1);
    env.deliverMsgs(1);
    env.processReady(1);
    expect(env.node(1).applyWork.map((m) => m.entries.length)).toEqual([3]);
    // No second slice until the apply thread reports the first done.
    expect(env.node(1).rawNode.hasReady()).toBe(false);
    env.processApplyThread(1);
    env.deliverMsgs(1);
    env.processReady(1);
    expect(env.node(1).applyWork.map((m) => m.entries.length)).toEqual([3]);
    env.stabilize();
    expect(env.node(1).applied).toHaveLength(6);
  });
});

describe('disableProposalForwarding', () => {
  it('a follower refuses proposals instead of forwarding them; the leader still accepts', () => {
    const env = cluster(3, { config: { disableProposalForwarding: true } });
    expect(env.propose(2, 'via-follower')).toBeInstanceOf(ErrProposalDropped);
    env.trace = [];
    env.stabilize();
    expect(env.trace.filter((m) => m.type === MessageType.MsgProp)).toEqual([]);
    expect(env.propose(1, 'via-leader')).toBeUndefined();
    env.stabilize();
    expect(env.node(2).applied).toEqual(['via-leader']);
  });

  it('forwarding is on by default', () => {
    const env = cluster(3);
    expect(env.propose(2, 'forwarded')).toBeUndefined();
    env.stabilize();
    expect(env.node(3).applied).toEqual(['forwarded']);
  });
});

describe('RawNode config defaults', () => {
  it('fills in etcd-like defaults', () => {
    const storage = new MemoryStorage();
    storage.applySnapshot({
      data: EMPTY_BYTES,
      metadata: { index: 1, term: 1, confState: newConfState({ voters: [1] }) },
    });
    const rn = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage });
    const r = rn.raft;
    expect(r.maxMsgSize).toBe(1 << 20);
    expect(r.trk.maxInflight).toBe(256);
    expect(r.maxUncommittedSize).toBe(Number.POSITIVE_INFINITY);
    expect(r.raftLog.maxApplyingEntsSize).toBe(1 << 20);
    expect(r.checkQuorum).toBe(false);
    expect(r.preVote).toBe(false);
    expect(r.stepDownOnRemoval).toBe(true);
    expect(r.disableProposalForwarding).toBe(false);
  });
});
