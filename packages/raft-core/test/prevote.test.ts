// PreVote (thesis §9.6): a pre-election asks whether peers would vote before anyone's term
// moves, so a node that was partitioned away cannot disrupt a healthy leader when it comes
// back. The vote rules for MsgPreVote, the pre-candidate's transitions, and network scenarios.
import { describe, expect, it } from 'vitest';
import { type Message, MessageType, type NodeId, None, StateType } from '../src/index.js';
import { Network } from './util/network.js';
import {
  advanceMessagesAfterAppend,
  entsFrom,
  msg,
  newTestRaft,
  newTestStorage,
  propMsg,
  readMessages,
  show,
} from './util/raft.js';

const hup = (id: NodeId): Message => msg({ type: MessageType.MsgHup, from: id, to: id });

function preVoteRaft(id = 1, peers = [1, 2, 3]) {
  return newTestRaft(id, 10, 1, newTestStorage(peers), { preVote: true });
}

describe('PreVote: the pre-candidate', () => {
  it('asks for pre-votes for the next term without changing its own term or vote', () => {
    const r = preVoteRaft();
    r.becomeFollower(1, None);
    r.vote = 3; // it voted in term 1
    r.step(hup(1));
    expect(r.state).toBe(StateType.PreCandidate);
    expect(r.term).toBe(1);
    expect(r.vote).toBe(3);
    expect(r.lead).toBe(None);
    expect(show(readMessages(r))).toEqual([
      '1->2 MsgPreVote Term:2 Log:0/0',
      '1->3 MsgPreVote Term:2 Log:0/0',
    ]);
    // Its own pre-vote was counted (once durable).
    expect(r.trk.votes.get(1)).toBe(true);
  });

  it('becomes a candidate (term + 1) on a majority of pre-votes', () => {
    const r = preVoteRaft();
    r.step(hup(1));
    readMessages(r);
    r.step(msg({ type: MessageType.MsgPreVoteResp, from: 2, to: 1, term: 1 }));
    expect(r.state).toBe(StateType.Candidate);
    expect(r.term).toBe(1);
    expect(r.vote).toBe(1);
    expect(show(readMessages(r))).toEqual([
      '1->2 MsgVote Term:1 Log:0/0',
      '1->3 MsgVote Term:1 Log:0/0',
    ]);
  });

  it('goes back to follower, term unchanged, when a majority refuses', () => {
    const r = preVoteRaft();
    r.becomeFollower(4, None);
    r.step(hup(1));
    readMessages(r);
    r.step(msg({ type: MessageType.MsgPreVoteResp, from: 2, to: 1, term: 4, reject: true }));
    r.step(msg({ type: MessageType.MsgPreVoteResp, from: 3, to: 1, term: 4, reject: true }));
    expect(r.state).toBe(StateType.Follower);
    expect(r.term).toBe(4);
  });

  it('adopts the higher term of a refusal (it fell behind)', () => {
    const r = preVoteRaft();
    r.becomeFollower(1, None);
    r.step(hup(1));
    readMessages(r);
    r.step(msg({ type: MessageType.MsgPreVoteResp, from: 2, to: 1, term: 5, reject: true }));
    expect(r.state).toBe(StateType.Follower);
    expect(r.term).toBe(5);
  });

  it('a candidate ignores pre-vote responses left over from its pre-election', () => {
    const r = preVoteRaft(1, [1, 2, 3, 4, 5]);
    r.step(hup(1));
    readMessages(r);
    for (const id of [2, 3]) {
      r.step(msg({ type: MessageType.MsgPreVoteResp, from: id, to: 1, term: 1 }));
    }
    expect(r.state).toBe(StateType.Candidate);
    readMessages(r);
    // Late pre-votes are not votes: counted as such they would make it leader (1, 4, 5).
    r.step(msg({ type: MessageType.MsgPreVoteResp, from: 4, to: 1, term: 1 }));
    r.step(msg({ type: MessageType.MsgPreVoteResp, from: 5, to: 1, term: 1 }));
    expect(r.state).toBe(StateType.Candidate);
    expect(r.trk.votes.size).toBe(1);
  });

  it('a leader ignores MsgHup', () => {
    const nt = new Network([null, null, null], { config: { preVote: true } });
    nt.send(hup(1));
    expect(nt.raft(1).state).toBe(StateType.Leader);
    nt.send(hup(1));
    expect(nt.raft(1).state).toBe(StateType.Leader);
    expect(nt.raft(1).term).toBe(1);
  });
});

