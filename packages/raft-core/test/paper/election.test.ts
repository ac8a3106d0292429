// The Raft paper, §5.1 (terms) and §5.2 (leader election): one test per claim, as etcd/raft's
// raft_paper_test.go checks them. Each test sets a node up, steps messages or ticks, and
// checks its state and the messages it sends.
import { describe, expect, it } from 'vitest';
import { MessageType, None, type Raft, StateType } from '../../src/index.js';
import { Network } from '../util/network.js';
import {
  advanceMessagesAfterAppend,
  entsFrom,
  idsBySize,
  makeLeader,
  msg,
  newTestRaft,
  newTestStorage,
  readMessages,
  show,
} from '../util/raft.js';
import { seededRandom, withSeed } from '../util/rng.js';

function raft3(id = 1): Raft {
  return newTestRaft(id, 10, 1, newTestStorage([1, 2, 3]));
}

function putInState(r: Raft, state: StateType): void {
  switch (state) {
    case StateType.Follower:
      r.becomeFollower(1, 2);
      break;
    case StateType.Candidate:
      r.becomeCandidate();
      break;
    case StateType.Leader:
      makeLeader(r);
      break;
    default:
      throw new Error('unexpected state');
  }
}

describe('§5.1 terms', () => {
  // "If one server's current term is smaller than the other's, then it updates its current
  // term to the larger value. If a candidate or leader discovers that its term is out of
  // date, it immediately reverts to follower state."
  for (const state of [StateType.Follower, StateType.Candidate, StateType.Leader]) {
    it(`a ${StateType[state]} adopts a larger term from any message and becomes follower`, () => {
      const r = raft3();
      putInState(r, state);
      r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 2 }));
      expect(r.term).toBe(2);
      expect(r.state).toBe(StateType.Follower);
      expect(r.lead).toBe(2);
    });
  }

  // "If a server receives a request with a stale term number, it rejects the request." Like
  // etcd, we ignore it: no state change, no answer (without checkQuorum/preVote).
  it('ignores a request with a stale term', () => {
    const s = newTestStorage([1, 2, 3]);
    s.setHardState({ term: 2, vote: 0, commit: 0 });
    const r = newTestRaft(1, 10, 1, s);
    r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 1, entries: entsFrom(1, 1, 1) }));
    r.step(msg({ type: MessageType.MsgHeartbeat, from: 2, to: 1, term: 1, commit: 1 }));
    r.step(msg({ type: MessageType.MsgVote, from: 2, to: 1, term: 1 }));
    expect(r.term).toBe(2);
    expect(r.lead).toBe(None);
    expect(r.vote).toBe(None);
    expect(r.raftLog.lastIndex()).toBe(0);
    expect(r.raftLog.committed).toBe(0);
    expect(readMessages(r)).toEqual([]);
  });

  // The same rule from the other side: every message type with a higher term demotes a node
  // of any role; only leader messages (MsgApp, MsgHeartbeat, MsgSnap) name the new leader.
  it('every role steps down on any message of a higher term (etcd TestAllServerStepdown)', () => {
    const cases = [
      { state: StateType.Follower, wlastIndex: 0 },
      { state: StateType.PreCandidate, wlastIndex: 0 },
      { state: StateType.Candidate, wlastIndex: 0 },
      { state: StateType.Leader, wlastIndex: 1 },
    ];
    const types = [MessageType.MsgVote, MessageType.MsgApp, MessageType.MsgHeartbeat];
    const tterm = 3;
    for (const c of cases) {
      for (const t of types) {
        const r = raft3();
        switch (c.state) {
          case StateType.Follower:
            r.becomeFollower(1, None);
            break;
          case StateType.PreCandidate:
            r.becomePreCandidate();
            break;
          case StateType.Candidate:
            r.becomeCandidate();
            break;
          case StateType.Leader:
            makeLeader(r);
            break;
        }
        r.step(msg({ type: t, from: 2, to: 1, term: tterm, logTerm: tterm }));
        const where = `${StateType[c.state]} <- ${MessageType[t]}`;
        expect(r.state, where).toBe(StateType.Follower);
        expect(r.term, where).toBe(tterm);
        expect(r.raftLog.lastIndex(), where).toBe(c.wlastIndex);
        expect(r.lead, where).toBe(t === MessageType.MsgVote ? None : 2);
      }
    }
  });
});

