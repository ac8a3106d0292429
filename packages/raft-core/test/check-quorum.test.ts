// CheckQuorum (thesis §6.2) and the leader lease it enables (§4.2.3): a leader that has not
// heard from a quorum within an election timeout steps down, and a node that heard from a
// leader within the minimum election timeout ignores vote requests of higher terms.
import { describe, expect, it } from 'vitest';
import {
  CampaignType,
  type Message,
  MessageType,
  type NodeId,
  None,
  StateType,
} from '../src/index.js';
import { Network } from './util/network.js';
import { makeLeader, msg, newTestRaft, newTestStorage, readMessages, show } from './util/raft.js';

const hup = (id: NodeId): Message => msg({ type: MessageType.MsgHup, from: id, to: id });

function cqRaft(id = 1, voters = [1, 2, 3], learners: number[] = [], extra = {}) {
  return newTestRaft(id, 5, 1, newTestStorage(voters, learners), { checkQuorum: true, ...extra });
}

describe('CheckQuorum: the leader', () => {
  it('steps down after an election timeout without hearing from a quorum', () => {
    const r = cqRaft();
    makeLeader(r);
    for (let i = 0; i < r.electionTimeout; i++) {
      expect(r.state).toBe(StateType.Leader);
      r.tick();
    }
    expect(r.state).toBe(StateType.Follower);
    expect(r.term).toBe(1);
    expect(r.lead).toBe(None);
  });

  it('stays leader while a quorum answers', () => {
    const r = cqRaft();
    makeLeader(r);
    for (let i = 0; i < 10 * r.electionTimeout; i++) {
      r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, term: r.term }));
      r.tick();
    }
    expect(r.state).toBe(StateType.Leader);
  });

  it('counts only voters: a learner answering does not keep it leader', () => {
    const r = cqRaft(1, [1, 2, 3], [4]);
    makeLeader(r);
    for (let i = 0; i < r.electionTimeout; i++) {
      r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 4, to: 1, term: r.term }));
      r.tick();
    }
    expect(r.state).toBe(StateType.Follower);
  });

  it('forgets who was active at each check', () => {
    const r = cqRaft();
    makeLeader(r);
    r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, term: r.term }));
    for (let i = 0; i < r.electionTimeout; i++) r.tick(); // first check: 2 was active
    expect(r.state).toBe(StateType.Leader);
    expect(r.trk.progress.get(2)!.recentActive).toBe(false);
    expect(r.trk.progress.get(1)!.recentActive).toBe(true);
    for (let i = 0; i < r.electionTimeout; i++) r.tick(); // second check: nobody was
    expect(r.state).toBe(StateType.Follower);
  });
});

describe('CheckQuorum: the lease', () => {
  function followerInLease() {
    const r = cqRaft();
    r.becomeFollower(1, 2); // heard from leader 2 just now
    return r;
  }

  for (const type of [MessageType.MsgVote, MessageType.MsgPreVote]) {
    it(`a follower that heard from its leader ignores a higher-term ${MessageType[type]}`, () => {
      const r = followerInLease();
      r.step(msg({ type, from: 3, to: 1, term: 2, index: 5, logTerm: 5 }));
      expect(r.term).toBe(1);
      expect(r.lead).toBe(2);
      expect(readMessages(r)).toEqual([]);
      // Once an election timeout passed without the leader, it answers (and votes).
      r.randomizedElectionTimeout = 2 * r.electionTimeout - 1; // do not campaign meanwhile
      for (let i = 0; i < r.electionTimeout; i++) r.tick();
      r.step(msg({ type, from: 3, to: 1, term: 2, index: 5, logTerm: 5 }));
      const resp = type === MessageType.MsgVote ? 'MsgVoteResp' : 'MsgPreVoteResp';
      expect(show(readMessages(r))).toEqual([`1->3 ${resp} Term:2 Log:0/0`]);
    });
  }

  it('a leader ignores higher-term vote requests within its lease', () => {
    const r = cqRaft();
    makeLeader(r);
    readMessages(r);
    r.step(msg({ type: MessageType.MsgVote, from: 3, to: 1, term: 5, index: 5, logTerm: 5 }));
    expect(r.state).toBe(StateType.Leader);
    expect(r.term).toBe(1);
    expect(readMessages(r)).toEqual([]);
  });

  it('a vote request of a leadership transfer is not held back by the lease', () => {
    const r = followerInLease();
    r.step(
      msg({
        type: MessageType.MsgVote,
        from: 3,
        to: 1,
        term: 2,
        index: 5,
        logTerm: 5,
        context: new TextEncoder().encode(CampaignType.Transfer),
      }),
    );
    expect(r.term).toBe(2);
    expect(r.vote).toBe(3);
  });

  it('without checkQuorum there is no lease', () => {
    const r = newTestRaft(1, 5, 1, newTestStorage([1, 2, 3]));
    r.becomeFollower(1, 2);
    r.step(msg({ type: MessageType.MsgVote, from: 3, to: 1, term: 2, index: 5, logTerm: 5 }));
    expect(r.term).toBe(2);
    expect(r.vote).toBe(3);
  });
});

