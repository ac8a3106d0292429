// The Raft paper, §5.4 (safety): the election restriction (§5.4.1), committing entries from
// previous terms (§5.4.2, figure 8), and the properties they buy: leader completeness and
// state machine safety (§5.4.3), checked under random partitions and message loss.
import { describe, expect, it } from 'vitest';
import { type Message, MessageType, type NodeId, StateType, type Term } from '../../src/index.js';
import { Network } from '../util/network.js';
import {
  advanceMessagesAfterAppend,
  entsFrom,
  makeLeader,
  msg,
  newTestRaft,
  newTestStorage,
  propMsg,
  readMessages,
  show,
  termIndex,
} from '../util/raft.js';
import { seededRandom, withSeed } from '../util/rng.js';

const hup = (id: NodeId): Message => msg({ type: MessageType.MsgHup, from: id, to: id });

describe('§5.4.1 election restriction', () => {
  // "The RequestVote RPC implements this restriction: the RPC includes information about the
  // candidate's log" — the index and term of its last entry — and goes to every other server.
  it('a vote request carries the index and term of the last entry, to every peer', () => {
    const cases = [
      { ents: entsFrom(1, 1), wterm: 2 },
      { ents: entsFrom(1, 1, 2), wterm: 3 },
    ];
    for (const c of cases) {
      const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
      r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: c.wterm - 1, entries: c.ents }));
      readMessages(r);
      for (let i = 1; i < 2 * r.electionTimeout; i++) r.tick();
      const last = c.ents[c.ents.length - 1]!;
      expect(show(readMessages(r))).toEqual([
        `1->2 MsgVote Term:${c.wterm} Log:${last.term}/${last.index}`,
        `1->3 MsgVote Term:${c.wterm} Log:${last.term}/${last.index}`,
      ]);
    }
  });

  // "the voter denies its vote if its own log is more up-to-date than that of the candidate.
  // [...] If the logs have last entries with different terms, then the log with the later
  // term is more up-to-date. If the logs end with the same term, then whichever log is longer
  // is more up-to-date."
  it('a voter refuses a candidate whose log is less up to date than its own', () => {
    const cases: Array<{ terms: Term[]; logTerm: Term; index: number; reject: boolean }> = [
      // same last term: the longer log wins, equal length is fine
      { terms: [1], logTerm: 1, index: 1, reject: false },
      { terms: [1], logTerm: 1, index: 2, reject: false },
      { terms: [1, 1], logTerm: 1, index: 1, reject: true },
      // the candidate's last term is later: it wins whatever the lengths
      { terms: [1], logTerm: 2, index: 1, reject: false },
      { terms: [1], logTerm: 2, index: 2, reject: false },
      { terms: [1, 1], logTerm: 2, index: 1, reject: false },
      // the voter's last term is later: refused whatever the lengths
      { terms: [2], logTerm: 1, index: 1, reject: true },
      { terms: [2], logTerm: 1, index: 2, reject: true },
      { terms: [2, 2], logTerm: 1, index: 1, reject: true },
      { terms: [1, 1], logTerm: 1, index: 1, reject: true },
    ];
    for (const [i, c] of cases.entries()) {
      const s = newTestStorage([1, 2]);
      s.append(entsFrom(1, ...c.terms));
      const r = newTestRaft(1, 10, 1, s);
      r.step(
        msg({
          type: MessageType.MsgVote,
          from: 2,
          to: 1,
          term: 3,
          logTerm: c.logTerm,
          index: c.index,
        }),
      );
      const msgs = readMessages(r);
      expect(msgs, `#${i}`).toHaveLength(1);
      expect(msgs[0]!.type, `#${i}`).toBe(MessageType.MsgVoteResp);
      expect(msgs[0]!.reject, `#${i}`).toBe(c.reject);
      // Either way the voter adopts the higher term; it records a vote only when granting.
      expect(r.term, `#${i}`).toBe(3);
      expect(r.vote, `#${i}`).toBe(c.reject ? 0 : 2);
    }
  });

  it('a candidate with a stale log cannot win; an up-to-date one then can', () => {
    const nt = new Network([null, null, null]);
    nt.send(hup(1));
    // While 1 is away, 2 leads term 2 and commits an entry on 2 and 3.
    nt.isolate(1);
    nt.send(hup(2));
    expect(nt.raft(2).state).toBe(StateType.Leader);
    nt.send(propMsg(2, 'y'));
    expect(nt.raft(3).raftLog.committed).toBe(nt.raft(2).raftLog.lastIndex());
    // Now 2 is away; 1 (stale) campaigns in ever higher terms: 3 refuses it every time.
    nt.recover();
    nt.isolate(2);
    nt.raft(1).becomeFollower(nt.raft(1).term, 0); // 1 restarts: no longer leading term 1
    for (let i = 0; i < 3; i++) {
      nt.send(hup(1));
      expect(nt.raft(1).state).not.toBe(StateType.Leader);
    }
    expect(nt.raft(3).vote).not.toBe(1);
    // 3 has the committed entries and wins, with 1's vote.
    nt.send(hup(3));
    expect(nt.raft(3).state).toBe(StateType.Leader);
    expect(nt.raft(1).lead).toBe(3);
  });
});

