// Snapshots: a leader sends MsgSnap to a follower that needs compacted entries, the follower
// restores it, and replication resumes (on the follower's answer or reportSnapshot); a failed
// snapshot sends the follower back to probing. etcd's raft_snap_test.go and the snapshot
// tests of raft_test.go, as our own cases, then the whole path through RawNode.
import { describe, expect, it } from 'vitest';
import {
  ErrSnapshotTemporarilyUnavailable,
  MemoryStorage,
  type Message,
  MessageType,
  ProgressStateType,
  type Raft,
  RawNode,
  type Snapshot,
  SnapshotStatus,
  StateType,
  newConfState,
} from '../src/index.js';
import { Network } from './util/network.js';
import {
  entsFrom,
  makeLeader,
  msg,
  newTestRaft,
  newTestStorage,
  nextEnts,
  propMsg,
  readMessages,
  show,
  testConfig,
} from './util/raft.js';
import {
  type TestNode,
  appliedData,
  enc,
  newTestNode,
  snapshotAndCompact,
  stabilize,
} from './util/rawnode.js';

/** A snapshot at index 11, term 11, of a cluster of voters 1 and 2 (etcd's testingSnap). */
function testingSnap(voters = [1, 2]): Snapshot {
  return {
    data: new Uint8Array(0),
    metadata: { index: 11, term: 11, confState: newConfState({ voters }) },
  };
}

/** A leader whose log starts with testingSnap (so entries up to 11 are compacted). */
function leaderAfterSnapshot(): Raft {
  const r = newTestRaft(1, 10, 1, newTestStorage([1]));
  expect(r.restore(testingSnap())).toBe(true);
  r.becomeFollower(11, 0); // the term of the snapshot: it leads term 12
  makeLeader(r);
  readMessages(r);
  return r;
}

describe('snapshots on the leader', () => {
  it('a follower that needs compacted entries is sent the snapshot, pending until done', () => {
    const r = leaderAfterSnapshot();
    const pr = r.trk.progress.get(2)!;
    // Force node 2 to need what is compacted: its next is the first index, and it rejects.
    pr.next = r.raftLog.firstIndex();
    r.step(
      msg({
        type: MessageType.MsgAppResp,
        from: 2,
        to: 1,
        term: r.term,
        index: pr.next - 1,
        reject: true,
      }),
    );
    expect(pr.state).toBe(ProgressStateType.StateSnapshot);
    expect(pr.pendingSnapshot).toBe(11);
    expect(show(readMessages(r))).toEqual([
      '1->2 MsgSnap Term:12 Log:0/0 Snapshot: Index:11 Term:11 ConfState:Voters:[1 2]',
    ]);
  });

  it('no snapshot goes to a follower that was not recently active', () => {
    const r = leaderAfterSnapshot();
    const pr = r.trk.progress.get(2)!;
    pr.next = r.raftLog.firstIndex() - 1; // its predecessor's term is compacted too
    pr.recentActive = false;
    r.sendAppend(2);
    expect(readMessages(r)).toEqual([]);
    expect(pr.state).toBe(ProgressStateType.StateProbe);
  });

  it('a snapshot the storage cannot produce yet is retried later, nothing changes meanwhile', () => {
    class SlowSnapshots extends MemoryStorage {
      ready = false;
      override snapshot(): Snapshot {
        if (!this.ready) throw new ErrSnapshotTemporarilyUnavailable();
        return super.snapshot();
      }
    }
    const s = new SlowSnapshots();
    s.applySnapshot(testingSnap());
    s.setHardState({ term: 11, vote: 0, commit: 11 });
    const r = newTestRaft(1, 10, 1, s);
    makeLeader(r);
    readMessages(r);
    const pr = r.trk.progress.get(2)!;
    pr.next = 5; // before the first index
    pr.recentActive = true;
    r.sendAppend(2);
    expect(readMessages(r)).toEqual([]);
    expect(pr.state).toBe(ProgressStateType.StateProbe);
    s.ready = true;
    r.sendAppend(2);
    expect(readMessages(r).map((m) => MessageType[m.type])).toEqual(['MsgSnap']);
    expect(pr.state).toBe(ProgressStateType.StateSnapshot);
  });

  it('nothing but the snapshot goes out while it is pending', () => {
    const r = leaderAfterSnapshot();
    r.trk.progress.get(2)!.becomeSnapshot(11);
    for (let i = 0; i < 3; i++) r.step(propMsg(1));
    expect(readMessages(r)).toEqual([]);
  });

  it('a failed snapshot: probe from the start again, paused until the next heartbeat', () => {
    const r = leaderAfterSnapshot();
    const pr = r.trk.progress.get(2)!;
    pr.next = 1;
    pr.becomeSnapshot(11);
    r.step(msg({ type: MessageType.MsgSnapStatus, from: 2, to: 1, reject: true }));
    expect(pr.state).toBe(ProgressStateType.StateProbe);
    expect(pr.pendingSnapshot).toBe(0);
    expect(pr.next).toBe(1);
    expect(pr.msgAppFlowPaused).toBe(true);
    expect(readMessages(r)).toEqual([]);
    // The next heartbeat response resumes it: the snapshot is sent again.
    r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, term: r.term }));
    expect(readMessages(r).map((m) => MessageType[m.type])).toEqual(['MsgSnap']);
  });

  it('a finished snapshot: probe after it, paused until the follower answers', () => {
    const r = leaderAfterSnapshot();
    const pr = r.trk.progress.get(2)!;
    pr.next = 1;
    pr.becomeSnapshot(11);
    r.step(msg({ type: MessageType.MsgSnapStatus, from: 2, to: 1, reject: false }));
    expect(pr.state).toBe(ProgressStateType.StateProbe);
    expect(pr.pendingSnapshot).toBe(0);
    expect(pr.next).toBe(12);
    expect(pr.msgAppFlowPaused).toBe(true);
  });

  it('a snapshot status is ignored unless the follower is in StateSnapshot', () => {
    const r = leaderAfterSnapshot();
    const pr = r.trk.progress.get(2)!;
    pr.becomeReplicate();
    const before = pr.toString();
    r.step(msg({ type: MessageType.MsgSnapStatus, from: 2, to: 1, reject: true }));
    expect(pr.toString()).toBe(before);
  });

  it('an acknowledgement at or past the snapshot ends the wait: replication resumes', () => {
    const r = leaderAfterSnapshot();
    const pr = r.trk.progress.get(2)!;
    pr.next = 1;
    pr.becomeSnapshot(11);
    r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: r.term, index: 11 }));
    expect(pr.pendingSnapshot).toBe(0);
    expect(pr.state).toBe(ProgressStateType.StateReplicate);
    // The leader's empty entry at 12 went out at once: next 13, one message in flight.
    expect(pr.next).toBe(13);
    expect(pr.inflights.count).toBe(1);
  });
});

