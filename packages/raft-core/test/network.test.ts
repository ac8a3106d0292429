// The test Network itself: delivery to quiescence, faults (drop rates, cuts, isolation,
// ignored types), recovery, and determinism under a seed — so the tests built on it mean
// what they say.
import { describe, expect, it } from 'vitest';
import { type Message, MessageType, type NodeId, StateType } from '../src/index.js';
import { BlackHole, Network } from './util/network.js';
import { msg, propMsg } from './util/raft.js';
import { seededRandom } from './util/rng.js';

const hup = (id: NodeId): Message => msg({ type: MessageType.MsgHup, from: id, to: id });

describe('Network', () => {
  it('delivers everything a message causes, until quiet', () => {
    const nt = new Network([null, null, null]);
    nt.recording = true;
    nt.send(hup(1));
    expect(nt.leaders()).toEqual([1]);
    // Votes out and back, then the leader's appends and their acks, then commit updates.
    const kinds = new Set(nt.trace.map((l) => l.split(' ')[1]));
    expect([...kinds].sort()).toEqual(['MsgApp', 'MsgAppResp', 'MsgHup', 'MsgVote', 'MsgVoteResp']);
    for (const id of [1, 2, 3]) expect(nt.raft(id).raftLog.committed).toBe(1);
  });

  it('a black hole swallows what it is sent', () => {
    const bh = new BlackHole();
    const nt = new Network([null, bh, null]);
    nt.send(hup(1));
    expect(bh.received.map((m) => MessageType[m.type])).toContain('MsgVote');
    expect(() => nt.raft(2)).toThrow();
  });

  it('cut drops both directions of one link; isolate cuts all of a node', () => {
    const nt = new Network([null, null, null]);
    nt.cut(1, 2);
    expect(nt.filter([msg({ type: MessageType.MsgApp, from: 1, to: 2 })])).toEqual([]);
    expect(nt.filter([msg({ type: MessageType.MsgApp, from: 2, to: 1 })])).toEqual([]);
    expect(nt.filter([msg({ type: MessageType.MsgApp, from: 1, to: 3 })])).toHaveLength(1);
    nt.recover();
    nt.isolate(3);
    for (const [from, to] of [
      [3, 1],
      [1, 3],
      [3, 2],
      [2, 3],
    ]) {
      expect(nt.filter([msg({ type: MessageType.MsgApp, from, to })])).toEqual([]);
    }
    expect(nt.filter([msg({ type: MessageType.MsgApp, from: 1, to: 2 })])).toHaveLength(1);
    nt.recover();
    expect(nt.filter([msg({ type: MessageType.MsgApp, from: 3, to: 1 })])).toHaveLength(1);
  });

  it('ignore drops a message type everywhere until recover', () => {
    const nt = new Network([null, null, null]);
    nt.ignore(MessageType.MsgVote);
    nt.send(hup(1));
    expect(nt.leaders()).toEqual([]);
    nt.recover();
    nt.send(hup(1));
    expect(nt.leaders()).toEqual([1]);
  });

  it('a drop rate drops about that fraction of a link, decided by the seed', () => {
    const nt = new Network([null, null], { seed: 7 });
    nt.drop(1, 2, 0.3);
    const m = msg({ type: MessageType.MsgApp, from: 1, to: 2 });
    let passed = 0;
    for (let i = 0; i < 10_000; i++) passed += nt.filter([m]).length;
    expect(passed / 10_000).toBeGreaterThan(0.67);
    expect(passed / 10_000).toBeLessThan(0.73);
    // The other direction is untouched.
    expect(nt.filter([msg({ type: MessageType.MsgApp, from: 2, to: 1 })])).toHaveLength(1);
  });

  it('MsgHup never travels over the network', () => {
    const nt = new Network([null, null]);
    expect(() => nt.filter([msg({ type: MessageType.MsgHup, from: 1, to: 2 })])).toThrow();
  });

  it('msgHook sees every message that passed the faults and may drop it', () => {
    const nt = new Network([null, null, null]);
    const seen: string[] = [];
    nt.msgHook = (m) => {
      seen.push(MessageType[m.type]);
      return m.type !== MessageType.MsgVoteResp;
    };
    nt.send(hup(1));
    expect(seen).toContain('MsgVote');
    expect(nt.leaders()).toEqual([]);
  });

  it('is deterministic: the same seed gives the same run, tick by tick', () => {
    const run = (seed: number) => {
      const nt = new Network([null, null, null, null, null], {
        seed,
        config: { random: seededRandom(seed) },
      });
      nt.recording = true;
      for (const a of [1, 2, 3, 4, 5]) {
        for (const b of [1, 2, 3, 4, 5]) if (a !== b) nt.drop(a, b, 0.2);
      }
      for (let i = 0; i < 200; i++) {
        nt.tick(1);
        if (i % 10 === 0) nt.send(propMsg(1 + (i % 5), `v${i}`));
      }
      return {
        trace: nt.trace.join('\n'),
        terms: [1, 2, 3, 4, 5].map((id) => nt.raft(id).term),
        leaders: nt.leaders(),
      };
    };
    const a = run(42);
    const b = run(42);
    expect(b.trace).toBe(a.trace);
    expect(b.terms).toEqual(a.terms);
    expect(a.trace.length).toBeGreaterThan(0);
    const c = run(43);
    expect(c.trace).not.toBe(a.trace);
  });

  it('tick drives elections and heartbeats with no message passed in', () => {
    const nt = new Network([null, null, null]);
    nt.tick(30);
    expect(nt.leaders()).toHaveLength(1);
    const lead = nt.leaders()[0]!;
    for (const id of [1, 2, 3]) {
      expect(nt.raft(id).lead).toBe(lead);
      if (id !== lead) expect(nt.raft(id).state).toBe(StateType.Follower);
    }
  });

  it('refuses to run forever', () => {
    const nt = new Network([null, null], { maxDeliveries: 3 });
    expect(() => nt.send(hup(1))).toThrow(/quiesce/);
  });
});
