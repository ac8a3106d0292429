// The raft state machine beyond the paper's sentences: role transitions, dueling and
// conceding candidates, proposals (direct, forwarded, dropped), the leader's handling of
// appends and heartbeat responses, and old messages — the ground etcd/raft's raft_test.go
// covers with its `network`, as our own scenarios.
import { describe, expect, it } from 'vitest';
import {
  ErrProposalDropped,
  type Message,
  MessageType,
  type NodeId,
  None,
  ProgressStateType,
  type Raft,
  RaftError,
  StateType,
  newEntry,
} from '../src/index.js';
import { BlackHole, type NetPeer, Network } from './util/network.js';
import {
  entsFrom,
  logString,
  makeLeader,
  msg,
  newTestRaft,
  newTestStorage,
  propMsg,
  raftWithLog,
  readMessages,
  show,
  termIndex,
} from './util/raft.js';

const hup = (id: NodeId): Message => msg({ type: MessageType.MsgHup, from: id, to: id });

function raft3(id = 1, extra = {}) {
  return newTestRaft(id, 10, 1, newTestStorage([1, 2, 3]), extra);
}

describe('role transitions', () => {
  it('allows exactly the transitions etcd allows', () => {
    const cases: Array<{
      from: StateType;
      to: StateType;
      ok: boolean;
      wterm: number;
      wlead: number;
    }> = [
      { from: StateType.Follower, to: StateType.Follower, ok: true, wterm: 1, wlead: 0 },
      { from: StateType.Follower, to: StateType.PreCandidate, ok: true, wterm: 0, wlead: 0 },
      { from: StateType.Follower, to: StateType.Candidate, ok: true, wterm: 1, wlead: 0 },
      { from: StateType.Follower, to: StateType.Leader, ok: false, wterm: 0, wlead: 0 },
      { from: StateType.PreCandidate, to: StateType.Follower, ok: true, wterm: 0, wlead: 0 },
      { from: StateType.PreCandidate, to: StateType.PreCandidate, ok: true, wterm: 0, wlead: 0 },
      { from: StateType.PreCandidate, to: StateType.Candidate, ok: true, wterm: 1, wlead: 0 },
      { from: StateType.PreCandidate, to: StateType.Leader, ok: true, wterm: 0, wlead: 1 },
      { from: StateType.Candidate, to: StateType.Follower, ok: true, wterm: 0, wlead: 0 },
      { from: StateType.Candidate, to: StateType.PreCandidate, ok: true, wterm: 0, wlead: 0 },
      { from: StateType.Candidate, to: StateType.Candidate, ok: true, wterm: 1, wlead: 0 },
      { from: StateType.Candidate, to: StateType.Leader, ok: true, wterm: 0, wlead: 1 },
      { from: StateType.Leader, to: StateType.Follower, ok: true, wterm: 1, wlead: 0 },
      { from: StateType.Leader, to: StateType.PreCandidate, ok: false, wterm: 0, wlead: 0 },
      { from: StateType.Leader, to: StateType.Candidate, ok: false, wterm: 1, wlead: 0 },
      { from: StateType.Leader, to: StateType.Leader, ok: true, wterm: 0, wlead: 1 },
    ];
    for (const c of cases) {
      const name = `${StateType[c.from]} -> ${StateType[c.to]}`;
      const r = newTestRaft(1, 10, 1, newTestStorage([1]));
      r.state = c.from;
      const go = () => {
        switch (c.to) {
          case StateType.Follower:
            r.becomeFollower(c.wterm, c.wlead);
            break;
          case StateType.PreCandidate:
            r.becomePreCandidate();
            break;
          case StateType.Candidate:
            r.becomeCandidate();
            break;
          case StateType.Leader:
            r.becomeLeader();
            break;
        }
      };
      if (!c.ok) {
        expect(go, name).toThrow(RaftError);
        continue;
      }
      go();
      expect(r.state, name).toBe(c.to);
      expect(r.term, name).toBe(c.wterm);
      expect(r.lead, name).toBe(c.wlead);
    }
  });

  it('a becoming leader appends an empty entry of its term and leads itself', () => {
    const r = raft3();
    makeLeader(r);
    expect(termIndex(r.raftLog.allEntries())).toEqual([[1, 1]]);
    expect(r.lead).toBe(1);
    expect(r.trk.progress.get(1)!.state).toBe(ProgressStateType.StateReplicate);
    // Any conf change in the tail may be pending: none is accepted until it is applied.
    expect(r.pendingConfIndex).toBe(0);
  });

  it('campaigning while leader changes nothing', () => {
    const nt = new Network([null]);
    nt.send(hup(1));
    expect(nt.raft(1).state).toBe(StateType.Leader);
    const term = nt.raft(1).term;
    nt.send(hup(1));
    expect(nt.raft(1).state).toBe(StateType.Leader);
    expect(nt.raft(1).term).toBe(term);
  });

  it('MsgBeat makes only a leader send heartbeats', () => {
    for (const state of [StateType.Leader, StateType.Candidate, StateType.Follower]) {
      const r = raft3();
      r.raftLog.append(entsFrom(1, 0, 1));
      r.term = 1;
      r.state = state;
      if (state === StateType.Leader) r.lead = 1;
      r.step(msg({ type: MessageType.MsgBeat, from: 1, to: 1 }));
      const beats = readMessages(r).filter((m) => m.type === MessageType.MsgHeartbeat);
      expect(beats.length, StateType[state]).toBe(state === StateType.Leader ? 2 : 0);
    }
  });
});

