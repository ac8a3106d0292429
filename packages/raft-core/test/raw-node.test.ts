// RawNode: Config validation, bootstrap and restart, the synchronous Ready/advance contract
// (what each Ready carries and when), step's guards, reportUnreachable, and the shapes of
// status() and basicStatus().
import { describe, expect, it } from 'vitest';
import {
  type Config,
  ConfChangeType,
  EntryType,
  ErrInvalidConfig,
  ErrProposalDropped,
  ErrStepLocalMsg,
  ErrStepPeerNotFound,
  ErrUsage,
  LocalAppendThread,
  MemoryStorage,
  MessageType,
  ProgressStateType,
  RawNode,
  type Ready,
  ReadOnlyOption,
  StateType,
  decodeConfChange,
  newConfState,
  validateConfig,
} from '../src/index.js';
import { entsFrom, msg, newTestStorage, testConfig } from './util/raft.js';
import { type TestNode, enc, newTestNode, persistAndApply, stabilize } from './util/rawnode.js';

function base(extra: Partial<Config> = {}): Config {
  return { id: 1, electionTick: 10, heartbeatTick: 1, storage: new MemoryStorage(), ...extra };
}

/** A node over an empty storage (no configuration yet: to be bootstrapped). */
function freshNode(): TestNode {
  const s = new MemoryStorage();
  return { id: 1, node: new RawNode(testConfig(1, 10, 1, s)), storage: s, applied: [], state: [] };
}

/** Persists and applies a Ready of a single node, and advances. */
function handle(n: TestNode): Ready {
  const rd = n.node.ready();
  persistAndApply(n, rd);
  return rd;
}

describe('Config validation', () => {
  it('fills in the defaults', () => {
    const c = validateConfig(base());
    expect(c.maxSizePerMsg).toBe(1 << 20);
    expect(c.maxInflightMsgs).toBe(256);
    expect(c.maxInflightBytes).toBe(Number.POSITIVE_INFINITY);
    expect(c.maxCommittedSizePerReady).toBe(1 << 20);
    expect(c.maxUncommittedEntriesSize).toBe(Number.POSITIVE_INFINITY);
    expect(c.readOnlyOption).toBe(ReadOnlyOption.Safe);
    expect(c.checkQuorum).toBe(false);
    expect(c.preVote).toBe(false);
    expect(c.stepDownOnRemoval).toBe(true);
    expect(c.asyncStorageWrites).toBe(false);
    expect(c.applied).toBe(0);
    expect(typeof c.random).toBe('function');
    // maxCommittedSizePerReady follows maxSizePerMsg unless set.
    expect(validateConfig(base({ maxSizePerMsg: 4096 })).maxCommittedSizePerReady).toBe(4096);
    expect(
      validateConfig(base({ maxSizePerMsg: 4096, maxCommittedSizePerReady: 100 }))
        .maxCommittedSizePerReady,
    ).toBe(100);
  });

  const bad: Array<[string, Partial<Config>, RegExp]> = [
    ['id 0', { id: 0 }, /id/],
    ['a negative id', { id: -1 }, /id/],
    ['a fractional id', { id: 1.5 }, /id/],
    ['an unsafe id', { id: 2 ** 53 }, /id/],
    ['a local pseudo-target id', { id: LocalAppendThread }, /id/],
    ['heartbeatTick 0', { heartbeatTick: 0 }, /heartbeatTick/],
    ['electionTick = heartbeatTick', { electionTick: 1, heartbeatTick: 1 }, /electionTick/],
    ['electionTick < heartbeatTick', { electionTick: 2, heartbeatTick: 5 }, /electionTick/],
    ['a fractional electionTick', { electionTick: 10.5 }, /electionTick/],
    ['a negative maxSizePerMsg', { maxSizePerMsg: -1 }, /maxSizePerMsg/],
    ['maxInflightMsgs 0', { maxInflightMsgs: 0 }, /maxInflightMsgs/],
    [
      'maxInflightBytes below maxSizePerMsg',
      { maxSizePerMsg: 1000, maxInflightBytes: 999 },
      /maxInflightBytes/,
    ],
    [
      'lease-based reads without checkQuorum',
      { readOnlyOption: ReadOnlyOption.LeaseBased },
      /checkQuorum/,
    ],
    ['a negative applied', { applied: -1 }, /applied/],
    // Sizes are byte counts: NaN or a negative number (say, -1 meant as "no limit") would
    // silently stall or unbound the node, so they are refused.
    ['a NaN maxSizePerMsg', { maxSizePerMsg: Number.NaN }, /maxSizePerMsg/],
    [
      'a negative maxCommittedSizePerReady',
      { maxCommittedSizePerReady: -1 },
      /maxCommittedSizePerReady/,
    ],
    [
      'a negative maxUncommittedEntriesSize',
      { maxUncommittedEntriesSize: -1 },
      /maxUncommittedEntriesSize/,
    ],
    ['a NaN maxInflightBytes', { maxInflightBytes: Number.NaN }, /maxInflightBytes/],
  ];
  for (const [name, fields, re] of bad) {
    it(`refuses ${name} with ErrInvalidConfig naming the field`, () => {
      let err: unknown;
      try {
        new RawNode(base(fields));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ErrInvalidConfig);
      expect((err as ErrInvalidConfig).code).toBe('RAFT_INVALID_CONFIG');
      expect((err as Error).message).toMatch(re);
    });
  }

  it('refuses a missing storage', () => {
    expect(() => validateConfig({ ...base(), storage: undefined as never })).toThrow(
      ErrInvalidConfig,
    );
  });

  it('lease-based reads with checkQuorum are fine', () => {
    expect(() =>
      validateConfig(base({ readOnlyOption: ReadOnlyOption.LeaseBased, checkQuorum: true })),
    ).not.toThrow();
  });
});

