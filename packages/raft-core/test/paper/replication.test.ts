// The Raft paper, §5.3 (log replication): one test per claim, as etcd/raft's
// raft_paper_test.go checks them, plus the commit index on heartbeats and the fast
// backtracking of conflicting logs (rejectHint/logTerm, thesis §5.3 "optimization").
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Entry,
  type Message,
  MessageType,
  StateType,
  type Term,
  newEntry,
} from '../../src/index.js';
import { BlackHole, Network } from '../util/network.js';
import {
  acceptAndReply,
  advanceMessagesAfterAppend,
  commitNoopEntry,
  dataEntry,
  entsFrom,
  idsBySize,
  logString,
  makeLeader,
  msg,
  newTestRaft,
  newTestStorage,
  propMsg,
  readMessages,
  show,
  termIndex,
} from '../util/raft.js';

const enc = (s: string) => new TextEncoder().encode(s);

function leaderWithCommittedNoop(size = 3) {
  const s = newTestStorage(idsBySize(size));
  const r = newTestRaft(1, 10, 1, s);
  makeLeader(r);
  commitNoopEntry(r, s);
  return { r, s };
}

describe('§5.3 log replication', () => {
  // "Once a leader has been elected, it begins servicing client requests. [...] The leader
  // appends the command to its log as a new entry, then issues AppendEntries RPCs in parallel
  // to each of the other servers to replicate the entry." And: "When sending an
  // AppendEntries RPC, the leader includes the index and term of the entry in its log that
  // immediately precedes the new entries." The new entry is also to be persisted.
  it('the leader appends a proposal and sends it to every follower with its predecessor', () => {
    const { r } = leaderWithCommittedNoop();
    const li = r.raftLog.lastIndex();
    r.step(propMsg(1, 'some data'));
    expect(r.raftLog.lastIndex()).toBe(li + 1);
    expect(r.raftLog.committed).toBe(li);
    expect(show(readMessages(r))).toEqual([
      `1->2 MsgApp Term:1 Log:1/${li} Commit:${li} Entries:[1/${li + 1} EntryNormal "some data"]`,
      `1->3 MsgApp Term:1 Log:1/${li} Commit:${li} Entries:[1/${li + 1} EntryNormal "some data"]`,
    ]);
    expect(r.raftLog.nextUnstableEnts()).toEqual([dataEntry(li + 1, 1, 'some data')]);
  });

  // "When the entry has been safely replicated, the leader applies the entry to its state
  // machine [...]. The leader keeps track of the highest index it knows to be committed, and
  // it includes that index in future AppendEntries RPCs."
  it('once replicated, the leader commits the entry, hands it out, and tells the followers', () => {
    const { r } = leaderWithCommittedNoop();
    const li = r.raftLog.lastIndex();
    r.step(propMsg(1, 'some data'));
    for (const m of readMessages(r)) r.step(acceptAndReply(m));
    expect(r.raftLog.committed).toBe(li + 1);
    expect(r.raftLog.nextCommittedEnts(true)).toEqual([dataEntry(li + 1, 1, 'some data')]);
    const msgs = readMessages(r);
    expect(msgs.map((m) => m.to).sort()).toEqual([2, 3]);
    for (const m of msgs) {
      expect(m.type).toBe(MessageType.MsgApp);
      expect(m.commit).toBe(li + 1);
    }
  });

  // "A log entry is committed once the leader that created the entry has replicated it on a
  // majority of the servers."
  it('an entry is committed exactly when a majority has it', () => {
    const cases: Array<{ size: number; acceptors: number[]; wack: boolean }> = [
      { size: 1, acceptors: [], wack: true },
      { size: 3, acceptors: [], wack: false },
      { size: 3, acceptors: [2], wack: true },
      { size: 3, acceptors: [2, 3], wack: true },
      { size: 5, acceptors: [], wack: false },
      { size: 5, acceptors: [2], wack: false },
      { size: 5, acceptors: [2, 3], wack: true },
      { size: 5, acceptors: [2, 3, 4], wack: true },
      { size: 5, acceptors: [2, 3, 4, 5], wack: true },
    ];
    for (const [i, c] of cases.entries()) {
      const { r } = leaderWithCommittedNoop(c.size);
      const li = r.raftLog.lastIndex();
      r.step(propMsg(1, 'some data'));
      advanceMessagesAfterAppend(r);
      for (const m of r.msgs) {
        if (c.acceptors.includes(m.to)) r.step(acceptAndReply(m));
      }
      expect(r.raftLog.committed > li, `#${i}`).toBe(c.wack);
    }
  });

  // "When the leader commits a log entry, it also commits all preceding entries in the
  // leader's log, including entries created by previous leaders." They are applied in order.
  it("committing an entry commits every earlier entry, previous leaders' ones too", () => {
    const cases: Entry[][] = [[], entsFrom(1, 2), entsFrom(1, 1, 2), entsFrom(1, 1)];
    for (const [i, prev] of cases.entries()) {
      const s = newTestStorage([1, 2, 3]);
      s.append(prev);
      s.setHardState({ term: 2, vote: 0, commit: 0 });
      const r = newTestRaft(1, 10, 1, s);
      makeLeader(r); // term 3
      r.step(propMsg(1, 'some data'));
      for (const m of readMessages(r)) r.step(acceptAndReply(m));
      const li = prev.length;
      expect(r.raftLog.nextCommittedEnts(true), `#${i}`).toEqual([
        ...prev,
        newEntry({ term: 3, index: li + 1 }),
        dataEntry(li + 2, 3, 'some data'),
      ]);
    }
  });

  // "Once a follower learns that a log entry is committed, it applies the entry to its local
  // state machine (in log order)."
  it('a follower commits what the leader says is committed, and applies it in order', () => {
    const cases: Array<{ ents: Entry[]; commit: number }> = [
      { ents: [dataEntry(1, 1, 'some data')], commit: 1 },
      { ents: [dataEntry(1, 1, 'some data'), dataEntry(2, 1, 'some data2')], commit: 2 },
      { ents: [dataEntry(1, 1, 'some data2'), dataEntry(2, 1, 'some data')], commit: 2 },
      { ents: [dataEntry(1, 1, 'some data'), dataEntry(2, 1, 'some data2')], commit: 1 },
    ];
    for (const [i, c] of cases.entries()) {
      const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
      r.becomeFollower(1, 2);
      r.step(
        msg({
          type: MessageType.MsgApp,
          from: 2,
          to: 1,
          term: 1,
          entries: c.ents,
          commit: c.commit,
        }),
      );
      expect(r.raftLog.committed, `#${i}`).toBe(c.commit);
      expect(r.raftLog.nextCommittedEnts(true), `#${i}`).toEqual(c.ents.slice(0, c.commit));
    }
  });

  it('a follower never commits past the last entry the MsgApp vouched for', () => {
    // Its log may hold later entries of an old term that the leader does not have.
    const s = newTestStorage([1, 2, 3]);
    s.append(entsFrom(1, 1, 1, 1, 1));
    const r = newTestRaft(1, 10, 1, s);
    r.becomeFollower(2, 2);
    r.step(
      msg({
        type: MessageType.MsgApp,
        from: 2,
        to: 1,
        term: 2,
        index: 1,
        logTerm: 1,
        entries: entsFrom(2, 1),
        commit: 4,
      }),
    );
    expect(r.raftLog.committed).toBe(2);
  });

  // "If the follower does not find an entry in its log with the same index and term [as the
  // entry preceding the new ones], then it refuses the new entries." Otherwise it accepts.
  // A refusal carries a hint: the follower's last index with a term <= the probed one.
  it('a follower accepts a MsgApp only if its log matches at the preceding entry', () => {
    const ents = entsFrom(1, 1, 2);
    const cases = [
      // matches committed entries
      { logTerm: 0, index: 0, want: '1->2 MsgAppResp Term:2 Log:0/1' },
      { logTerm: 1, index: 1, want: '1->2 MsgAppResp Term:2 Log:0/1' },
      // matches an uncommitted entry
      { logTerm: 2, index: 2, want: '1->2 MsgAppResp Term:2 Log:0/2' },
      // mismatches an existing entry: hint (1, term 1)
      { logTerm: 1, index: 2, want: '1->2 MsgAppResp Term:2 Log:1/2 Rejected (Hint: 1)' },
      // an entry it does not have: hint its last entry (2, term 2)
      { logTerm: 3, index: 3, want: '1->2 MsgAppResp Term:2 Log:2/3 Rejected (Hint: 2)' },
    ];
    for (const [i, c] of cases.entries()) {
      const s = newTestStorage([1, 2, 3]);
      s.append(ents);
      s.setHardState({ term: 0, vote: 0, commit: 1 });
      const r = newTestRaft(1, 10, 1, s);
      r.becomeFollower(2, 2);
      r.step(
        msg({
          type: MessageType.MsgApp,
          from: 2,
          to: 1,
          term: 2,
          logTerm: c.logTerm,
          index: c.index,
        }),
      );
      expect(show(readMessages(r)), `#${i}`).toEqual([c.want]);
    }
  });

  // "If an existing entry conflicts with a new one (same index but different terms), delete
  // the existing entry and all that follow it; append any new entries not already in the
  // log." The new entries go to the unstable log, to be persisted.
  it('a follower deletes conflicting entries and appends the new ones', () => {
    const cases = [
      { index: 2, term: 2, ents: entsFrom(3, 3), want: [1, 2, 3], unstable: entsFrom(3, 3) },
      { index: 1, term: 1, ents: entsFrom(2, 3, 4), want: [1, 3, 4], unstable: entsFrom(2, 3, 4) },
      // already there: nothing new to persist
      { index: 0, term: 0, ents: entsFrom(1, 1), want: [1, 2], unstable: [] },
      // conflicts from the very first entry
      { index: 0, term: 0, ents: entsFrom(1, 3), want: [3], unstable: entsFrom(1, 3) },
    ];
    for (const [i, c] of cases.entries()) {
      const s = newTestStorage([1, 2, 3]);
      s.append(entsFrom(1, 1, 2));
      const r = newTestRaft(1, 10, 1, s);
      r.becomeFollower(2, 2);
      r.step(
        msg({
          type: MessageType.MsgApp,
          from: 2,
          to: 1,
          term: 2,
          logTerm: c.term,
          index: c.index,
          entries: c.ents,
        }),
      );
      expect(
        r.raftLog.allEntries().map((e) => e.term),
        `#${i}`,
      ).toEqual(c.want);
      expect(r.raftLog.nextUnstableEnts(), `#${i}`).toEqual(c.unstable);
    }
  });

  it('a stale or duplicated MsgApp never truncates entries the follower already has', () => {
    const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
    r.becomeFollower(2, 2);
    const full = msg({
      type: MessageType.MsgApp,
      from: 2,
      to: 1,
      term: 2,
      entries: entsFrom(1, 2, 2, 2),
    });
    const short = msg({
      type: MessageType.MsgApp,
      from: 2,
      to: 1,
      term: 2,
      entries: entsFrom(1, 2),
    });
    r.step(full);
    r.step(short); // an older MsgApp of the same leader, delivered late
    expect(termIndex(r.raftLog.allEntries())).toEqual([
      [2, 1],
      [2, 2],
      [2, 3],
    ]);
    // It acknowledges only what that message covered: the leader ignores a stale ack.
    expect(show(readMessages(r))).toEqual([
      '1->2 MsgAppResp Term:2 Log:0/1',
      '1->2 MsgAppResp Term:2 Log:0/3',
    ]);
  });

  // "The leader maintains a nextIndex for each follower [...]. When a leader first comes to
  // power, it initializes all nextIndex values to the index just after the last one in its
  // log. [...] After a rejection, the leader decrements nextIndex and retries the
  // AppendEntries RPC. Eventually nextIndex will reach a point where the leader and follower
  // logs match." Figure 7's followers (a)-(f), against the leader of term 8.
  it('the leader brings every follower of figure 7 in line with its own log', () => {
    const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const term = 8;
    const followers: Term[][] = [
      [1, 1, 1, 4, 4, 5, 5, 6, 6], // (a) missing an entry
      [1, 1, 1, 4], // (b) missing many
      [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], // (c) an extra uncommitted entry
      [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], // (d) extra entries of a later term
      [1, 1, 1, 4, 4, 4, 4], // (e) a conflicting tail of an old term
      [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], // (f) conflicting tails of two old terms
    ];
    for (const [i, ft] of followers.entries()) {
      const ls = newTestStorage([1, 2, 3]);
      ls.append(entsFrom(1, ...leaderTerms));
      ls.setHardState({ term, vote: 0, commit: leaderTerms.length });
      const lead = newTestRaft(1, 10, 1, ls);
      const fs = newTestStorage([1, 2, 3]);
      fs.append(entsFrom(1, ...ft));
      fs.setHardState({ term: term - 1, vote: 0, commit: 0 });
      const follower = newTestRaft(2, 10, 1, fs);
      // Three nodes: the follower may have the more up-to-date log and refuse its vote, so
      // the leader takes the vote of node 3 (a black hole otherwise).
      const nt = new Network([lead, follower, new BlackHole()]);
      nt.send(msg({ type: MessageType.MsgHup, from: 1, to: 1 }));
      nt.send(msg({ type: MessageType.MsgVoteResp, from: 3, to: 1, term: term + 1 }));
      expect(lead.state, `(${'abcdef'[i]})`).toBe(StateType.Leader);
      nt.send(propMsg(1, ''));
      expect(logString(follower), `(${'abcdef'[i]})`).toBe(logString(lead));
    }
  });

  // "If desired, the protocol can be optimized to reduce the number of rejected AppendEntries
  // RPCs. For example, when rejecting an AppendEntries request, the follower can include the
  // term of the conflicting entry and the first index it stores for that term." etcd's
  // variant: the follower hints its last (index, term) with term <= the probed term, and the
  // leader jumps to its own last index with a term <= that.
  it('fast backtracking: a divergent tail costs one rejection per term, not per entry', () => {
    const cases: Array<{
      name: string;
      leader: Term[];
      follower: Term[];
      hint: number;
      hintTerm: Term;
      rejections: number;
    }> = [
      {
        name: 'follower tail of a lower term, longer than the leader',
        leader: [1, 2, 2, 4, 4, 4, 4],
        follower: [1, 2, 2, 3, 3, 3, 3, 3, 3],
        hint: 7,
        hintTerm: 3,
        rejections: 1,
      },
      {
        name: 'follower far behind',
        leader: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        follower: [1, 1],
        hint: 2,
        hintTerm: 1,
        rejections: 1,
      },
      {
        name: 'follower tail of a higher term than the leader probes',
        leader: [1, 2, 2, 2, 2, 2],
        follower: [1, 3, 3, 3, 3, 3, 3, 3],
        hint: 1,
        hintTerm: 1,
        rejections: 1,
      },
      {
        name: 'both diverge over several terms',
        leader: [1, 1, 4, 4, 6, 6, 6],
        follower: [1, 1, 2, 2, 3, 3, 5, 5, 5],
        hint: 7,
        hintTerm: 5,
        rejections: 2,
      },
    ];
    for (const c of cases) {
      const ls = newTestStorage([1, 2, 3]);
      ls.append(entsFrom(1, ...c.leader));
      ls.setHardState({ term: 7, vote: 0, commit: 0 });
      const lead = newTestRaft(1, 10, 1, ls);
      const fs = newTestStorage([1, 2, 3]);
      fs.append(entsFrom(1, ...c.follower));
      fs.setHardState({ term: 7, vote: 0, commit: 0 });
      const follower = newTestRaft(2, 10, 1, fs);
      const rejections: Message[] = [];
      const nt = new Network([lead, follower, new BlackHole()]);
      nt.msgHook = (m) => {
        if (m.type === MessageType.MsgAppResp && m.reject) rejections.push(m);
        return true;
      };
      nt.send(msg({ type: MessageType.MsgHup, from: 1, to: 1 }));
      nt.send(msg({ type: MessageType.MsgVoteResp, from: 3, to: 1, term: 8 }));
      expect(lead.state, c.name).toBe(StateType.Leader);
      expect(logString(follower), c.name).toBe(logString(lead));
      expect(rejections.length, c.name).toBe(c.rejections);
      expect([rejections[0]!.rejectHint, rejections[0]!.logTerm], c.name).toEqual([
        c.hint,
        c.hintTerm,
      ]);
    }
  });

  it('fast backtracking converges for any two divergent logs, within one rejection per term', () => {
    // Two valid raft logs: a common prefix, then tails written by different leaders (disjoint
    // terms, all above the prefix's), either of them possibly empty.
    const logs = fc
      .record({
        prefix: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 6 }),
        leaderTail: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 8 }),
        followerTail: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 8 }),
        leaderHigher: fc.boolean(),
      })
      .map(({ prefix, leaderTail, followerTail, leaderHigher }) => {
        const p = [...prefix].sort((a, b) => a - b);
        const base = p.length > 0 ? p[p.length - 1]! : 0;
        // Leader tail terms are even offsets, follower's odd: never the same term.
        const tail = (steps: number[], odd: boolean) => {
          let t = base;
          return steps.map((s) => {
            t += s;
            return t * 2 + (odd ? 1 : 0) + 2;
          });
        };
        const lt = tail(leaderTail, !leaderHigher);
        const ft = tail(followerTail, leaderHigher);
        return { prefix: p, leader: [...p, ...lt], follower: [...p, ...ft] };
      });
    fc.assert(
      fc.property(logs, ({ prefix, leader, follower }) => {
        const maxTerm = Math.max(0, ...leader, ...follower);
        const ls = newTestStorage([1, 2, 3]);
        ls.append(entsFrom(1, ...leader));
        ls.setHardState({ term: maxTerm, vote: 0, commit: 0 });
        const lead = newTestRaft(1, 10, 1, ls);
        const fs = newTestStorage([1, 2, 3]);
        fs.append(entsFrom(1, ...follower));
        fs.setHardState({ term: maxTerm, vote: 0, commit: 0 });
        const fol = newTestRaft(2, 10, 1, fs);
        let rejections = 0;
        const nt = new Network([lead, fol, new BlackHole()]);
        nt.msgHook = (m) => {
          if (m.type === MessageType.MsgAppResp && m.reject) rejections++;
          return true;
        };
        nt.send(msg({ type: MessageType.MsgHup, from: 1, to: 1 }));
        nt.send(msg({ type: MessageType.MsgVoteResp, from: 3, to: 1, term: maxTerm + 1 }));
        expect(lead.state).toBe(StateType.Leader);
        expect(logString(fol)).toBe(logString(lead));
        const leaderTailTerms = new Set(leader.slice(prefix.length));
        // Every rejected probe is at an index of the leader's tail, and the probed term strictly
        // decreases from one probe to the next.
        expect(rejections).toBeLessThanOrEqual(leaderTailTerms.size);
      }),
      { numRuns: 300 },
    );
  });

  // The commit index also travels on heartbeats: a follower that missed the MsgApp carrying
  // it learns it from the next heartbeat, bounded by what it is known to have (its match).
  it('followers learn the commit index from heartbeats', () => {
    const nt = new Network([null, null, null]);
    nt.send(msg({ type: MessageType.MsgHup, from: 1, to: 1 }));
    // Lose every MsgApp that carries no entries: those only announce a new commit index.
    nt.msgHook = (m) => !(m.type === MessageType.MsgApp && m.entries.length === 0);
    nt.send(propMsg(1, 'x'));
    const committed = nt.raft(1).raftLog.committed;
    expect(committed).toBe(2);
    expect(nt.raft(2).raftLog.committed).toBe(1);
    expect(nt.raft(3).raftLog.committed).toBe(1);
    nt.tick(1, [1]); // heartbeatTick = 1
    expect(nt.raft(2).raftLog.committed).toBe(committed);
    expect(nt.raft(3).raftLog.committed).toBe(committed);
  });

  it('a heartbeat commits on a follower, never below what it already committed', () => {
    const s = newTestStorage([1, 2]);
    s.append(entsFrom(1, 1, 2, 3));
    const r = newTestRaft(1, 5, 1, s);
    r.becomeFollower(2, 2);
    r.raftLog.commitTo(1);
    r.step(msg({ type: MessageType.MsgHeartbeat, from: 2, to: 1, term: 2, commit: 3 }));
    expect(r.raftLog.committed).toBe(3);
    r.step(msg({ type: MessageType.MsgHeartbeat, from: 2, to: 1, term: 2, commit: 1 }));
    expect(r.raftLog.committed).toBe(3);
    expect(show(readMessages(r))).toEqual([
      '1->2 MsgHeartbeatResp Term:2 Log:0/0',
      '1->2 MsgHeartbeatResp Term:2 Log:0/0',
    ]);
  });

  it('a leader heartbeat carries min(match, committed) for each follower', () => {
    const s = newTestStorage([1, 2, 3]);
    const r = newTestRaft(1, 10, 1, s);
    makeLeader(r);
    for (let i = 0; i < 10; i++) r.appendEntry([newEntry({ data: enc(`${i}`) })]);
    readMessages(r); // the leader acknowledges its own entries: match 11
    r.raftLog.commitTo(11);
    r.trk.progress.get(2)!.match = 5;
    r.trk.progress.get(3)!.match = r.raftLog.lastIndex();
    r.step(msg({ type: MessageType.MsgBeat, from: 1, to: 1 }));
    expect(show(readMessages(r))).toEqual([
      '1->2 MsgHeartbeat Term:1 Log:0/0 Commit:5',
      '1->3 MsgHeartbeat Term:1 Log:0/0 Commit:11',
    ]);
  });

  it('committed entries are applied in the same order on every node', () => {
    const nt = new Network([null, null, null, null, null]);
    nt.send(msg({ type: MessageType.MsgHup, from: 1, to: 1 }));
    for (let i = 0; i < 20; i++) nt.send(propMsg(1 + (i % 5), `p${i}`)); // followers forward
    const applied = [1, 2, 3, 4, 5].map((id) =>
      nt
        .raft(id)
        .raftLog.nextCommittedEnts(true)
        .map((e) => new TextDecoder().decode(e.data)),
    );
    expect(applied[0]!.filter((d) => d !== '')).toHaveLength(20);
    for (const a of applied) expect(a).toEqual(applied[0]);
  });
});