describe('§5.4.2 committing entries from previous terms', () => {
  // "Raft never commits log entries from previous terms by counting replicas. Only log
  // entries from the leader's current term are committed by counting replicas."
  it('a leader does not commit an older-term entry a majority has, only one of its term', () => {
    const cases = [
      { index: 1, wcommit: 0 },
      { index: 2, wcommit: 0 },
      { index: 3, wcommit: 3 },
    ];
    for (const [i, c] of cases.entries()) {
      const s = newTestStorage([1, 2]);
      s.append(entsFrom(1, 1, 2));
      s.setHardState({ term: 2, vote: 0, commit: 0 });
      const r = newTestRaft(1, 10, 1, s);
      makeLeader(r); // term 3, with its empty entry at index 3
      readMessages(r);
      r.step(propMsg(1, ''));
      r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: r.term, index: c.index }));
      advanceMessagesAfterAppend(r);
      expect(r.raftLog.committed, `#${i}`).toBe(c.wcommit);
    }
  });

  // Figure 8: an entry of an old term stored on a majority can still be overwritten by a
  // future leader — so the leader that re-replicated it must not count it as committed.
  function figure8UpToC(): Network {
    // maxSizePerMsg 0: one entry per MsgApp, so followers can be given index 2 alone.
    const nt = new Network([null, null, null, null, null], { config: { maxSizePerMsg: 0 } });
    nt.send(hup(1)); // S1 leads term 1; index 1 (term 1) is committed everywhere
    for (const id of [1, 2, 3, 4, 5]) expect(nt.raft(id).raftLog.committed).toBe(1);
    // (a) S1 replicates X (index 2, term 1) to S2 only.
    for (const id of [3, 4, 5]) nt.cut(1, id);
    nt.send(propMsg(1, 'X'));
    expect(nt.raft(2).raftLog.lastIndex()).toBe(2);
    // (b) S1 crashes; S5 is elected (term 2) by S3, S4 and itself, and appends its own entry
    // at index 2 (its empty entry of term 2) without replicating it.
    nt.recover();
    nt.isolate(1);
    nt.msgHook = (m) => !(m.from === 5 && m.type === MessageType.MsgApp);
    nt.send(hup(5));
    expect(nt.raft(5).state).toBe(StateType.Leader);
    expect(nt.raft(5).term).toBe(2);
    expect(termIndex(nt.raft(5).raftLog.allEntries())).toEqual([
      [1, 1],
      [2, 2],
    ]);
    // (c) S5 crashes; S1 restarts, is elected (term 3), and replicates X to S3 and S4 — but
    // nothing of its own term 3 (every MsgApp carrying index 3 to a node that has index 2 is
    // lost). X is now on a majority: S1, S2, S3, S4.
    nt.recover();
    nt.isolate(5);
    nt.raft(1).becomeFollower(nt.raft(1).term, 0); // a restart: it no longer leads term 1
    nt.msgHook = (m) =>
      !(
        m.from === 1 &&
        m.type === MessageType.MsgApp &&
        m.entries.some((e) => e.index === 3) &&
        nt.raft(m.to).raftLog.lastIndex() >= 2
      );
    nt.send(hup(1)); // term 2: S3 and S4 voted for S5 in term 2
    expect(nt.raft(1).state).toBe(StateType.Candidate);
    nt.send(hup(1)); // term 3
    expect(nt.raft(1).state).toBe(StateType.Leader);
    expect(nt.raft(1).term).toBe(3);
    return nt;
  }

  it('figure 8 (c)-(d): an old-term entry on a majority is not committed, and is overwritten', () => {
    const nt = figure8UpToC();
    const s1 = nt.raft(1);
    for (const id of [2, 3, 4]) {
      expect(nt.raft(id).raftLog.term(2), `S${id} has X`).toBe(1);
    }
    expect(s1.trk.committed()).toBeGreaterThanOrEqual(2); // a quorum is known to have X...
    expect(s1.raftLog.committed).toBe(1); // ...but X (term 1) is not committed in term 3
    // (d) S1 crashes; S5 (last entry of term 2, later than X's) is elected by S2, S3, S4 and
    // overwrites X everywhere. That is safe only because X was never committed.
    nt.msgHook = null;
    nt.recover();
    nt.isolate(1);
    nt.raft(5).becomeFollower(nt.raft(5).term, 0); // S5 restarts
    nt.send(hup(5)); // term 3: they voted for S1 in term 3
    nt.send(hup(5)); // term 4
    expect(nt.raft(5).state).toBe(StateType.Leader);
    for (const id of [2, 3, 4, 5]) {
      expect(termIndex(nt.raft(id).raftLog.allEntries()), `S${id}`).toEqual([
        [1, 1],
        [2, 2],
        [4, 3],
      ]);
      expect(nt.raft(id).raftLog.committed, `S${id}`).toBe(3);
    }
  });

  it('figure 8 (e): once an entry of its own term is on a majority, both are committed', () => {
    const nt = figure8UpToC();
    const s1 = nt.raft(1);
    nt.msgHook = null;
    nt.tick(1, [1]); // a heartbeat round: S1 catches S2, S3 and S4 up with its term-3 entry
    expect(s1.raftLog.committed).toBe(3);
    // Now S5 cannot be elected: a majority has a later last term than its log.
    nt.recover();
    nt.isolate(1);
    nt.raft(5).becomeFollower(nt.raft(5).term, 0); // S5 restarts
    for (let i = 0; i < 3; i++) {
      nt.send(hup(5));
      expect(nt.raft(5).state).not.toBe(StateType.Leader);
    }
    for (const id of [2, 3, 4]) expect(nt.raft(id).raftLog.term(2), `S${id}`).toBe(1);
    // And whoever leads next keeps X.
    nt.send(hup(2));
    expect(nt.raft(2).state).toBe(StateType.Leader);
    nt.recover();
    nt.send(propMsg(2, 'Y'));
    for (const id of [1, 2, 3, 4, 5]) expect(nt.raft(id).raftLog.term(2), `S${id}`).toBe(1);
  });
});

