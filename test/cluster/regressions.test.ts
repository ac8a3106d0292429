// Regression tests for raft-core bugs found by the randomized runs (random.test.ts), each
// replaying the minimized scenario of the failing seed step by step on bare RawNodes.
import {
  ConfChangeTransition,
  ConfChangeType,
  EMPTY_BYTES,
  EntryType,
  LocalAppendThread,
  LocalApplyThread,
  MemoryStorage,
  type Message,
  MessageType,
  RawNode,
  type Ready,
  StateType,
  encodeConfChange,
  newConfState,
  newMessage,
} from '@tsraft/raft-core';
import { describe, expect, it } from 'vitest';
import { Cluster, decodeConfChangeEntry } from '../harness/index.js';

interface Peer {
  id: number;
  node: RawNode;
  storage: MemoryStorage;
}

function peer(id: number, voters: number[]): Peer {
  const storage = new MemoryStorage();
  storage.applySnapshot({
    data: EMPTY_BYTES,
    metadata: { index: 1, term: 1, confState: newConfState({ voters }) },
  });
  const node = new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage });
  return { id, node, storage };
}

/** Handles one Ready (persist, apply conf changes, advance) and returns its messages. */
function ready(p: Peer): Message[] {
  if (!p.node.hasReady()) return [];
  const rd: Ready = p.node.ready();
  if (rd.snapshot) p.storage.applySnapshot(rd.snapshot);
  p.storage.append(rd.entries);
  if (rd.hardState) p.storage.setHardState(rd.hardState);
  for (const e of rd.committedEntries) {
    const cc = decodeConfChangeEntry(e);
    if (cc !== null) p.node.applyConfChange(cc);
  }
  p.node.advance();
  return rd.messages;
}

/**
 * Delivers messages (and the answers they cause) between the peers until none are left;
 * messages to or from a peer not in `peers` are dropped.
 */
function exchange(peers: Peer[], msgs: Message[]): void {
  const q = [...msgs];
  for (let i = 0; i < 1000 && q.length > 0; i++) {
    const m = q.shift()!;
    const to = peers.find((p) => p.id === m.to);
    if (to === undefined || !peers.some((p) => p.id === m.from)) continue;
    to.node.step(m);
    for (const p of peers) q.push(...ready(p));
  }
}

const prop = (s: string) => new TextEncoder().encode(s);