describe('CheckQuorum in a network', () => {
  it('a candidate cannot supersede a live leader until the lease expires', () => {
    const nt = new Network([null, null, null], { config: { checkQuorum: true } });
    const [a, b, c] = [nt.raft(1), nt.raft(2), nt.raft(3)];
    nt.send(hup(1));
    expect(a.state).toBe(StateType.Leader);
    expect(c.state).toBe(StateType.Follower);
    nt.send(hup(3));
    // a and b heard from the leader recently: they ignore c.
    expect(c.state).toBe(StateType.Candidate);
    expect(a.state).toBe(StateType.Leader);
    expect(b.term).toBe(1);
    // b's lease runs out (no heartbeats reach it meanwhile).
    b.randomizedElectionTimeout = 2 * b.electionTimeout - 1;
    for (let i = 0; i < b.electionTimeout; i++) b.tick();
    readMessages(b);
    nt.send(hup(3));
    expect(c.state).toBe(StateType.Leader);
    expect(a.state).toBe(StateType.Follower); // it heard of the higher term from c
    expect(a.lead).toBe(3);
  });

  it('once every lease has run out, an election succeeds', () => {
    const nt = new Network([null, null, null], { config: { checkQuorum: true } });
    const [a, b, c] = [nt.raft(1), nt.raft(2), nt.raft(3)];
    nt.send(hup(1));
    a.randomizedElectionTimeout = a.electionTimeout + 1;
    b.randomizedElectionTimeout = b.electionTimeout + 2;
    // Time passes for a and b but nothing is delivered: b's lease runs out. (a stays leader:
    // its followers answered the election's MsgApps, and its lease restarted at the check.)
    for (let i = 0; i < a.electionTimeout; i++) {
      a.tick();
      b.tick();
    }
    readMessages(a);
    readMessages(b);
    expect(a.state).toBe(StateType.Leader);
    nt.send(hup(3));
    expect(c.state).toBe(StateType.Leader);
    expect(c.term).toBe(2);
    expect(a.state).toBe(StateType.Follower);
    expect(a.lead).toBe(3);
  });

  it('a candidate stuck at a higher term is freed: the leader learns the term and steps down', () => {
    const nt = new Network([null, null, null], { config: { checkQuorum: true } });
    const [a, b, c] = [nt.raft(1), nt.raft(2), nt.raft(3)];
    nt.send(hup(1));
    nt.isolate(1);
    nt.send(hup(3)); // b ignores it (lease); c is a candidate of term 2
    expect(b.state).toBe(StateType.Follower);
    expect(c.state).toBe(StateType.Candidate);
    expect(c.term).toBe(b.term + 1);
    nt.send(hup(3)); // again: term 3, still stuck
    expect(c.state).toBe(StateType.Candidate);
    expect(c.term).toBe(b.term + 2);
    nt.recover();
    // The leader's heartbeat reaches c, which answers with its higher term (with checkQuorum
    // its vote requests could not depose the leader; this answer does).
    nt.send(msg({ type: MessageType.MsgHeartbeat, from: 1, to: 3, term: a.term }));
    expect(a.state).toBe(StateType.Follower);
    expect(a.term).toBe(c.term);
    // And an election now succeeds.
    nt.send(hup(3));
    expect(c.state).toBe(StateType.Leader);
  });

  it('a follower that timed out just before a heartbeat deposes the leader (no preVote)', () => {
    const nt = new Network([null, null, null], { config: { checkQuorum: true } });
    const [n1, n2, n3] = [nt.raft(1), nt.raft(2), nt.raft(3)];
    nt.send(hup(1));
    n3.randomizedElectionTimeout = n3.electionTimeout + 2;
    for (let i = 0; i < n3.randomizedElectionTimeout; i++) n3.tick();
    // n3 campaigned (its vote requests still queued); the leader's heartbeat arrives late.
    expect(n3.state).toBe(StateType.Candidate);
    expect(n3.term).toBe(2);
    nt.send(msg({ type: MessageType.MsgHeartbeat, from: 1, to: 3, term: n1.term }));
    expect(n1.state).toBe(StateType.Follower);
    expect(n1.term).toBe(2);
    expect(n2.term).toBe(1);
  });

  it('with preVote the same late follower does not depose the leader', () => {
    const nt = new Network([null, null, null], { config: { checkQuorum: true, preVote: true } });
    const [n1, n2, n3] = [nt.raft(1), nt.raft(2), nt.raft(3)];
    nt.send(hup(1));
    n3.randomizedElectionTimeout = n3.electionTimeout + 2;
    for (let i = 0; i < n3.randomizedElectionTimeout; i++) n3.tick();
    expect(n3.state).toBe(StateType.PreCandidate);
    expect(n3.term).toBe(1);
    nt.send(msg({ type: MessageType.MsgHeartbeat, from: 1, to: 3, term: n1.term }));
    expect(n1.state).toBe(StateType.Leader);
    expect(n3.state).toBe(StateType.Follower);
    for (const r of [n1, n2, n3]) expect(r.term).toBe(1);
  });

  it('a partitioned leader steps down; the majority side elects a new one', () => {
    // preVote too: the isolated node's term stays put, so its return disrupts nobody.
    const nt = new Network([null, null, null, null, null], {
      config: { checkQuorum: true, preVote: true },
    });
    nt.send(hup(1));
    nt.isolate(1);
    nt.tick(60);
    expect(nt.raft(1).state).not.toBe(StateType.Leader);
    expect(nt.raft(1).term).toBe(1);
    const leaders = nt.leaders();
    expect(leaders).toHaveLength(1);
    expect(leaders[0]).not.toBe(1);
    nt.recover();
    nt.tick(30);
    expect(nt.leaders()).toEqual(leaders);
    expect(nt.raft(1).lead).toBe(leaders[0]);
  });
});