describe('bootstrap', () => {
  it('writes one committed ConfChangeAddNode per peer, at term 1, in the first Ready', () => {
    const node = freshNode();
    const s = node.storage;
    node.node.bootstrap([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(node.node.hasReady()).toBe(true);
    const rd = node.node.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: 0, commit: 3 });
    expect(rd.mustSync).toBe(true);
    expect(rd.entries.map((e) => [e.term, e.index, e.type])).toEqual([
      [1, 1, EntryType.EntryConfChange],
      [1, 2, EntryType.EntryConfChange],
      [1, 3, EntryType.EntryConfChange],
    ]);
    expect(rd.entries.map((e) => decodeConfChange(e.data))).toMatchObject([
      { type: ConfChangeType.ConfChangeAddNode, nodeId: 1 },
      { type: ConfChangeType.ConfChangeAddNode, nodeId: 2 },
      { type: ConfChangeType.ConfChangeAddNode, nodeId: 3 },
    ]);
    expect(rd.committedEntries).toEqual(rd.entries);
    persistAndApply(node, rd);
    expect(node.node.status().config.voters).toEqual([1, 2, 3]);
    expect(node.node.hasReady()).toBe(false);
    expect(s.initialState().hardState).toEqual({ term: 1, vote: 0, commit: 3 });
  });

  it('a bootstrapped node campaigns once its first Ready is applied (as in etcd)', () => {
    const n = freshNode();
    n.node.bootstrap([{ id: 1 }]);
    // The bootstrap conf changes are committed but not yet applied: no campaign before that.
    n.node.campaign();
    expect(n.node.basicStatus().softState.raftState).toBe(StateType.Follower);
    stabilize([n]);
    n.node.campaign();
    stabilize([n]);
    expect(n.node.basicStatus().softState.raftState).toBe(StateType.Leader);
    n.node.propose(enc('x'));
    stabilize([n]);
    expect(n.state).toEqual(['x']);
  });

  it('refuses a non-empty storage, and an empty peer list', () => {
    const s = new MemoryStorage();
    s.append(entsFrom(1, 1));
    expect(() => new RawNode(testConfig(1, 10, 1, s)).bootstrap([{ id: 1 }])).toThrow(ErrUsage);
    expect(() => new RawNode(testConfig(1, 10, 1, new MemoryStorage())).bootstrap([])).toThrow(
      ErrUsage,
    );
  });
});

describe('restart', () => {
  function restartStorage(): MemoryStorage {
    const s = newTestStorage([1]);
    s.append(entsFrom(1, 1, 1));
    s.setHardState({ term: 1, vote: 0, commit: 1 });
    return s;
  }

  it('hands out the committed entries again, and nothing else', () => {
    const node = new RawNode(testConfig(1, 10, 1, restartStorage()));
    const rd = node.ready();
    expect(rd.hardState).toBeUndefined(); // unchanged since it was persisted
    expect(rd.softState).toBeUndefined();
    expect(rd.entries).toEqual([]);
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1]);
    expect(rd.mustSync).toBe(false);
    node.advance();
    expect(node.hasReady()).toBe(false);
  });

  it('with Config.applied, what was applied is not handed out again', () => {
    const node = new RawNode(testConfig(1, 10, 1, restartStorage(), { applied: 1 }));
    expect(node.hasReady()).toBe(false);
    expect(node.basicStatus().applied).toBe(1);
  });

  it('from a snapshot: starts after it, with its configuration', () => {
    const s = new MemoryStorage();
    s.applySnapshot({
      data: new Uint8Array(0),
      metadata: { index: 2, term: 1, confState: newConfState({ voters: [1, 2] }) },
    });
    s.append(entsFrom(3, 1));
    s.setHardState({ term: 1, vote: 0, commit: 3 });
    const node = new RawNode(testConfig(1, 10, 1, s));
    expect(node.status().config.voters).toEqual([1, 2]);
    expect(node.basicStatus().applied).toBe(2);
    const rd = node.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([3]);
    expect(rd.snapshot).toBeUndefined();
  });
});