describe('raft-core regressions found by the randomized runs', () => {
  it('merging into a pending MsgApp whose entries were already acknowledged (seed 24)', () => {
    // A leader resent entries the follower already had (probe -> replicate), and an older
    // acknowledgement of them arrived before that MsgApp was handed out: it freed the MsgApp's
    // inflight slot. A proposal then merged into the pending MsgApp and extended an inflight
    // that no longer existed ("no inflight message to extend").
    const a = peer(1, [1, 2]);
    const b = peer(2, [1, 2]);
    const peers = [a, b];
    a.node.campaign();
    exchange(peers, ready(a));
    expect(a.node.basicStatus().softState.raftState).toBe(StateType.Leader);
    // Everything replicated; follower 2 is in StateReplicate.
    const k = a.storage.lastIndex() + 1;
    a.node.propose(prop('k'));
    const appK = ready(a).filter((m) => m.type === MessageType.MsgApp);
    b.node.step(appK[0]!);
    const ackK = ready(b); // acknowledges k, held back
    a.node.propose(prop('k+1'));
    a.node.propose(prop('k+2'));
    const app2 = ready(a).filter((m) => m.type === MessageType.MsgApp);
    b.node.step(app2[0]!);
    const ackK2 = ready(b); // acknowledges k+2, held back
    expect(ackK2[0]!.index).toBe(k + 2);
    // The leader loses track of the follower: probe from match + 1 = k.
    a.node.reportUnreachable(2);
    // The ack of k moves it back to replicate: k+1..k+2 are queued again (not handed out).
    a.node.step(ackK[0]!);
    // The older ack of k+2 frees that queued MsgApp's inflight slot...
    a.node.step(ackK2[0]!);
    // ...and a proposal must not extend it.
    a.node.propose(prop('k+3'));
    const out = ready(a).filter((m) => m.type === MessageType.MsgApp && m.to === 2);
    const sent = out.flatMap((m) => m.entries.map((e) => e.index));
    expect(sent).toContain(k + 3);
    // Replication still completes, with consistent flow control.
    exchange(peers, out);
    for (let i = 0; i < 3; i++) {
      a.node.tick();
      exchange(peers, ready(a));
    }
    expect(b.storage.lastIndex()).toBe(k + 3);
    const pr = a.node.status().progress.get(2)!;
    expect(pr.match).toBe(k + 3);
    expect(pr.inflights.count).toBe(0);
  });

  it('a restarted single-voter leader serves no read before it commits in its term (seed 17)', () => {
    // The sole voter committed and applied entry k, but the commit index is written without
    // a sync when nothing else changes (mustSync false), and a crash lost it. Restarted, it
    // knows only k-1 committed; elected again it answered a ReadIndex at once with k-1 (the
    // singleton shortcut skipped the rule of thesis §6.4), so a read could miss a write that
    // had been acknowledged. Reads must wait for the leader's first commit in its term.
    const p = peer(1, [1]);
    p.node.campaign();
    ready(p);
    ready(p);
    expect(p.node.basicStatus().softState.raftState).toBe(StateType.Leader);
    p.node.propose(prop('acknowledged'));
    // Handle the Readys by hand to see the commit index of each.
    let k = 0;
    for (let i = 0; i < 5 && p.node.hasReady(); i++) {
      const rd = p.node.ready();
      p.storage.append(rd.entries);
      if (rd.hardState) p.storage.setHardState(rd.hardState);
      for (const e of rd.committedEntries) if (e.data.length > 0) k = e.index;
      p.node.advance();
    }
    expect(k).toBeGreaterThan(0);
    // The crash loses the unsynced commit index: the durable hard state says k - 1.
    const hs = p.storage.initialState().hardState;
    p.storage.setHardState({ ...hs, commit: k - 1 });
    const restarted: Peer = {
      id: 1,
      storage: p.storage,
      node: new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage: p.storage }),
    };
    restarted.node.campaign();
    ready(restarted); // the self-vote is durable: leader, and the empty entry appended
    expect(restarted.node.basicStatus().softState.raftState).toBe(StateType.Leader);
    restarted.node.readIndex(prop('read'));
    const reads: number[] = [];
    for (let i = 0; i < 5 && restarted.node.hasReady(); i++) {
      const rd = restarted.node.ready();
      restarted.storage.append(rd.entries);
      if (rd.hardState) restarted.storage.setHardState(rd.hardState);
      for (const rs of rd.readStates) reads.push(rs.index);
      restarted.node.advance();
    }
    expect(reads).toHaveLength(1);
    expect(reads[0]).toBeGreaterThanOrEqual(k);
  });

  it('a joint configuration is left once a transfer that refused the auto-leave aborts (seed 777)', () => {
    // The leader applied a joint configuration (auto-leave) while a leadership transfer was in
    // progress: proposals are refused during a transfer, so the automatic leave was dropped
    // and, as in etcd, only retried on the next applied entry. The transfer then timed out;
    // with nothing more proposed, the group stayed joint forever.
    const [a, b, c] = [peer(1, [1, 2, 3]), peer(2, [1, 2, 3]), peer(3, [1, 2, 3])];
    a.node.campaign();
    exchange([a, b, c], ready(a));
    expect(a.node.basicStatus().softState.raftState).toBe(StateType.Leader);
    // Node 3 becomes unreachable; 1 and 2 still make a quorum, in both halves of the joint
    // configuration that demotes 3.
    const live = [a, b];
    a.node.proposeConfChange({
      transition: ConfChangeTransition.ConfChangeTransitionJointImplicit,
      changes: [{ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 3 }],
      context: EMPTY_BYTES,
    });
    a.node.transferLeader(3); // never completes: 3 is unreachable
    exchange(live, ready(a));
    const cfg = () => a.node.status().config;
    expect(cfg().votersOutgoing).toEqual([1, 2, 3]);
    expect(a.node.basicStatus().leadTransferee).toBe(3);
    // The transfer is abandoned after an election timeout; the joint state must then be left.
    for (let i = 0; i < 30; i++) {
      a.node.tick();
      exchange(live, ready(a));
    }
    expect(a.node.basicStatus().leadTransferee).toBe(0);
    expect(a.node.basicStatus().softState.raftState).toBe(StateType.Leader);
    expect(cfg().votersOutgoing).toEqual([]);
    expect(cfg().voters).toEqual([1, 2]);
    expect(cfg().learners).toEqual([3]);
  });

  it('no snapshot is restored while committed entries are being applied (async writes, seed 99)', () => {
    // With asyncStorageWrites, a follower handed a conf change to its apply thread, then
    // restored a newer snapshot (a newer configuration) before that apply finished; the
    // application then applied the old conf change on top of the snapshot's configuration
    // ("can't apply simple config change in joint config", or silently a wrong one). Here:
    // entry 2 makes 4 a learner, and the snapshot at 5 already has 4 as a voter.
    const storage = new MemoryStorage();
    storage.applySnapshot({
      data: EMPTY_BYTES,
      metadata: { index: 1, term: 1, confState: newConfState({ voters: [1, 2, 3] }) },
    });
    const n = new RawNode({
      id: 3,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      asyncStorageWrites: true,
    });
    const addLearner4 = encodeConfChange({
      type: ConfChangeType.ConfChangeAddLearnerNode,
      nodeId: 4,
      context: EMPTY_BYTES,
      id: 0,
    });
    // Leader 1 appends and commits entry 2.
    n.step(
      newMessage({
        type: MessageType.MsgApp,
        from: 1,
        to: 3,
        term: 1,
        index: 1,
        logTerm: 1,
        commit: 2,
        entries: [{ term: 1, index: 2, type: EntryType.EntryConfChange, data: addLearner4 }],
      }),
    );
    const local = (to: number) => n.ready().messages.filter((m) => m.to === to);
    const [append] = local(LocalAppendThread);
    storage.append(append!.entries);
    storage.setHardState({ term: append!.term, vote: append!.vote, commit: append!.commit });
    for (const r of append!.responses) if (r.to === 3) n.step(r);
    const [apply] = local(LocalApplyThread); // entry 2 goes to the apply thread...
    expect(apply!.entries.map((e) => e.index)).toEqual([2]);
    // ...and before it is applied, the leader's snapshot at 5 arrives.
    const snap = newMessage({
      type: MessageType.MsgSnap,
      from: 1,
      to: 3,
      term: 1,
      snapshot: {
        data: EMPTY_BYTES,
        metadata: { index: 5, term: 1, confState: newConfState({ voters: [1, 2, 3, 4] }) },
      },
    });
    n.step(snap);
    // The apply thread finishes: the application applies entry 2's conf change.
    n.applyConfChange(decodeConfChangeEntry(apply!.entries[0]!)!);
    for (const r of apply!.responses) n.step(r);
    // The snapshot may be restored now (the leader sends it again).
    n.step(snap);
    const cfg = n.status().config;
    expect(cfg.voters).toEqual([1, 2, 3, 4]);
    expect(cfg.learners).toEqual([]);
  });

  it("a learner whose term rose past the leader's is not orphaned (no PreVote or CheckQuorum, seed 20066)", () => {
    // A stale voter's MsgVote raised the learners' term past the leader's. Without PreVote
    // or CheckQuorum, etcd ignores the lower-term leader's messages, counting on the node to
    // campaign and so spread its term; a learner never campaigns, so it stayed orphaned.
    const c = new Cluster({
      seed: 1,
      init: 'snapshot',
      voters: [1, 2, 3],
      learners: [4],
      raft: { preVote: false, checkQuorum: false },
    });
    c.campaign(1);
    c.runUntil(() => c.node(1).isLeader, 20, 'node 1 leads');
    c.tick(3);
    const term = c.node(1).term;
    // A vote request of a much later term reaches the learner, from a voter of an older
    // configuration that is gone since (its answer goes nowhere).
    const raft4 = c.node(4).raw!.raft;
    c.node(4).raw!.step(
      newMessage({
        type: MessageType.MsgVote,
        from: 5,
        to: 4,
        term: term + 5,
        index: raft4.raftLog.lastIndex(),
        logTerm: raft4.raftLog.lastTerm(),
      }),
    );
    c.stabilize();
    expect(c.node(4).term).toBe(term + 5);
    for (let i = 0; i < 3; i++) c.propose(c.leader()?.id ?? 1, prop(`p${i}`));
    c.runUntil(
      () => {
        const l = c.leader();
        return (
          l !== undefined &&
          c.node(4).raw!.raft.lead === l.id &&
          c.node(4).sm.appliedIndex === l.sm.appliedIndex
        );
      },
      200,
      'the learner follows a leader again',
    );
    expect(c.leader()!.term).toBeGreaterThan(term + 5);
    c.checkConverged([1, 2, 3, 4]);
  });

  it('a candidate leads only once its own term and vote are durable (async writes, seed 60033)', () => {
    // With asyncStorageWrites, node 2's vote requests for term 1 left before its hard state
    // (term 1, vote 2) was written. Nodes 1 and 3 granted, a quorum without node 2's own
    // vote, so it led term 1 and sent entry 1/3 to node 3, then crashed before the write.
    // Restarted at term 0, it campaigned for term 1 again, got the same votes again (a
    // repeated vote), and led term 1 a second time with a different entry 1/3: two logs with
    // the same (index, term) and different entries.
    const mk = (id: number, asyncStorageWrites: boolean) => {
      const storage = new MemoryStorage();
      storage.applySnapshot({
        data: EMPTY_BYTES,
        metadata: { index: 1, term: 1, confState: newConfState({ voters: [1, 2, 3] }) },
      });
      const node = new RawNode({
        id,
        electionTick: 10,
        heartbeatTick: 1,
        storage,
        asyncStorageWrites,
      });
      return { id, node, storage };
    };
    const n2 = mk(2, true);
    const others = [mk(1, false), mk(3, false)];
    n2.node.campaign();
    let rd = n2.node.ready();
    const append = rd.messages.find((m) => m.to === LocalAppendThread)!; // not written yet
    expect(append.term).toBeGreaterThan(0);
    const votes = rd.messages.filter((m) => m.type === MessageType.MsgVote);
    expect(votes).toHaveLength(2);
    for (const v of votes) {
      const p = others.find((o) => o.id === v.to)!;
      p.node.step(v);
      for (const m of ready(p)) n2.node.step(m); // durable grants from nodes 1 and 3
    }
    // A quorum granted, but node 2's own vote is not durable: it must not lead yet.
    expect(n2.node.basicStatus().softState.raftState).not.toBe(StateType.Leader);
    if (n2.node.hasReady()) {
      rd = n2.node.ready();
      expect(rd.messages.some((m) => m.type === MessageType.MsgApp)).toBe(false);
    }
    // Once the write is done, it leads.
    n2.storage.setHardState({ term: append.term, vote: append.vote, commit: append.commit });
    for (const r of append.responses) if (r.to === 2) n2.node.step(r);
    expect(n2.node.basicStatus().softState.raftState).toBe(StateType.Leader);
  });
});