describe('elections in a network', () => {
  it('single node: a candidate, or pre-candidate, wins alone', () => {
    for (const preVote of [false, true]) {
      const nt = new Network([null], { config: { preVote } });
      nt.send(hup(1));
      expect(nt.raft(1).state).toBe(StateType.Leader);
      expect(nt.raft(1).term).toBe(1);
    }
  });

  it('elections with peers down or behind: who wins, and at what term', () => {
    const cases: Array<{
      name: string;
      peers: Array<NetPeer | null>;
      state: StateType;
      term: number;
    }> = [
      { name: 'all up', peers: [null, null, null], state: StateType.Leader, term: 1 },
      { name: 'one down', peers: [null, null, new BlackHole()], state: StateType.Leader, term: 1 },
      {
        name: 'two down',
        peers: [null, new BlackHole(), new BlackHole()],
        state: StateType.Candidate,
        term: 1,
      },
      {
        name: 'two down of four',
        peers: [null, new BlackHole(), new BlackHole(), null],
        state: StateType.Candidate,
        term: 1,
      },
      {
        name: 'two down of five',
        peers: [null, new BlackHole(), new BlackHole(), null, null],
        state: StateType.Leader,
        term: 1,
      },
      // Peers whose logs are more up to date refuse: 1 falls back to follower.
      {
        name: 'both peers more up to date',
        peers: [null, raftWithLog(2, [1, 2, 3], [1]), raftWithLog(3, [1, 2, 3], [1])],
        state: StateType.Follower,
        term: 1,
      },
    ];
    for (const c of cases) {
      const nt = new Network(c.peers);
      nt.send(hup(1));
      expect(nt.raft(1).state, c.name).toBe(c.state);
      expect(nt.raft(1).term, c.name).toBe(c.term);
    }
  });

  it('with preVote, a pre-candidate that cannot win does not raise its term', () => {
    const nt = new Network([null, new BlackHole(), new BlackHole()], { config: { preVote: true } });
    nt.send(hup(1));
    expect(nt.raft(1).state).toBe(StateType.PreCandidate);
    expect(nt.raft(1).term).toBe(0);
  });

  it('dueling candidates: the one with the stale log cannot win; the other does later', () => {
    const nt = new Network([null, null, null]);
    const [a, b, c] = [nt.raft(1), nt.raft(2), nt.raft(3)];
    nt.cut(1, 3);
    nt.send(hup(1)); // 1 wins with 2's vote (term 1), and 2 gets its entry
    nt.send(hup(3)); // 3 only reaches 2, which voted for 1 in term 1: refused
    expect(a.state).toBe(StateType.Leader);
    expect(c.state).toBe(StateType.Candidate);
    nt.recover();
    // 3 campaigns again at term 2: 1 and 2 have the entry of term 1 it lacks: refused, and
    // everyone ends up at term 2 with no leader (until the next election).
    nt.send(hup(3));
    for (const [r, state] of [
      [a, StateType.Follower],
      [b, StateType.Follower],
      [c, StateType.Follower],
    ] as Array<[Raft, StateType]>) {
      expect(r.state).toBe(state);
      expect(r.term).toBe(2);
    }
    expect(termIndex(c.raftLog.allEntries())).toEqual([]);
    expect(termIndex(b.raftLog.allEntries())).toEqual([[1, 1]]);
    expect(b.raftLog.committed).toBe(1);
  });

  it('dueling pre-candidates: the stale one stays a follower at its term', () => {
    const nt = new Network([null, null, null], { config: { preVote: true } });
    const [a, b, c] = [nt.raft(1), nt.raft(2), nt.raft(3)];
    nt.cut(1, 3);
    nt.send(hup(1));
    nt.send(hup(3));
    expect(a.state).toBe(StateType.Leader);
    expect(c.state).toBe(StateType.Follower); // 2 refused the pre-vote: it has a leader
    nt.recover();
    nt.send(hup(3)); // pre-votes refused: its log is behind; nobody's term moves
    expect(a.state).toBe(StateType.Leader);
    expect(b.state).toBe(StateType.Follower);
    expect(c.state).toBe(StateType.Follower);
    for (const r of [a, b, c]) expect(r.term).toBe(1);
  });

  it('a candidate concedes to the leader that the others elected', () => {
    const nt = new Network([null, null, null]);
    nt.isolate(1);
    nt.send(hup(1));
    nt.send(hup(3));
    nt.recover();
    // 3's heartbeat and entry reach 1, which concedes.
    nt.send(msg({ type: MessageType.MsgBeat, from: 3, to: 3 }));
    nt.send(propMsg(3, 'force follower'));
    nt.send(msg({ type: MessageType.MsgBeat, from: 3, to: 3 }));
    expect(nt.raft(1).state).toBe(StateType.Follower);
    expect(nt.raft(1).term).toBe(1);
    for (const id of [1, 2]) expect(logString(nt.raft(id))).toBe(logString(nt.raft(3)));
  });

  it('a node whose term fell behind follows the leader of the later term', () => {
    const nt = new Network([null, null, null]);
    nt.send(hup(1));
    nt.isolate(3);
    nt.send(hup(2)); // 2 leads term 2 with 1
    nt.send(hup(1)); // 1 leads term 3 with 2
    expect(nt.raft(1).state).toBe(StateType.Leader);
    nt.recover();
    // 3 (term 1) hears the term-3 leader: it follows at term 3.
    nt.send(msg({ type: MessageType.MsgBeat, from: 1, to: 1 }));
    expect(nt.raft(3).term).toBe(3);
    expect(nt.raft(3).lead).toBe(1);
  });
});

