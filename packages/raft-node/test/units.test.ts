// The pure parts: group-commit merging, envelopes, proposal tracking, the latest-value cell,
// removed members.
import {
  ConfChangeTransition,
  ConfChangeType,
  type Entry,
  EntryType,
  ErrProposalDropped,
  MessageType,
  encodeConfChange,
  newConfState,
  newMessage,
} from '@tsraft/raft-core';
import { describe, expect, it } from 'vitest';
import { mergeEntries, takeAppendBatch } from '../src/append-batch.js';
import {
  Session,
  decodeEntryData,
  decodeSnapshotData,
  encodeConfContext,
  encodeEntryData,
  encodeReadContext,
  encodeSnapshotData,
  ownSeq,
  readContextSeq,
} from '../src/envelope.js';
import { ErrProposalIndeterminate } from '../src/errors.js';
import { Membership } from '../src/membership.js';
import { ProposalTracker } from '../src/proposals.js';
import { Latest } from '../src/watch.js';

const ent = (index: number, term: number, data: Uint8Array = new Uint8Array(0)): Entry => ({
  index,
  term,
  type: EntryType.EntryNormal,
  data,
});

describe('group commit', () => {
  it('merges entries, letting later ones overwrite a conflicting tail', () => {
    const acc: Entry[] = [];
    mergeEntries(acc, [ent(5, 1), ent(6, 1), ent(7, 1)]);
    mergeEntries(acc, [ent(8, 1)]);
    mergeEntries(acc, [ent(7, 2), ent(8, 2)]);
    expect(acc.map((e) => `${e.index}/${e.term}`)).toEqual(['5/1', '6/1', '7/2', '8/2']);
    mergeEntries(acc, [ent(3, 3)]);
    expect(acc.map((e) => `${e.index}/${e.term}`)).toEqual(['3/3']);
  });

  it('takes queued appends up to the next snapshot, with the newest hard state', () => {
    const snap = {
      data: new Uint8Array(0),
      metadata: {
        index: 9,
        term: 2,
        confState: {
          voters: [1],
          learners: [],
          votersOutgoing: [],
          learnersNext: [],
          autoLeave: false,
        },
      },
    };
    const r1 = newMessage({ type: MessageType.MsgAppResp, to: 2 });
    const r2 = newMessage({ type: MessageType.MsgStorageAppendResp, to: 1 });
    const q = [
      newMessage({
        type: MessageType.MsgStorageAppend,
        entries: [ent(1, 1)],
        term: 1,
        commit: 0,
        responses: [r1],
      }),
      newMessage({ type: MessageType.MsgStorageAppend, entries: [ent(2, 1)], responses: [r2] }),
      newMessage({ type: MessageType.MsgStorageAppend, snapshot: snap, term: 2, commit: 9 }),
      newMessage({ type: MessageType.MsgStorageAppend, entries: [ent(10, 2)] }),
    ];
    const a = takeAppendBatch(q);
    expect(a.messages).toBe(2);
    expect(a.entries.map((e) => e.index)).toEqual([1, 2]);
    expect(a.hardState).toEqual({ term: 1, vote: 0, commit: 0 });
    expect(a.responses).toEqual([r1, r2]);
    expect(a.snapshot).toBeNull();
    const b = takeAppendBatch(q);
    expect(b.snapshot).toBe(snap);
    expect(b.entries.map((e) => e.index)).toEqual([10]);
    expect(b.hardState).toEqual({ term: 2, vote: 0, commit: 9 });
    expect(q).toHaveLength(0);
  });
});

