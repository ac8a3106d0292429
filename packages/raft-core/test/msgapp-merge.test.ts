// MsgApp merging: a burst of proposals on a leader leaves as ONE MsgApp per follower per
// Ready (where etcd/raft sends one per proposal), never larger than a MsgApp built from the
// log at once (maxSizePerMsg), with Inflights counting each message that actually leaves.
import { describe, expect, it } from 'vitest';
import { type Message, MessageType, ProgressStateType, StateType, entsSize } from '../src/index.js';
import {
  type TestNode,
  appliedData,
  enc,
  newTestNode,
  persistAndApply,
  stabilize,
} from './util/rawnode.js';

function cluster(extra: Parameters<typeof newTestNode>[2] = {}): TestNode[] {
  const nodes = [1, 2, 3].map((id) => newTestNode(id, [1, 2, 3], extra));
  nodes[0]!.node.campaign();
  stabilize(nodes);
  expect(nodes[0]!.node.basicStatus().softState.raftState).toBe(StateType.Leader);
  for (const id of [2, 3]) {
    expect(nodes[0]!.node.status().progress.get(id)!.state).toBe(ProgressStateType.StateReplicate);
  }
  return nodes;
}

const appsTo = (msgs: Message[], to: number) =>
  msgs.filter((m) => m.type === MessageType.MsgApp && m.to === to);

function deliver(nodes: TestNode[], msgs: Message[]): void {
  for (const m of msgs) nodes.find((n) => n.id === m.to)!.node.step(m);
}