describe('proposals', () => {
  it('succeed only with a majority up; fail without a leader', () => {
    const cases: Array<{ peers: Array<NetPeer | null>; success: boolean }> = [
      { peers: [null, null, null], success: true },
      { peers: [null, null, new BlackHole()], success: true },
      { peers: [null, new BlackHole(), new BlackHole()], success: false },
      { peers: [null, new BlackHole(), new BlackHole(), null], success: false },
      { peers: [null, new BlackHole(), new BlackHole(), null, null], success: true },
    ];
    for (const [i, c] of cases.entries()) {
      const nt = new Network(c.peers);
      nt.send(hup(1));
      nt.send(propMsg(1, 'somedata'));
      const r = nt.raft(1);
      if (c.success) {
        expect(r.raftLog.committed, `#${i}`).toBe(2);
        // Every live peer has the same log.
        for (const [id, p] of nt.peers) {
          if (p instanceof BlackHole) continue;
          expect(logString(nt.raft(id)), `#${i} node ${id}`).toBe(logString(r));
        }
      } else {
        expect(r.raftLog.committed, `#${i}`).toBe(0);
        expect(r.state, `#${i}`).not.toBe(StateType.Leader);
        // Without a leader the proposal was dropped (and reported as such on a direct step).
        expect(() => r.step(propMsg(1))).toThrow(ErrProposalDropped);
      }
    }
  });

  it('a follower forwards a proposal to the leader', () => {
    for (const peers of [
      [null, null, null],
      [null, null, new BlackHole()],
    ] as Array<Array<NetPeer | null>>) {
      const nt = new Network(peers);
      nt.send(hup(1));
      nt.send(propMsg(2, 'somedata'));
      const r = nt.raft(1);
      expect(r.raftLog.committed).toBe(2);
      expect(new TextDecoder().decode(r.raftLog.allEntries()[1]!.data)).toBe('somedata');
      expect(logString(nt.raft(2))).toBe(logString(r));
    }
  });

  it('with disableProposalForwarding a follower drops proposals', () => {
    const nt = new Network([null, null, null], { config: { disableProposalForwarding: true } });
    nt.send(hup(1));
    expect(() => nt.raft(2).step(propMsg(2))).toThrow(ErrProposalDropped);
    expect(nt.raft(1).raftLog.lastIndex()).toBe(1);
  });

  it('the leader advances next optimistically only in StateReplicate', () => {
    for (const [state, wnext] of [
      [ProgressStateType.StateReplicate, 6], // 3 old entries + empty + proposal + 1
      [ProgressStateType.StateProbe, 2],
    ] as Array<[ProgressStateType, number]>) {
      const r = newTestRaft(1, 10, 1, newTestStorage([1, 2]));
      r.raftLog.append(entsFrom(1, 1, 1, 1));
      makeLeader(r);
      const pr = r.trk.progress.get(2)!;
      pr.state = state;
      pr.next = 2;
      r.step(propMsg(1));
      expect(pr.next, ProgressStateType[state]).toBe(wnext);
    }
  });
});