describe('snapshots on the follower', () => {
  it('restore: the log becomes the snapshot, with its configuration', () => {
    const r = newTestRaft(1, 10, 1, newTestStorage([1, 2]));
    const s = testingSnap([1, 2, 3]);
    expect(r.restore(s)).toBe(true);
    expect(r.raftLog.lastIndex()).toBe(11);
    expect(r.raftLog.term(11)).toBe(11);
    expect(r.raftLog.committed).toBe(11);
    expect(r.trk.voterNodes()).toEqual([1, 2, 3]);
    expect(r.raftLog.nextUnstableSnapshot()).toBe(s);
    // The same snapshot again: nothing to do.
    expect(r.restore(s)).toBe(false);
  });

  it('restore of a snapshot whose last entry the log already has only moves the commit', () => {
    const r = newTestRaft(1, 10, 1, newTestStorage([1, 2]));
    r.raftLog.append(entsFrom(1, 1, 1, 1));
    r.raftLog.commitTo(1);
    const s: Snapshot = {
      data: new Uint8Array(0),
      metadata: { index: 1, term: 1, confState: newConfState({ voters: [1, 2] }) },
    };
    expect(r.restore(s)).toBe(false);
    expect(r.raftLog.committed).toBe(1);
    s.metadata.index = 2;
    expect(r.restore(s)).toBe(false);
    expect(r.raftLog.committed).toBe(2);
    expect(r.raftLog.lastIndex()).toBe(3); // nothing was cut
  });

  it('restore refuses a snapshot of a configuration without this node', () => {
    const r = newTestRaft(3, 10, 1, newTestStorage([1, 2, 3]));
    expect(r.restore(testingSnap([1, 2]))).toBe(false);
    expect(r.raftLog.lastIndex()).toBe(0);
  });

  it('restore as leader or candidate never happens: it steps down instead', () => {
    const r = newTestRaft(1, 10, 1, newTestStorage([1, 2]));
    makeLeader(r);
    const term = r.term;
    expect(r.restore(testingSnap())).toBe(false);
    expect(r.state).toBe(StateType.Follower);
    expect(r.term).toBe(term + 1);
  });

  it('MsgSnap: restored and acknowledged at the snapshot index; the sender is the leader', () => {
    const r = newTestRaft(2, 10, 1, newTestStorage([1, 2]));
    r.step(msg({ type: MessageType.MsgSnap, from: 1, to: 2, term: 2, snapshot: testingSnap() }));
    expect(r.lead).toBe(1);
    expect(r.term).toBe(2);
    expect(show(readMessages(r))).toEqual(['2->1 MsgAppResp Term:2 Log:0/11']);
    // A stale snapshot is acknowledged at the commit index.
    const old: Snapshot = {
      data: new Uint8Array(0),
      metadata: { index: 5, term: 5, confState: newConfState({ voters: [1, 2] }) },
    };
    r.step(msg({ type: MessageType.MsgSnap, from: 1, to: 2, term: 2, snapshot: old }));
    expect(show(readMessages(r))).toEqual(['2->1 MsgAppResp Term:2 Log:0/11']);
  });

  it('a node restoring a snapshot cannot campaign until it is persisted', () => {
    const r = newTestRaft(2, 10, 1, newTestStorage([1, 2]));
    r.step(msg({ type: MessageType.MsgSnap, from: 1, to: 2, term: 2, snapshot: testingSnap() }));
    readMessages(r);
    expect(r.promotable()).toBe(false);
    r.step(msg({ type: MessageType.MsgHup, from: 2, to: 2 }));
    expect(r.state).toBe(StateType.Follower);
    r.raftLog.stableSnapTo(11);
    expect(r.promotable()).toBe(true);
  });
});