describe('MsgApp merging', () => {
  it('a burst of proposals leaves as one MsgApp per follower, counted as one inflight', () => {
    const nodes = cluster();
    const lead = nodes[0]!;
    const last = lead.node.status().hardState.commit;
    for (let i = 0; i < 10; i++) lead.node.propose(enc(`prop-${i}`)); // 6 bytes each
    const rd = lead.node.ready();
    expect(rd.entries).toHaveLength(10);
    for (const to of [2, 3]) {
      const apps = appsTo(rd.messages, to);
      expect(apps).toHaveLength(1);
      expect(apps[0]!.index).toBe(last);
      expect(apps[0]!.entries.map((e) => e.index)).toEqual(
        Array.from({ length: 10 }, (_, i) => last + 1 + i),
      );
      const inflights = lead.node.status().progress.get(to)!.inflights;
      expect(inflights.count).toBe(1);
      expect(inflights.bytes).toBe(60);
    }
    deliver(nodes, persistAndApply(lead, rd));
    stabilize(nodes);
    for (const n of nodes) expect(appliedData(n)).toHaveLength(10);
    for (const to of [2, 3]) expect(lead.node.status().progress.get(to)!.inflights.count).toBe(0);
  });

  it('a merged MsgApp is never larger than maxSizePerMsg allows a MsgApp to be', () => {
    // Each entry counts 10 payload bytes + 24 overhead = 34: five fit in 170 bytes.
    const maxSizePerMsg = 170;
    const nodes = cluster({ maxSizePerMsg });
    const lead = nodes[0]!;
    for (let i = 0; i < 23; i++) lead.node.propose(enc(`entry-${String(i).padStart(3, '0')}`));
    const rd = lead.node.ready();
    for (const to of [2, 3]) {
      const apps = appsTo(rd.messages, to);
      for (const m of apps) {
        expect(entsSize(m.entries) <= maxSizePerMsg || m.entries.length === 1).toBe(true);
      }
      expect(apps.map((m) => m.entries.length)).toEqual([5, 5, 5, 5, 3]);
      // Contiguous: each message follows on from the previous one.
      for (let i = 1; i < apps.length; i++) {
        expect(apps[i]!.index).toBe(apps[i - 1]!.index + apps[i - 1]!.entries.length);
      }
      expect(lead.node.status().progress.get(to)!.inflights.count).toBe(apps.length);
    }
    deliver(nodes, persistAndApply(lead, rd));
    stabilize(nodes);
    for (const n of nodes) expect(appliedData(n)).toHaveLength(23);
  });

  it('maxSizePerMsg 0 means one entry per MsgApp, empty entries included', () => {
    const nodes = cluster({ maxSizePerMsg: 0 });
    const lead = nodes[0]!;
    for (let i = 0; i < 4; i++) lead.node.propose(new Uint8Array(0));
    const rd = lead.node.ready();
    for (const to of [2, 3]) {
      expect(appsTo(rd.messages, to).map((m) => m.entries.length)).toEqual([1, 1, 1, 1]);
    }
  });

  it('nothing is merged into a MsgApp already handed out in a Ready', () => {
    const nodes = cluster();
    const lead = nodes[0]!;
    lead.node.propose(enc('a'));
    const rd1 = lead.node.ready();
    const sent = appsTo(rd1.messages, 2)[0]!;
    const sentEntries = sent.entries.length;
    persistAndApply(lead, rd1);
    lead.node.propose(enc('b'));
    lead.node.propose(enc('c'));
    expect(sent.entries).toHaveLength(sentEntries);
    const rd2 = lead.node.ready();
    const next = appsTo(rd2.messages, 2);
    expect(next).toHaveLength(1);
    expect(next[0]!.entries.map((e) => new TextDecoder().decode(e.data))).toEqual(['b', 'c']);
    expect(lead.node.status().progress.get(2)!.inflights.count).toBe(2);
  });

  it('another message to the follower in between ends the merge (it must not be overtaken)', () => {
    const nodes = cluster();
    const lead = nodes[0]!;
    lead.node.propose(enc('a'));
    lead.node.tick(); // heartbeatTick 1: a MsgHeartbeat to each follower
    lead.node.propose(enc('b'));
    const rd = lead.node.ready();
    const to2 = rd.messages.filter((m) => m.to === 2).map((m) => MessageType[m.type]);
    expect(to2).toEqual(['MsgApp', 'MsgHeartbeat', 'MsgApp']);
  });

  // A commit-only (empty) MsgApp waiting in the outbox, then a proposal before the next
  // Ready: the entries are merged into it, and it becomes a new inflight message. This used
  // to throw "no inflight message to extend" (no inflight had been recorded for the empty
  // message), or to fold the new message into the previous, already-sent inflight.
  it('entries merged into a pending commit-only MsgApp count as a new inflight', () => {
    const nodes = cluster();
    const [lead, f2] = nodes as [TestNode, TestNode, TestNode];
    lead.node.propose(enc('a'));
    const out = persistAndApply(lead, lead.node.ready());
    // Only follower 2 answers: the leader commits 'a' and queues commit-only MsgApps.
    deliver(
      nodes,
      out.filter((m) => m.to === 2),
    );
    const resp = persistAndApply(f2, f2.node.ready());
    deliver(nodes, resp);
    expect(lead.node.status().progress.get(2)!.inflights.count).toBe(0);
    expect(lead.node.status().progress.get(3)!.inflights.count).toBe(1);
    lead.node.propose(enc('b'));
    const rd = lead.node.ready();
    for (const to of [2, 3]) {
      const apps = appsTo(rd.messages, to);
      expect(apps).toHaveLength(1);
      expect(apps[0]!.commit).toBe(lead.node.status().hardState.commit);
      expect(apps[0]!.entries.map((e) => new TextDecoder().decode(e.data))).toEqual(['b']);
    }
    // 2 had nothing in flight: now this message. 3 still has 'a' in flight, and now 'b'.
    expect(lead.node.status().progress.get(2)!.inflights.count).toBe(1);
    expect(lead.node.status().progress.get(3)!.inflights.count).toBe(2);
    deliver(nodes, persistAndApply(lead, rd));
    stabilize(nodes);
    for (const n of nodes) expect(appliedData(n)).toEqual(['a', 'b']);
    for (const to of [2, 3]) expect(lead.node.status().progress.get(to)!.inflights.count).toBe(0);
  });

  it('a full Inflights stops sending; acknowledgements let the rest through', () => {
    const nodes = cluster({ maxInflightMsgs: 2 });
    const lead = nodes[0]!;
    const readies: Message[][] = [];
    for (let r = 0; r < 3; r++) {
      for (let i = 0; i < 5; i++) lead.node.propose(enc(`r${r}-${i}`));
      readies.push(persistAndApply(lead, lead.node.ready()));
    }
    expect(readies.map((msgs) => appsTo(msgs, 2).length)).toEqual([1, 1, 0]);
    expect(lead.node.status().progress.get(2)!.inflights.count).toBe(2);
    deliver(nodes, readies.flat());
    stabilize(nodes);
    for (const n of nodes) expect(appliedData(n)).toHaveLength(15);
  });

  it('many Readys of bursts under message loss still apply identically everywhere', () => {
    const nodes = cluster({ maxSizePerMsg: 256, maxInflightMsgs: 4 });
    const lead = nodes[0]!;
    let k = 0;
    let drop = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 1 + (round % 7); i++) lead.node.propose(enc(`v${k++}`));
      // Lose every fifth message, then heal with heartbeats.
      stabilize(nodes, () => ++drop % 5 !== 0);
      for (let t = 0; t < 3; t++) {
        for (const n of nodes) n.node.tick();
        stabilize(nodes, () => ++drop % 5 !== 0);
      }
    }
    for (let t = 0; t < 5; t++) {
      lead.node.tick();
      stabilize(nodes);
    }
    const want = Array.from({ length: k }, (_, i) => `v${i}`);
    for (const n of nodes) expect(appliedData(n)).toEqual(want);
  });
});