describe('the Ready contract', () => {
  it('a single node election: each Ready carries exactly what changed', () => {
    const n = newTestNode(1, [1]);
    expect(n.node.hasReady()).toBe(false);
    n.node.campaign();
    // 1: became candidate; term and vote must be durable before the vote counts.
    let rd = handle(n);
    expect(rd.softState).toEqual({ lead: 0, raftState: StateType.Candidate });
    expect(rd.hardState).toEqual({ term: 1, vote: 1, commit: 0 });
    expect(rd.mustSync).toBe(true);
    expect(rd.entries).toEqual([]);
    expect(rd.messages).toEqual([]); // its own vote is stepped back in by advance
    // 2: the vote counted: leader, with its empty entry to persist.
    rd = handle(n);
    expect(rd.softState).toEqual({ lead: 1, raftState: StateType.Leader });
    expect(rd.hardState).toBeUndefined();
    expect(rd.entries.map((e) => [e.term, e.index])).toEqual([[1, 1]]);
    expect(rd.mustSync).toBe(true);
    expect(rd.committedEntries).toEqual([]);
    // 3: the entry durable and acknowledged by itself: committed, to apply.
    rd = handle(n);
    expect(rd.softState).toBeUndefined();
    expect(rd.hardState).toEqual({ term: 1, vote: 1, commit: 1 });
    expect(rd.mustSync).toBe(false); // a commit index alone need not be synced
    expect(rd.entries).toEqual([]);
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1]);
    expect(n.node.hasReady()).toBe(false);
  });

  it("a follower's acknowledgement travels in the Ready of the entries it acknowledges", () => {
    const nodes = [1, 2, 3].map((id) => newTestNode(id, [1, 2, 3]));
    nodes[0]!.node.campaign();
    stabilize(nodes);
    const [lead, f2] = nodes as [TestNode, TestNode];
    lead.node.propose(enc('x'));
    const lrd = handle(lead);
    // The leader's own ack is not a message: advance() steps it back in.
    expect(lrd.messages.every((m) => m.to !== 1)).toBe(true);
    f2.node.step(lrd.messages.find((m) => m.to === 2)!);
    const rd = f2.node.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    expect(rd.mustSync).toBe(true);
    // Sent only after rd.entries are persisted (the application's side of the contract).
    expect(rd.messages.map((m) => [MessageType[m.type], m.index])).toEqual([['MsgAppResp', 2]]);
    persistAndApply(f2, rd);
  });

  it('committed entries come only after their Ready was persisted; messages only once', () => {
    const n = newTestNode(1, [1]);
    n.node.campaign();
    stabilize([n]);
    n.node.propose(enc('a'));
    n.node.propose(enc('b'));
    const rd1 = handle(n);
    expect(rd1.entries.map((e) => e.index)).toEqual([2, 3]);
    expect(rd1.committedEntries).toEqual([]);
    const rd2 = handle(n);
    expect(rd2.entries).toEqual([]);
    expect(rd2.committedEntries.map((e) => e.index)).toEqual([2, 3]);
    expect(n.node.hasReady()).toBe(false);
  });

  it('ready() twice without advance() is a usage error', () => {
    const n = newTestNode(1, [1]);
    n.node.campaign();
    n.node.ready();
    expect(() => n.node.ready()).toThrow(ErrUsage);
    n.node.advance();
    expect(() => n.node.ready()).not.toThrow();
  });

  it('the soft state is reported only when it changes', () => {
    const seen: Array<string | undefined> = [];
    // A follower learns of a leader once: reported once.
    const f = newTestNode(2, [1, 2, 3]);
    f.node.step(msg({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: 1 }));
    let rd = handle(f);
    seen.push(rd.softState && `${rd.softState.lead}/${StateType[rd.softState.raftState]}`);
    f.node.step(msg({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: 1 }));
    rd = handle(f);
    seen.push(rd.softState && `${rd.softState.lead}/${StateType[rd.softState.raftState]}`);
    expect(seen).toEqual(['1/Follower', undefined]);
  });
});