describe('snapshots end to end', () => {
  it('a slow follower catches up from a snapshot over the network', () => {
    const nt = new Network([null, null, null]);
    nt.send(msg({ type: MessageType.MsgHup, from: 1, to: 1 }));
    nt.isolate(3);
    for (let i = 0; i <= 100; i++) nt.send(propMsg(1, `v${i}`));
    const lead = nt.raft(1);
    const ls = nt.storage.get(1)!;
    nextEnts(lead, ls);
    ls.createSnapshot(lead.raftLog.applied, lead.trk.confState(), new Uint8Array(0));
    ls.compact(lead.raftLog.applied);
    nt.recover();
    // Heartbeats until 3 has caught up: it needs the snapshot, then the rest.
    let rounds = 0;
    while (nt.raft(3).raftLog.committed < lead.raftLog.committed) {
      nt.tick(1, [1]);
      // The follower persists what it got, as a driver would.
      nextEnts(nt.raft(3), nt.storage.get(3)!);
      if (++rounds > 50) throw new Error('the follower never caught up');
    }
    expect(nt.raft(3).raftLog.committed).toBe(lead.raftLog.committed);
    expect(nt.storage.get(3)!.snapshot().metadata.index).toBe(ls.snapshot().metadata.index);
  });

  function cluster(): TestNode[] {
    const nodes = [1, 2, 3].map((id) => newTestNode(id, [1, 2, 3]));
    nodes[0]!.node.campaign();
    stabilize(nodes);
    return nodes;
  }

  /** Node 3 misses 50 proposals; the leader snapshots and compacts them away. */
  function laggingFollower(nodes: TestNode[]): void {
    const [lead] = nodes as [TestNode];
    const no3 = (m: Message) => m.to !== 3 && m.from !== 3;
    for (let i = 0; i < 50; i++) lead.node.propose(enc(`v${i}`));
    stabilize(nodes, no3);
    expect(appliedData(lead)).toHaveLength(50);
    snapshotAndCompact(lead);
    expect(lead.storage.firstIndex()).toBe(lead.node.status().applied + 1);
  }

  it('RawNode: MsgSnap, the follower restores, and replication resumes', () => {
    const nodes = cluster();
    const [lead, , f3] = nodes as [TestNode, TestNode, TestNode];
    laggingFollower(nodes);
    // More proposals after the snapshot: they reach 3 by the log, after the snapshot.
    for (let i = 50; i < 60; i++) lead.node.propose(enc(`v${i}`));
    stabilize(nodes, (m) => m.to !== 3 && m.from !== 3);
    const delivered: Message[] = [];
    for (let t = 0; t < 3; t++) {
      lead.node.tick();
      delivered.push(...stabilize(nodes));
    }
    const snaps = delivered.filter((m) => m.type === MessageType.MsgSnap);
    expect(snaps).toHaveLength(1);
    expect(snaps[0]!.to).toBe(3);
    // The follower's answer (MsgAppResp at the snapshot index) ended StateSnapshot already;
    // reportSnapshot then changes nothing.
    lead.node.reportSnapshot(3, SnapshotStatus.Finish);
    stabilize(nodes);
    expect(lead.node.status().progress.get(3)!.state).toBe(ProgressStateType.StateReplicate);
    expect(f3.storage.snapshot().metadata.index).toBe(snaps[0]!.snapshot!.metadata.index);
    const want = Array.from({ length: 60 }, (_, i) => `v${i}`);
    for (const n of nodes) expect(n.state, `node ${n.id}`).toEqual(want);
    // 3 applied only what came after the snapshot.
    expect(appliedData(f3)).toEqual(want.slice(50));
  });

  it('RawNode: reportSnapshot(Finish) resumes replication when the answer was lost', () => {
    const nodes = cluster();
    const [lead, , f3] = nodes as [TestNode, TestNode, TestNode];
    laggingFollower(nodes);
    // Deliver the MsgSnap but lose 3's answer to it (its rejections of MsgApps get through:
    // they are what makes the leader fall back to the snapshot).
    lead.node.tick();
    stabilize(nodes, (m) => !(m.from === 3 && m.type === MessageType.MsgAppResp && !m.reject));
    const pr = lead.node.status().progress.get(3)!;
    expect(pr.state).toBe(ProgressStateType.StateSnapshot);
    lead.node.reportSnapshot(3, SnapshotStatus.Finish);
    expect(lead.node.status().progress.get(3)!.state).toBe(ProgressStateType.StateProbe);
    for (let i = 50; i < 55; i++) lead.node.propose(enc(`v${i}`));
    for (let t = 0; t < 3; t++) {
      lead.node.tick();
      stabilize(nodes);
    }
    expect(lead.node.status().progress.get(3)!.state).toBe(ProgressStateType.StateReplicate);
    expect(f3.state).toEqual(Array.from({ length: 55 }, (_, i) => `v${i}`));
  });

  it('RawNode: reportSnapshot(Failure) sends it again after the next heartbeat', () => {
    const nodes = cluster();
    const [lead, , f3] = nodes as [TestNode, TestNode, TestNode];
    laggingFollower(nodes);
    // The transport fails to deliver the snapshot.
    lead.node.tick();
    stabilize(nodes, (m) => m.type !== MessageType.MsgSnap);
    expect(lead.node.status().progress.get(3)!.state).toBe(ProgressStateType.StateSnapshot);
    lead.node.reportSnapshot(3, SnapshotStatus.Failure);
    const pr = lead.node.status().progress.get(3)!;
    expect(pr.state).toBe(ProgressStateType.StateProbe);
    expect(pr.pendingSnapshot).toBe(0);
    const delivered: Message[] = [];
    for (let t = 0; t < 3; t++) {
      lead.node.tick();
      delivered.push(...stabilize(nodes));
    }
    expect(delivered.filter((m) => m.type === MessageType.MsgSnap)).toHaveLength(1);
    expect(f3.state).toEqual(lead.state);
  });

  it('a restarted follower loads its snapshot and log from storage', () => {
    const nodes = cluster();
    const [lead, , f3] = nodes as [TestNode, TestNode, TestNode];
    laggingFollower(nodes);
    for (let t = 0; t < 3; t++) {
      lead.node.tick();
      stabilize(nodes);
    }
    for (let i = 50; i < 53; i++) lead.node.propose(enc(`v${i}`));
    stabilize(nodes);
    // 3 restarts over the same storage, with everything applied.
    const applied = f3.node.status().applied;
    const again = { node: new RawNode(testConfig(3, 10, 1, f3.storage, { applied })) };
    expect(again.node.basicStatus().hardState).toEqual(f3.node.basicStatus().hardState);
    expect(again.node.status().config.voters).toEqual([1, 2, 3]);
    expect(again.node.raft.raftLog.firstIndex()).toBe(f3.storage.firstIndex());
    expect(again.node.raft.raftLog.lastIndex()).toBe(f3.storage.lastIndex());
    expect(again.node.hasReady()).toBe(false);
  });
});