describe('§5.2 leader election', () => {
  // "When servers start up, they begin as followers."
  it('a server starts as a follower', () => {
    const r = raft3();
    expect(r.state).toBe(StateType.Follower);
    expect(r.term).toBe(0);
    expect(r.lead).toBe(None);
  });

  // "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries) to all
  // followers in order to maintain their authority."
  it('a leader sends heartbeats to every follower each heartbeat interval', () => {
    const hb = 3;
    const r = newTestRaft(1, 10, hb, newTestStorage([1, 2, 3]));
    makeLeader(r);
    r.appendEntry(entsFrom(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    readMessages(r);
    for (let i = 0; i < hb - 1; i++) r.tick();
    expect(readMessages(r)).toEqual([]);
    r.tick();
    // Heartbeats carry no entries and no log position, and never a commit index the
    // follower may not have (min(match, committed) = 0 here).
    expect(show(readMessages(r))).toEqual([
      '1->2 MsgHeartbeat Term:1 Log:0/0',
      '1->3 MsgHeartbeat Term:1 Log:0/0',
    ]);
  });

  it('heartbeats keep followers from starting elections', () => {
    const nt = new Network([null, null, null]);
    nt.send(msg({ type: MessageType.MsgHup, from: 1, to: 1 }));
    expect(nt.raft(1).state).toBe(StateType.Leader);
    nt.tick(200);
    expect(nt.leaders()).toEqual([1]);
    for (const id of [1, 2, 3]) {
      expect(nt.raft(id).term).toBe(1);
      expect(nt.raft(id).lead).toBe(1);
    }
  });

  // "If a follower receives no communication over a period of time called the election
  // timeout, then it assumes there is no viable leader and begins an election to choose a new
  // leader. To begin an election, a follower increments its current term and transitions to
  // candidate state. It then votes for itself and issues RequestVote RPCs in parallel to each
  // of the other servers in the cluster." And: "if a candidate [...] neither wins nor loses
  // the election [...] each candidate will time out and start a new election by incrementing
  // its term and initiating another round of RequestVote RPCs."
  for (const state of [StateType.Follower, StateType.Candidate]) {
    it(`a ${StateType[state]} starts an election after the election timeout`, () => {
      const et = 10;
      const r = newTestRaft(1, et, 1, newTestStorage([1, 2, 3]));
      putInState(r, state);
      expect(r.term).toBe(1);
      for (let i = 1; i < 2 * et; i++) r.tick();
      advanceMessagesAfterAppend(r);
      expect(r.term).toBe(2);
      expect(r.state).toBe(StateType.Candidate);
      expect(r.vote).toBe(1);
      expect(r.trk.votes.get(1)).toBe(true);
      expect(show(readMessages(r))).toEqual([
        '1->2 MsgVote Term:2 Log:0/0',
        '1->3 MsgVote Term:2 Log:0/0',
      ]);
    });
  }

  // "A candidate wins an election if it receives votes from a majority of the servers in the
  // full cluster for the same term." It loses (steps down) once a majority refused, and stays
  // a candidate while the outcome is open.
  it('a candidate wins with a majority, loses to a majority of refusals, else waits', () => {
    const cases: Array<{ size: number; votes: Array<[number, boolean]>; state: StateType }> = [
      { size: 1, votes: [], state: StateType.Leader },
      {
        size: 3,
        votes: [
          [2, true],
          [3, true],
        ],
        state: StateType.Leader,
      },
      { size: 3, votes: [[2, true]], state: StateType.Leader },
      {
        size: 5,
        votes: [
          [2, true],
          [3, true],
          [4, true],
          [5, true],
        ],
        state: StateType.Leader,
      },
      {
        size: 5,
        votes: [
          [2, true],
          [3, true],
          [4, true],
        ],
        state: StateType.Leader,
      },
      {
        size: 5,
        votes: [
          [2, true],
          [3, true],
        ],
        state: StateType.Leader,
      },
      {
        size: 3,
        votes: [
          [2, false],
          [3, false],
        ],
        state: StateType.Follower,
      },
      {
        size: 5,
        votes: [
          [2, false],
          [3, false],
          [4, false],
          [5, false],
        ],
        state: StateType.Follower,
      },
      {
        size: 5,
        votes: [
          [2, true],
          [3, false],
          [4, false],
          [5, false],
        ],
        state: StateType.Follower,
      },
      { size: 3, votes: [], state: StateType.Candidate },
      { size: 5, votes: [[2, true]], state: StateType.Candidate },
      {
        size: 5,
        votes: [
          [2, false],
          [3, false],
        ],
        state: StateType.Candidate,
      },
      { size: 5, votes: [], state: StateType.Candidate },
    ];
    for (const [i, c] of cases.entries()) {
      const r = newTestRaft(1, 10, 1, newTestStorage(idsBySize(c.size)));
      r.step(msg({ type: MessageType.MsgHup, from: 1, to: 1 }));
      advanceMessagesAfterAppend(r);
      for (const [id, granted] of c.votes) {
        r.step(
          msg({ type: MessageType.MsgVoteResp, from: id, to: 1, term: r.term, reject: !granted }),
        );
      }
      expect(r.state, `#${i}`).toBe(c.state);
      expect(r.term, `#${i}`).toBe(1);
    }
  });

  // "Each server will vote for at most one candidate in a given term, on a first-come-first-
  // served basis."
  it('a follower votes for at most one candidate per term, first come first served', () => {
    const cases = [
      { vote: None, nvote: 2, wreject: false },
      { vote: None, nvote: 3, wreject: false },
      { vote: 2, nvote: 2, wreject: false }, // repeating the vote it cast is fine
      { vote: 3, nvote: 3, wreject: false },
      { vote: 2, nvote: 3, wreject: true },
      { vote: 3, nvote: 2, wreject: true },
    ];
    for (const [i, c] of cases.entries()) {
      const s = newTestStorage([1, 2, 3]);
      s.setHardState({ term: 1, vote: c.vote, commit: 0 });
      const r = newTestRaft(1, 10, 1, s);
      r.step(msg({ type: MessageType.MsgVote, from: c.nvote, to: 1, term: 1 }));
      // Vote responses wait for the vote to be durable.
      expect(r.msgs, `#${i}`).toEqual([]);
      expect(show(r.msgsAfterAppend), `#${i}`).toEqual([
        `1->${c.nvote} MsgVoteResp Term:1 Log:0/0${c.wreject ? ' Rejected (Hint: 0)' : ''}`,
      ]);
      expect(r.vote, `#${i}`).toBe(c.wreject ? c.vote : c.nvote);
    }
  });

  it('two candidates in the same term: the second one is refused by a voter of the first', () => {
    const nt = new Network([null, null, null]);
    // 1 and 2 both campaign in term 1; 3 hears from 1 first.
    const r1 = nt.raft(1);
    const r2 = nt.raft(2);
    r1.step(msg({ type: MessageType.MsgHup, from: 1, to: 1 }));
    r2.step(msg({ type: MessageType.MsgHup, from: 2, to: 2 }));
    const m1 = readMessages(r1);
    const m2 = readMessages(r2);
    const to3from1 = m1.find((m) => m.to === 3)!;
    const to3from2 = m2.find((m) => m.to === 3)!;
    nt.send(to3from1, to3from2);
    expect(nt.raft(3).vote).toBe(1);
    expect(r1.state).toBe(StateType.Leader);
    expect(r2.state).toBe(StateType.Follower); // it learned of 1's leadership via MsgApp
    expect(r2.lead).toBe(1);
  });

  // "While waiting for votes, a candidate may receive an AppendEntries RPC from another
  // server claiming to be leader. If the leader's term [...] is at least as large as the
  // candidate's current term, then the candidate recognizes the leader as legitimate and
  // returns to follower state."
  for (const term of [1, 2]) {
    it(`a candidate falls back to follower on MsgApp from a leader of term ${term}`, () => {
      const r = raft3();
      r.step(msg({ type: MessageType.MsgHup, from: 1, to: 1 }));
      expect(r.state).toBe(StateType.Candidate);
      expect(r.term).toBe(1);
      r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term }));
      expect(r.state).toBe(StateType.Follower);
      expect(r.term).toBe(term);
      expect(r.lead).toBe(2);
    });
  }

  it('a candidate ignores MsgApp of an older term and stays candidate', () => {
    const r = raft3();
    r.becomeFollower(2, None);
    r.step(msg({ type: MessageType.MsgHup, from: 1, to: 1 }));
    expect(r.term).toBe(3);
    r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 2 }));
    expect(r.state).toBe(StateType.Candidate);
    expect(r.term).toBe(3);
  });

  // "Raft uses randomized election timeouts [...] election timeouts are chosen randomly from
  // a fixed interval." Here: [electionTick, 2*electionTick), every value reachable.
  for (const state of [StateType.Follower, StateType.Candidate]) {
    it(`a ${StateType[state]}'s election timeout is random in [et, 2et)`, () => {
      withSeed(`timeout-${StateType[state]}`, (seed) => {
        const et = 10;
        const r = newTestRaft(1, et, 1, newTestStorage([1, 2, 3]), {
          random: seededRandom(seed),
        });
        const seen = new Set<number>();
        for (let round = 0; round < 50 * et; round++) {
          if (state === StateType.Follower) r.becomeFollower(r.term + 1, 2);
          else r.becomeCandidate();
          let time = 0;
          while (readMessages(r).length === 0) {
            r.tick();
            time++;
            if (time > 2 * et) throw new Error(`no election after ${time} ticks`);
          }
          seen.add(time);
        }
        expect(Math.min(...seen)).toBeGreaterThanOrEqual(et);
        expect(Math.max(...seen)).toBeLessThan(2 * et);
        for (let d = et; d < 2 * et; d++) expect(seen.has(d), `timeout ${d} seen`).toBe(true);
      });
    });
  }

  // "[randomization] spreads out the servers so that in most cases only a single server
  // will time out; it wins the election and sends heartbeats before any other server times
  // out." In at most 30% of rounds do several servers time out on the same tick.
  for (const state of [StateType.Follower, StateType.Candidate]) {
    it(`${StateType[state]}s rarely time out on the same tick`, () => {
      withSeed(`nonconflict-${StateType[state]}`, (seed) => {
        const et = 10;
        const size = 5;
        const ids = idsBySize(size);
        const rs = ids.map((id) =>
          newTestRaft(id, et, 1, newTestStorage(ids), { random: seededRandom(seed + id) }),
        );
        let conflicts = 0;
        const rounds = 1000;
        for (let round = 0; round < rounds; round++) {
          for (const r of rs) {
            if (state === StateType.Follower) r.becomeFollower(r.term + 1, None);
            else r.becomeCandidate();
          }
          let timedOut = 0;
          while (timedOut === 0) {
            for (const r of rs) {
              r.tick();
              if (readMessages(r).length > 0) timedOut++;
            }
          }
          if (timedOut > 1) conflicts++;
        }
        expect(conflicts / rounds).toBeLessThanOrEqual(0.3);
      });
    });
  }

  // "[a split vote] will occur [...] when each candidate times out and starts a new election.
  // [...] randomized election timeouts ensure that split votes are rare and that they are
  // resolved quickly."
  it('a split vote leaves no leader, and randomized timeouts then elect exactly one', () => {
    withSeed('split-vote', (seed) => {
      const nt = new Network([null, null, null, null], { config: { random: seededRandom(seed) } });
      const r1 = nt.raft(1);
      const r2 = nt.raft(2);
      r1.step(msg({ type: MessageType.MsgHup, from: 1, to: 1 }));
      r2.step(msg({ type: MessageType.MsgHup, from: 2, to: 2 }));
      const byTo = (ms: ReturnType<typeof readMessages>, to: number) =>
        ms.find((m) => m.to === to)!;
      const m1 = readMessages(r1);
      const m2 = readMessages(r2);
      // 3 hears 1 first, 4 hears 2 first: 2 votes each of 4, a quorum is 3.
      nt.send(byTo(m1, 3), byTo(m2, 4), byTo(m1, 2), byTo(m2, 1), byTo(m1, 4), byTo(m2, 3));
      expect(nt.leaders()).toEqual([]);
      expect(r1.state).toBe(StateType.Follower);
      expect(r2.state).toBe(StateType.Follower);
      expect(r1.term).toBe(1);
      let ticks = 0;
      while (nt.leaders().length === 0) {
        nt.tick();
        if (++ticks > 1000) throw new Error('the split vote was never resolved');
      }
      expect(nt.leaders()).toHaveLength(1);
      const lead = nt.leaders()[0]!;
      const term = nt.raft(lead).term;
      expect(term).toBeGreaterThan(1);
      // A few more rounds: everyone follows that leader in that term.
      nt.tick(30);
      expect(nt.leaders()).toEqual([lead]);
      for (const id of [1, 2, 3, 4]) expect(nt.raft(id).lead).toBe(lead);
    });
  });

  it('a leader is elected in a cluster of 1, 3 and 5 by MsgHup, or by ticking', () => {
    for (const size of [1, 3, 5]) {
      const nt = new Network(Array.from({ length: size }, () => null));
      nt.send(msg({ type: MessageType.MsgHup, from: 1, to: 1 }));
      expect(nt.leaders(), `size ${size} hup`).toEqual([1]);
      const nt2 = new Network(Array.from({ length: size }, () => null));
      nt2.tick(20);
      expect(nt2.leaders(), `size ${size} ticks`).toHaveLength(1);
    }
  });
});