describe('the leader handling responses', () => {
  /** A leader of term 1 over a log of terms [0, 1], its empty entry at 3; 2 probes at 3. */
  function leaderOf3() {
    const s = newTestStorage([1, 2, 3]);
    s.append([newEntry({ index: 1, term: 0 }), newEntry({ index: 2, term: 1 })]);
    const r = newTestRaft(1, 10, 1, s);
    makeLeader(r); // term 1, entry 3
    readMessages(r);
    return r;
  }

  it('MsgAppResp: stale, rejected, accepted, and an ack of a probe at match', () => {
    const cases: Array<{
      name: string;
      index: number;
      reject: boolean;
      wmatch: number;
      wnext: number;
      wmsgs: number;
      windex: number;
      wcommit: number;
    }> = [
      {
        name: 'stale rejection',
        index: 3,
        reject: true,
        wmatch: 0,
        wnext: 3,
        wmsgs: 0,
        windex: 0,
        wcommit: 0,
      },
      // a rejection of the probe: next goes back, and a lower probe is sent
      {
        name: 'rejection',
        index: 2,
        reject: true,
        wmatch: 0,
        wnext: 2,
        wmsgs: 1,
        windex: 1,
        wcommit: 0,
      },
      // an acknowledgement: 2 replicates, index 2 commits, both followers hear of it
      {
        name: 'acceptance',
        index: 2,
        reject: false,
        wmatch: 2,
        wnext: 4,
        wmsgs: 2,
        windex: 2,
        wcommit: 2,
      },
      // a probe answered at match (0): replicate, and everything is sent at once
      {
        name: 'ack at match',
        index: 0,
        reject: false,
        wmatch: 0,
        wnext: 4,
        wmsgs: 1,
        windex: 0,
        wcommit: 0,
      },
    ];
    for (const c of cases) {
      const r = leaderOf3();
      const pr = r.trk.progress.get(2)!;
      r.step(
        msg({
          type: MessageType.MsgAppResp,
          from: 2,
          to: 1,
          term: r.term,
          index: c.index,
          reject: c.reject,
          rejectHint: c.index,
        }),
      );
      expect([pr.match, pr.next], c.name).toEqual([c.wmatch, c.wnext]);
      const msgs = readMessages(r);
      expect(msgs.length, c.name).toBe(c.wmsgs);
      for (const m of msgs) {
        expect(m.index, c.name).toBe(c.windex);
        expect(m.commit, c.name).toBe(c.wcommit);
      }
    }
  });

  it('MsgHeartbeatResp from a follower that is behind resends the append', () => {
    const s = newTestStorage([1, 2]);
    s.append(entsFrom(1, 1, 2, 3));
    s.setHardState({ term: 3, vote: 0, commit: 0 });
    const r = newTestRaft(1, 5, 1, s);
    makeLeader(r);
    r.raftLog.commitTo(r.raftLog.lastIndex());
    readMessages(r);
    // 2 in probe, behind: each heartbeat response triggers a MsgApp.
    for (let i = 0; i < 2; i++) {
      r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, term: r.term }));
      expect(
        readMessages(r).map((m) => MessageType[m.type]),
        `#${i}`,
      ).toEqual(['MsgApp']);
    }
    // Once it acknowledged everything, heartbeat responses send nothing.
    r.step(
      msg({
        type: MessageType.MsgAppResp,
        from: 2,
        to: 1,
        term: r.term,
        index: r.raftLog.lastIndex(),
      }),
    );
    readMessages(r);
    r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, term: r.term }));
    expect(readMessages(r)).toEqual([]);
  });

  it("an old leader's late MsgApp is ignored; the logs stay consistent", () => {
    const nt = new Network([null, null, null]);
    nt.send(hup(1)); // term 1
    nt.send(hup(2)); // term 2
    nt.send(hup(1)); // term 3
    // A MsgApp of term 2, from 2, arrives late at the term-3 leader.
    nt.send(
      msg({
        type: MessageType.MsgApp,
        from: 2,
        to: 1,
        term: 2,
        entries: [newEntry({ index: 3, term: 2 })],
      }),
    );
    nt.send(propMsg(1, 'somedata'));
    const r = nt.raft(1);
    expect(termIndex(r.raftLog.allEntries())).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [3, 4],
    ]);
    expect(r.raftLog.committed).toBe(4);
    for (const id of [2, 3]) expect(logString(nt.raft(id))).toBe(logString(r));
  });
});