describe('PreVote: the voter', () => {
  // Which vote and pre-vote requests a node grants at its own term: a log at least as up to
  // date is required for both; a real vote also requires not having voted for someone else.
  // (A pre-vote for a later term is granted regardless of the vote: see the next test.)
  it('grants at the same term by the same rules as a vote', () => {
    type Case = {
      state: StateType;
      index: number;
      logTerm: number;
      voteFor: NodeId;
      reject: boolean;
    };
    const cases: Case[] = [];
    // Our log is [2/1, 2/2].
    for (const [index, logTerm, reject] of [
      [0, 0, true],
      [0, 1, true],
      [0, 2, true],
      [0, 3, false],
      [1, 0, true],
      [1, 2, true],
      [1, 3, false],
      [2, 1, true],
      [2, 2, false],
      [2, 3, false],
      [3, 1, true],
      [3, 2, false],
      [3, 3, false],
    ] as Array<[number, number, boolean]>) {
      cases.push({ state: StateType.Follower, index, logTerm, voteFor: None, reject });
    }
    cases.push(
      { state: StateType.Follower, index: 3, logTerm: 2, voteFor: 2, reject: false },
      { state: StateType.Follower, index: 3, logTerm: 2, voteFor: 1, reject: true },
      { state: StateType.Leader, index: 3, logTerm: 3, voteFor: 1, reject: true },
      { state: StateType.PreCandidate, index: 3, logTerm: 3, voteFor: 1, reject: true },
      { state: StateType.Candidate, index: 3, logTerm: 3, voteFor: 1, reject: true },
    );
    for (const type of [MessageType.MsgVote, MessageType.MsgPreVote]) {
      for (const [i, c] of cases.entries()) {
        const s = newTestStorage([1, 2]);
        s.append(entsFrom(1, 2, 2));
        const r = newTestRaft(1, 10, 1, s, { preVote: true });
        const term = Math.max(2, c.logTerm);
        r.term = term;
        r.vote = c.voteFor;
        r.state = c.state;
        r.step(msg({ type, from: 2, to: 1, term, index: c.index, logTerm: c.logTerm }));
        const msgs = readMessages(r);
        const where = `${MessageType[type]} #${i}`;
        expect(msgs, where).toHaveLength(1);
        expect(msgs[0]!.type, where).toBe(
          type === MessageType.MsgVote ? MessageType.MsgVoteResp : MessageType.MsgPreVoteResp,
        );
        expect(msgs[0]!.reject, where).toBe(c.reject);
      }
    }
  });

  it('grants a pre-vote for a later term even after voting, and changes nothing', () => {
    const r = preVoteRaft();
    r.becomeFollower(2, None);
    r.vote = 3; // voted for 3 in term 2
    r.step(msg({ type: MessageType.MsgPreVote, from: 2, to: 1, term: 3, index: 0, logTerm: 0 }));
    expect(show(readMessages(r))).toEqual(['1->2 MsgPreVoteResp Term:3 Log:0/0']);
    // Neither the term nor the vote move on a pre-vote; the timer is not reset either.
    expect(r.term).toBe(2);
    expect(r.vote).toBe(3);
    expect(r.state).toBe(StateType.Follower);
  });

  it('refuses a pre-vote of an older term, telling its own term', () => {
    const r = preVoteRaft();
    r.becomeFollower(5, None);
    r.step(msg({ type: MessageType.MsgPreVote, from: 2, to: 1, term: 4 }));
    expect(show(readMessages(r))).toEqual([
      '1->2 MsgPreVoteResp Term:5 Log:0/0 Rejected (Hint: 0)',
    ]);
  });

  it('a pre-vote does not reset the election timer; a granted vote does', () => {
    const r = preVoteRaft();
    r.becomeFollower(2, None);
    for (let i = 0; i < 5; i++) r.tick();
    r.step(msg({ type: MessageType.MsgPreVote, from: 2, to: 1, term: 3 }));
    expect(r.electionElapsed).toBe(5);
    // A real vote in its own term (no term change, which would reset the timer anyway).
    r.step(msg({ type: MessageType.MsgVote, from: 2, to: 1, term: 2 }));
    advanceMessagesAfterAppend(r);
    expect(r.vote).toBe(2);
    expect(r.electionElapsed).toBe(0);
  });
});