describe('envelopes', () => {
  it('round-trips entry data and recognizes only our own session', () => {
    const s = new Session();
    const other = new Session();
    const data = encodeEntryData(2 ** 40 + 7, s, 123, new Uint8Array([1, 2, 3]));
    const env = decodeEntryData(data)!;
    expect(env.proposer).toBe(2 ** 40 + 7);
    expect(env.seq).toBe(123);
    expect([...env.payload]).toEqual([1, 2, 3]);
    expect(ownSeq(data, s)).toBe(123);
    expect(ownSeq(data, other)).toBe(-1);
    expect(decodeEntryData(new Uint8Array(0))).toBeNull();
    expect(readContextSeq(encodeReadContext(s, 9), s)).toBe(9);
    expect(readContextSeq(encodeReadContext(other, 9), s)).toBe(-1);
  });

  it('round-trips snapshot data and refuses foreign bytes', () => {
    const b = encodeSnapshotData({ members: { 1: 'a:1' } });
    expect(decodeSnapshotData(b).members).toEqual({ 1: 'a:1' });
    expect(() => decodeSnapshotData(new Uint8Array([1, 2, 3]))).toThrow(/raft-node/);
    // Version 1 carried the state machine's bytes inline; it is refused by name.
    const v1 = new Uint8Array(b);
    v1[4] = 1;
    expect(() => decodeSnapshotData(v1)).toThrow(/unknown raft-node snapshot version 1/);
  });
});

describe('proposal tracking', () => {
  const setup = () => {
    const s = new Session();
    const t = new ProposalTracker(s);
    const results: string[] = [];
    const add = (term: number, lead: number) => {
      const seq = t.add(
        term,
        lead,
        (v) => results.push(`${seq}:ok:${v}`),
        (e) => results.push(`${seq}:${e.constructor.name}`),
      );
      return seq;
    };
    const own = (index: number, term: number, seq: number) =>
      ent(index, term, encodeEntryData(1, s, seq, new Uint8Array(0)));
    return { s, t, results, add, own };
  };

  it('resolves on apply, whoever appended the entry', () => {
    const { t, results, add, own } = setup();
    const a = add(2, 3);
    t.onAppend([own(10, 2, a)]);
    t.applied(a, 42);
    expect(results).toEqual([`${a}:ok:42`]);
    expect(t.size).toBe(0);
  });

  it('a new epoch fails what is not known committed, keeps what is', () => {
    const { t, results, add, own } = setup();
    const a = add(2, 1);
    const b = add(2, 1);
    const c = add(2, 1); // forwarded, never seen
    t.onAppend([own(10, 2, a), own(11, 2, b)]);
    t.onEpoch(2, 1, 10, 1); // same epoch: nothing happens
    expect(results).toEqual([]);
    t.onEpoch(3, 0, 10, 1);
    expect(results.sort()).toEqual(
      [`${b}:ErrProposalIndeterminate`, `${c}:ErrProposalIndeterminate`].sort(),
    );
    t.applied(a, 'x');
    expect(results).toContain(`${a}:ok:x`);
  });

  it("a follower losing sight of its leader within the term keeps what it forwarded; a leader's step-down does not", () => {
    const { t, results, add } = setup();
    // We are node 2; node 1 leads term 2. Our election clock runs out: a pre-vote, lead 0.
    const forwarded = add(2, 1);
    t.onEpoch(2, 0, 10, 2);
    expect(results).toEqual([]);
    // The leader is heard from again in the same term: the request is still pending.
    t.onEpoch(2, 1, 10, 2);
    expect(results).toEqual([]);
    // A new term settles it.
    t.onEpoch(3, 0, 10, 2);
    expect(results).toEqual([`${forwarded}:ErrProposalIndeterminate`]);
    // Our own leadership lost within its term (checkQuorum): nothing of ours commits in it.
    const own = add(3, 2);
    t.onEpoch(3, 0, 10, 2);
    expect(results.at(-1)).toBe(`${own}:ErrProposalIndeterminate`);
  });

  it('an overwritten entry is indeterminate; a refused conf change is dropped', () => {
    const { t, results, add, own } = setup();
    const a = add(2, 1);
    t.onAppend([own(10, 2, a)]);
    t.onAppend([ent(9, 3), ent(10, 3)]);
    expect(results).toEqual([`${a}:${ErrProposalIndeterminate.name}`]);

    const b = add(3, 1);
    t.appendedAt(b, 11, 3);
    t.onAppend([ent(11, 3)]); // the leader's refusal: an empty entry in the same slot and term
    expect(results.at(-1)).toBe(`${b}:${ErrProposalDropped.name}`);
  });

  it('finds its own conf changes by the context', () => {
    const { s, t, results, add } = setup();
    const a = add(1, 1);
    const cc = encodeConfChange({
      type: ConfChangeType.ConfChangeAddNode,
      nodeId: 4,
      context: encodeConfContext({ addr: 'x:1', session: s.hex, seq: a }),
      id: 0,
    });
    const e: Entry = { index: 5, term: 1, type: EntryType.EntryConfChange, data: cc };
    expect(t.seqOf(e)).toBe(a);
    t.onAppend([e]);
    t.onEpoch(2, 2, 5, 1); // committed: survives the epoch change
    expect(results).toEqual([]);
  });
});