describe('commit rules in a network', () => {
  it('a new leader cannot commit an old entry without an entry of its own term', () => {
    const nt = new Network([null, null, null, null, null]);
    nt.send(hup(1));
    // Only 1 and 2 get these two entries.
    for (const id of [3, 4, 5]) nt.cut(1, id);
    nt.send(propMsg(1, 'a'));
    nt.send(propMsg(1, 'b'));
    expect(nt.raft(1).raftLog.committed).toBe(1);
    nt.recover();
    // 1 loses connectivity to everyone; 2 becomes leader of term 2 with 3, 4, 5...
    nt.ignore(MessageType.MsgApp);
    nt.send(hup(2));
    expect(nt.raft(2).state).toBe(StateType.Leader);
    // ... and, with MsgApps lost, cannot commit the term-1 entries, nor its own empty entry.
    expect(nt.raft(2).raftLog.committed).toBe(1);
    nt.recover();
    // Once appends flow, its own entry commits, and the old ones with it.
    nt.send(msg({ type: MessageType.MsgBeat, from: 2, to: 2 }));
    nt.send(propMsg(2, 'c'));
    expect(nt.raft(2).raftLog.committed).toBe(5);
  });

  it("a new leader commits the previous terms' entries with its first entry", () => {
    const nt = new Network([null, null, null, null, null]);
    nt.send(hup(1));
    for (const id of [3, 4, 5]) nt.cut(1, id);
    nt.send(propMsg(1, 'a'));
    nt.send(propMsg(1, 'b'));
    expect(nt.raft(1).raftLog.committed).toBe(1);
    nt.recover();
    // 2's election appends its empty entry, which commits everything before it.
    nt.send(hup(2));
    expect(nt.raft(2).raftLog.committed).toBe(4);
  });

  it('a single node commits each proposal at once', () => {
    const nt = new Network([null]);
    nt.send(hup(1));
    nt.send(propMsg(1, 'a'));
    nt.send(propMsg(1, 'b'));
    expect(nt.raft(1).raftLog.committed).toBe(3);
  });

  it('commits the largest index a majority matched, if it is of the current term', () => {
    const cases: Array<{ matches: number[]; terms: number[]; term: number; want: number }> = [
      // single
      { matches: [1], terms: [1], term: 1, want: 1 },
      { matches: [1], terms: [1], term: 2, want: 0 },
      { matches: [2], terms: [1, 2], term: 2, want: 2 },
      { matches: [1], terms: [2], term: 2, want: 1 },
      // odd
      { matches: [2, 1, 1], terms: [1, 2], term: 1, want: 1 },
      { matches: [2, 1, 1], terms: [1, 1], term: 2, want: 0 },
      { matches: [2, 1, 2], terms: [1, 2], term: 2, want: 2 },
      { matches: [2, 1, 2], terms: [1, 1], term: 2, want: 0 },
      // even
      { matches: [2, 1, 1, 1], terms: [1, 2], term: 1, want: 1 },
      { matches: [2, 1, 1, 1], terms: [1, 1], term: 2, want: 0 },
      { matches: [2, 1, 1, 2], terms: [1, 2], term: 1, want: 1 },
      { matches: [2, 1, 1, 2], terms: [1, 1], term: 2, want: 0 },
      { matches: [2, 1, 2, 2], terms: [1, 2], term: 2, want: 2 },
      { matches: [2, 1, 2, 2], terms: [1, 1], term: 2, want: 0 },
    ];
    for (const [i, c] of cases.entries()) {
      const ids = c.matches.map((_, k) => k + 1);
      const s = newTestStorage(ids);
      s.append(entsFrom(1, ...c.terms));
      s.setHardState({ term: c.term, vote: 0, commit: 0 });
      const r = newTestRaft(1, 10, 1, s);
      c.matches.forEach((m, k) => {
        const pr = r.trk.progress.get(k + 1)!;
        pr.match = m;
        pr.next = m + 1;
      });
      r.maybeCommit();
      expect(r.raftLog.committed, `#${i}`).toBe(c.want);
    }
  });
});