describe('PreVote in a network', () => {
  it('an elected cluster: pre-vote then vote, one term', () => {
    const nt = new Network([null, null, null], { config: { preVote: true } });
    nt.recording = true;
    nt.send(hup(1));
    expect(nt.raft(1).state).toBe(StateType.Leader);
    expect(nt.raft(1).term).toBe(1);
    const kinds = nt.trace.map((l) => l.split(' ')[1]);
    expect(kinds.indexOf('MsgPreVote')).toBeLessThan(kinds.indexOf('MsgVote'));
  });

  for (const checkQuorum of [false, true]) {
    it(`a partitioned node rejoining does not disrupt the leader (checkQuorum ${checkQuorum})`, () => {
      const nt = new Network([null, null, null], { config: { preVote: true, checkQuorum } });
      nt.send(hup(1));
      nt.send(propMsg(1, 'a'));
      nt.isolate(3);
      nt.send(propMsg(1, 'b'));
      // 3 times out again and again; its pre-votes reach nobody, so its term stays.
      for (let i = 0; i < 100; i++) nt.tick(1, [3]);
      expect(nt.raft(3).term).toBe(1);
      expect(nt.raft(3).state).toBe(StateType.PreCandidate);
      nt.recover();
      // Its pre-votes are now refused (its log is behind, and the others have a leader).
      for (let i = 0; i < 50; i++) nt.tick(1);
      expect(nt.leaders()).toEqual([1]);
      for (const id of [1, 2, 3]) {
        expect(nt.raft(id).term, `node ${id}`).toBe(1);
        expect(nt.raft(id).lead, `node ${id}`).toBe(1);
      }
      expect(nt.raft(3).raftLog.committed).toBe(nt.raft(1).raftLog.committed);
    });
  }

  it('without PreVote the same rejoin disrupts: the leader is deposed by the higher term', () => {
    const nt = new Network([null, null, null]);
    nt.send(hup(1));
    nt.isolate(3);
    for (let i = 0; i < 100; i++) nt.tick(1, [3]);
    expect(nt.raft(3).term).toBeGreaterThan(1);
    nt.recover();
    nt.send(hup(3)); // its next election reaches the others
    expect(nt.raft(1).state).not.toBe(StateType.Leader);
    expect(nt.raft(1).term).toBeGreaterThan(1);
  });

  it('a node behind in the log can pre-campaign but not win; an up-to-date one then wins', () => {
    const nt = new Network([null, null, null], { config: { preVote: true } });
    nt.send(hup(1));
    nt.isolate(3);
    nt.send(propMsg(1, 'x'));
    nt.recover();
    nt.isolate(1); // the leader goes away
    nt.send(hup(3));
    // 2 refused (3's log is behind); 1 is unreachable: 3 waits as a pre-candidate, term 1.
    expect(nt.raft(3).state).toBe(StateType.PreCandidate);
    expect(nt.raft(3).term).toBe(1);
    expect(nt.raft(2).term).toBe(1);
    nt.send(hup(2));
    expect(nt.raft(2).state).toBe(StateType.Leader);
    expect(nt.raft(2).term).toBe(2);
  });

  it('a split vote after pre-votes is resolved by randomized timeouts', () => {
    const nt = new Network([null, null, null], { config: { preVote: true } });
    nt.send(hup(1));
    nt.isolate(1);
    // 2 and 3 pre-campaign at the same time: each grants the other's pre-vote (a later term,
    // up-to-date log), so both become candidates of term 2 and split the vote.
    const r2 = nt.raft(2);
    const r3 = nt.raft(3);
    r2.step(hup(2));
    r3.step(hup(3));
    nt.send(...nt.filter([...readMessages(r2), ...readMessages(r3)]));
    expect(r2.state).toBe(StateType.Candidate);
    expect(r3.state).toBe(StateType.Candidate);
    expect(r2.term).toBe(2);
    expect(r3.term).toBe(2);
    let ticks = 0;
    while (nt.leaders().filter((id) => id !== 1).length === 0) {
      nt.tick(1, [2, 3]);
      if (++ticks > 500) throw new Error('split vote never resolved');
    }
    const lead = nt.leaders().find((id) => id !== 1)!;
    expect(nt.raft(lead).term).toBeGreaterThanOrEqual(3);
    expect(nt.raft(lead === 2 ? 3 : 2).lead).toBe(lead);
  });
});