describe('Latest', () => {
  it('yields the current value, then only the newest after a burst', async () => {
    const l = new Latest(0);
    const it = l.watch();
    expect((await it.next()).value).toBe(0);
    l.set(1);
    l.set(2);
    l.set(3);
    expect((await it.next()).value).toBe(3);
    const waiting = it.next();
    l.set(4);
    expect((await waiting).value).toBe(4);
    l.close();
    expect((await it.next()).done).toBe(true);
    expect(await l.until((v) => v === 4)).toBe(4);
  });

  it('until() gives up when the signal aborts', async () => {
    const l = new Latest(0);
    const ac = new AbortController();
    const p = l.until((v) => v > 10, ac.signal);
    ac.abort();
    expect(await p).toBeUndefined();
  });
});

describe('membership: count', () => {
  it('counts what list() lists, in simple and joint configurations, without building it', () => {
    const m = new Membership();
    const configs = [
      { voters: [] },
      { voters: [1] },
      { voters: [1, 2, 3], learners: [4] },
      // Joint: 3 leaves, 4 becomes a voter, 2 is demoted to a learner.
      { voters: [1, 4], votersOutgoing: [1, 2, 3], learners: [5], learnersNext: [2] },
      { voters: [2], votersOutgoing: [1, 2], learnersNext: [1] },
    ];
    for (const c of configs) {
      m.confState = { ...newConfState(), ...c };
      expect(m.count()).toBe(m.list().length);
    }
    expect(m.count()).toBe(2);
  });
});

describe('membership: removed ids', () => {
  const change = (type: ConfChangeType, nodeId: number) => ({
    transition: ConfChangeTransition.ConfChangeTransitionAuto,
    changes: [{ type, nodeId }],
    context: new Uint8Array(),
  });

  it('remembers removals until the id is added again, and restores them from a snapshot', () => {
    const m = new Membership();
    const cs = { ...newConfState(), voters: [1, 2] };
    let ch = m.apply(change(ConfChangeType.ConfChangeRemoveNode, 3), {}, cs);
    expect(ch.gone).toEqual([3]);
    expect([...m.removedIds]).toEqual([3]);
    ch = m.apply(change(ConfChangeType.ConfChangeAddNode, 3), { addr: '127.0.0.1:1' }, cs);
    expect(ch.gone).toEqual([]);
    expect(m.removedIds.size).toBe(0);
    ch = m.reset(cs, { 1: 'a:1', 2: 'b:2' }, [4, 5]);
    expect(ch.gone).toEqual([4, 5]);
    expect([...m.removedIds]).toEqual([4, 5]);
  });

  it('snapshot metadata carries them; older metadata without them still decodes', () => {
    const data = encodeSnapshotData({ members: { 1: 'a:1' }, removed: [3] });
    expect(decodeSnapshotData(data).removed).toEqual([3]);
    const old = encodeSnapshotData({ members: { 1: 'a:1' } });
    expect(decodeSnapshotData(old).removed).toBeUndefined();
  });
});