describe('step guards', () => {
  it('local message types cannot be stepped from the outside', () => {
    const n = newTestNode(1, [1, 2]);
    for (const type of [
      MessageType.MsgHup,
      MessageType.MsgBeat,
      MessageType.MsgUnreachable,
      MessageType.MsgSnapStatus,
      MessageType.MsgCheckQuorum,
      MessageType.MsgStorageAppend,
      MessageType.MsgStorageAppendResp,
    ]) {
      expect(() => n.node.step(msg({ type, from: 2, to: 1 })), MessageType[type]).toThrow(
        ErrStepLocalMsg,
      );
    }
  });

  it('responses from unknown peers are refused', () => {
    const n = newTestNode(1, [1, 2]);
    expect(() =>
      n.node.step(msg({ type: MessageType.MsgAppResp, from: 9, to: 1, term: 1 })),
    ).toThrow(ErrStepPeerNotFound);
    // A request from an unknown node is fine (it may be a new member).
    expect(() =>
      n.node.step(msg({ type: MessageType.MsgHeartbeat, from: 9, to: 1, term: 1 })),
    ).not.toThrow();
  });

  it('a proposal without a leader is dropped with ErrProposalDropped', () => {
    const n = newTestNode(1, [1, 2]);
    expect(() => n.node.propose(enc('x'))).toThrow(ErrProposalDropped);
  });
});

describe('lastIndex', () => {
  it("is the index a leader's proposal got, before any Ready", () => {
    const n = newTestNode(1, [1]);
    n.node.campaign();
    stabilize([n]);
    const before = n.node.lastIndex();
    expect(before).toBe(1); // the leader's empty entry
    n.node.propose(enc('x'));
    expect(n.node.lastIndex()).toBe(before + 1);
    const rd = n.node.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([before + 1]);
    persistAndApply(n, rd);
    expect(n.node.lastIndex()).toBe(before + 1);
  });
});

describe('reportUnreachable', () => {
  it('sends a replicating follower back to probing; harmless elsewhere', () => {
    const nodes = [1, 2, 3].map((id) => newTestNode(id, [1, 2, 3]));
    nodes[0]!.node.campaign();
    stabilize(nodes);
    const lead = nodes[0]!;
    expect(lead.node.status().progress.get(2)!.state).toBe(ProgressStateType.StateReplicate);
    lead.node.reportUnreachable(2);
    expect(lead.node.status().progress.get(2)!.state).toBe(ProgressStateType.StateProbe);
    // On a follower, and for an unknown id: nothing happens, nothing throws.
    expect(() => nodes[1]!.node.reportUnreachable(1)).not.toThrow();
    expect(() => lead.node.reportUnreachable(42)).not.toThrow();
    // Replication recovers through the probe.
    lead.node.propose(enc('x'));
    for (let t = 0; t < 3; t++) {
      lead.node.tick();
      stabilize(nodes);
    }
    expect(lead.node.status().progress.get(2)!.state).toBe(ProgressStateType.StateReplicate);
    for (const n of nodes) expect(n.state).toEqual(['x']);
  });
});

describe('status', () => {
  it('status() and basicStatus() have the documented shape', () => {
    const nodes = [1, 2].map((id) => newTestNode(id, [1, 2]));
    nodes[0]!.node.campaign();
    stabilize(nodes);
    const st = nodes[0]!.node.status();
    expect(Object.keys(st).sort()).toEqual(
      ['applied', 'config', 'hardState', 'id', 'leadTransferee', 'progress', 'softState'].sort(),
    );
    expect(st.softState).toEqual({ lead: 1, raftState: StateType.Leader });
    expect(st.hardState).toEqual({ term: 1, vote: 1, commit: 1 });
    expect(st.config).toEqual({
      voters: [1, 2],
      votersOutgoing: [],
      learners: [],
      learnersNext: [],
      autoLeave: false,
    });
    expect([...st.progress.keys()]).toEqual([1, 2]);
    expect(Object.keys(st.progress.get(2)!).sort()).toEqual(
      [
        'inflights',
        'isLearner',
        'match',
        'next',
        'pendingSnapshot',
        'recentActive',
        'state',
      ].sort(),
    );
    const bs = nodes[0]!.node.basicStatus();
    expect(Object.keys(bs).sort()).toEqual(
      ['applied', 'hardState', 'id', 'leadTransferee', 'softState'].sort(),
    );
    expect(nodes[1]!.node.status().progress.size).toBe(0);
  });
});