describe('§5.4.3 leader completeness and state machine safety', () => {
  // "If a log entry is committed in a given term, then that entry will be present in the logs
  // of the leaders for all higher-numbered terms" (Leader Completeness), "if a server has
  // applied a log entry at a given index to its state machine, no other server will ever
  // apply a different log entry for the same index" (State Machine Safety), and "at most one
  // leader can be elected in a given term" (Election Safety). Random partitions, message loss
  // and proposals; the properties are checked after every step.
  it('hold under random partitions, loss and proposals', () => {
    const seeds = 25;
    let elections = 0;
    for (let s = 0; s < seeds; s++) {
      withSeed(`safety-${s}`, (base) => {
        const seed = base + s;
        const rand = seededRandom(seed);
        const ids = [1, 2, 3, 4, 5];
        const nt = new Network(
          ids.map(() => null),
          { seed, config: { random: seededRandom(seed ^ 0x5bd1e995) } },
        );
        /** index -> [term, data, term in which it was first seen committed] */
        const committed = new Map<number, { term: Term; data: string; seenIn: Term }>();
        const leaderOf = new Map<Term, NodeId>();
        let proposals = 0;
        const dec = new TextDecoder();
        const check = (): void => {
          for (const id of ids) {
            const r = nt.raft(id);
            if (r.state === StateType.Leader) {
              const prev = leaderOf.get(r.term);
              if (prev !== undefined && prev !== id) {
                throw new Error(`two leaders in term ${r.term}: ${prev} and ${id}`);
              }
              leaderOf.set(r.term, id);
            }
            // Record (and check) this node's committed prefix.
            const log = r.raftLog;
            const from = Math.max(log.firstIndex(), 1);
            for (const e of log.slice(from, log.committed + 1, Number.MAX_SAFE_INTEGER)) {
              const data = dec.decode(e.data);
              const c = committed.get(e.index);
              if (c === undefined) {
                committed.set(e.index, { term: e.term, data, seenIn: r.term });
              } else if (c.term !== e.term || c.data !== data) {
                throw new Error(
                  `node ${id} committed ${e.term}/${e.index} "${data}", another ${c.term}/${e.index} "${c.data}"`,
                );
              }
            }
          }
          // Every leader of a later term than the one an entry was seen committed in has it.
          for (const id of ids) {
            const r = nt.raft(id);
            if (r.state !== StateType.Leader) continue;
            for (const [index, c] of committed) {
              if (r.term <= c.seenIn) continue;
              const t = r.raftLog.zeroTermOnOutOfBounds(index);
              if (t !== c.term) {
                throw new Error(
                  `leader ${id} of term ${r.term} lacks ${c.term}/${index} (committed by term ${c.seenIn})`,
                );
              }
            }
          }
        };
        const pick = (): NodeId => ids[Math.floor(rand() * ids.length)]!;
        for (let stepNo = 0; stepNo < 800; stepNo++) {
          const x = rand();
          if (x < 0.7) {
            nt.tick(1);
          } else if (x < 0.95) {
            nt.send(propMsg(pick(), `p${proposals++}`));
          } else {
            // A new fault (each lasts ~20 steps, long enough for elections to happen).
            nt.recover();
            const kind = Math.floor(rand() * 4);
            if (kind === 1) {
              // Isolate the leader (if any) or a random node.
              nt.isolate(nt.leaders()[0] ?? pick());
            } else if (kind === 2) {
              const lossy = pick();
              for (const other of ids) {
                if (other === lossy) continue;
                nt.drop(lossy, other, rand() * 0.6);
                nt.drop(other, lossy, rand() * 0.6);
              }
            } else if (kind === 3) {
              // Split into two random sides.
              const side = new Map(ids.map((id) => [id, rand() < 0.5]));
              for (const a of ids) {
                for (const b of ids) if (a < b && side.get(a) !== side.get(b)) nt.cut(a, b);
              }
            }
          }
          check();
        }
        // Heal and let it settle: something got committed, and every log agrees on it.
        nt.recover();
        nt.tick(50);
        check();
        expect(committed.size).toBeGreaterThan(0);
        elections += leaderOf.size;
        expect(nt.leaders()).toHaveLength(1);
      });
    }
    // The faults did their job: leadership changed hands many times.
    expect(elections).toBeGreaterThan(seeds * 3);
  });
});