describe('followers handling MsgApp and heartbeats', () => {
  it('handleAppendEntries: mismatches rejected; commits up to the last new entry', () => {
    // Log [1/1, 2/2], term 2.
    const cases: Array<{
      m: Partial<Message>;
      windex: number;
      wcommit: number;
      wreject: boolean;
    }> = [
      // the previous entry does not match, or does not exist
      { m: { logTerm: 3, index: 2, commit: 3 }, windex: 2, wcommit: 0, wreject: true },
      { m: { logTerm: 3, index: 3, commit: 3 }, windex: 2, wcommit: 0, wreject: true },
      // matches: append, commit min(commit, last new)
      { m: { logTerm: 1, index: 1, commit: 1 }, windex: 2, wcommit: 1, wreject: false },
      {
        m: { logTerm: 0, index: 0, commit: 1, entries: entsFrom(1, 2) },
        windex: 1,
        wcommit: 1,
        wreject: false,
      },
      {
        m: { logTerm: 2, index: 2, commit: 3, entries: entsFrom(3, 2, 2) },
        windex: 4,
        wcommit: 3,
        wreject: false,
      },
      {
        m: { logTerm: 2, index: 2, commit: 4, entries: entsFrom(3, 2) },
        windex: 3,
        wcommit: 3,
        wreject: false,
      },
      {
        m: { logTerm: 1, index: 1, commit: 4, entries: entsFrom(2, 2) },
        windex: 2,
        wcommit: 2,
        wreject: false,
      },
      // commit never beyond the last entry the message vouches for
      { m: { logTerm: 1, index: 1, commit: 3 }, windex: 2, wcommit: 1, wreject: false },
      {
        m: { logTerm: 1, index: 1, commit: 3, entries: entsFrom(2, 2) },
        windex: 2,
        wcommit: 2,
        wreject: false,
      },
      { m: { logTerm: 2, index: 2, commit: 3 }, windex: 2, wcommit: 2, wreject: false },
      { m: { logTerm: 2, index: 2, commit: 4 }, windex: 2, wcommit: 2, wreject: false },
    ];
    for (const [i, c] of cases.entries()) {
      const s = newTestStorage([1, 2]);
      s.append(entsFrom(1, 1, 2));
      const r = newTestRaft(1, 10, 1, s);
      r.becomeFollower(2, 2);
      r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 2, ...c.m }));
      expect(r.raftLog.lastIndex(), `#${i}`).toBe(c.windex);
      expect(r.raftLog.committed, `#${i}`).toBe(c.wcommit);
      const resp = readMessages(r);
      expect(resp, `#${i}`).toHaveLength(1);
      expect(resp[0]!.reject, `#${i}`).toBe(c.wreject);
    }
  });

  it('a MsgApp below the commit index is answered with the commit index', () => {
    const s = newTestStorage([1, 2]);
    s.append(entsFrom(1, 1, 1, 1));
    s.setHardState({ term: 1, vote: 0, commit: 3 });
    const r = newTestRaft(1, 10, 1, s);
    r.becomeFollower(1, 2);
    r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 1, index: 1, logTerm: 1 }));
    expect(show(readMessages(r))).toEqual(['1->2 MsgAppResp Term:1 Log:0/3']);
  });

  it('with checkQuorum or preVote, a stale leader is told the newer term', () => {
    for (const extra of [{ checkQuorum: true }, { preVote: true }, {}]) {
      const r = raft3(1, extra);
      r.becomeFollower(5, None);
      r.step(msg({ type: MessageType.MsgHeartbeat, from: 2, to: 1, term: 3 }));
      const out = show(readMessages(r));
      if (Object.keys(extra).length === 0) expect(out).toEqual([]);
      else expect(out).toEqual(['1->2 MsgAppResp Term:5 Log:0/0']);
    }
  });
});
