// Progress: what a leader knows about one follower (match, next) and its state machine
// (probe, replicate, snapshot). Units of the Progress class, then the transitions as a leader
// drives them (etcd's progress_test.go and the TestSendAppendForProgress* / TestMsgAppResp*
// tests of raft_test.go).
import { describe, expect, it } from 'vitest';
import { Inflights, MessageType, Progress, ProgressStateType, type Raft } from '../src/index.js';
import {
  makeLeader,
  msg,
  newTestRaft,
  newTestStorage,
  nextEnts,
  propMsg,
  readMessages,
  show,
} from './util/raft.js';

const { StateProbe, StateReplicate, StateSnapshot } = ProgressStateType;

function progress(
  state: ProgressStateType,
  match: number,
  next: number,
  opts: { pendingSnapshot?: number; paused?: boolean; inflight?: number } = {},
): Progress {
  const p = new Progress(next, new Inflights(opts.inflight ?? 256), false, match);
  p.state = state;
  p.pendingSnapshot = opts.pendingSnapshot ?? 0;
  p.msgAppFlowPaused = opts.paused ?? false;
  return p;
}

describe('Progress', () => {
  it('isPaused: probe and replicate when flow is paused; snapshot always', () => {
    const cases: Array<[ProgressStateType, boolean, boolean]> = [
      [StateProbe, false, false],
      [StateProbe, true, true],
      [StateReplicate, false, false],
      [StateReplicate, true, true],
      [StateSnapshot, false, true],
      [StateSnapshot, true, true],
    ];
    for (const [state, paused, want] of cases) {
      expect(progress(state, 0, 1, { paused }).isPaused(), `${state} ${paused}`).toBe(want);
    }
  });

  it('an acknowledgement or a rejection resumes a paused probe', () => {
    const p = progress(StateProbe, 0, 2, { paused: true });
    p.maybeDecrTo(1, 1);
    expect(p.msgAppFlowPaused).toBe(false);
    p.msgAppFlowPaused = true;
    p.maybeUpdate(2);
    expect(p.msgAppFlowPaused).toBe(false);
  });

  it('becomeProbe restarts after match, or after the snapshot it was sent', () => {
    const cases: Array<{ p: Progress; wnext: number }> = [
      { p: progress(StateReplicate, 1, 5), wnext: 2 },
      { p: progress(StateSnapshot, 1, 5, { pendingSnapshot: 10 }), wnext: 11 },
      { p: progress(StateSnapshot, 1, 5, { pendingSnapshot: 0 }), wnext: 2 }, // failed snapshot
      { p: progress(StateSnapshot, 12, 13, { pendingSnapshot: 10 }), wnext: 13 },
    ];
    for (const [i, c] of cases.entries()) {
      c.p.inflights.add(4, 1);
      c.p.becomeProbe();
      expect(c.p.state, `#${i}`).toBe(StateProbe);
      expect(c.p.next, `#${i}`).toBe(c.wnext);
      expect(c.p.pendingSnapshot, `#${i}`).toBe(0);
      expect(c.p.inflights.count, `#${i}`).toBe(0);
      expect(c.p.sentCommit, `#${i}`).toBeLessThan(c.p.next);
    }
  });

  it('becomeReplicate sends from match+1; becomeSnapshot waits for the snapshot', () => {
    const p = progress(StateProbe, 1, 5);
    p.becomeReplicate();
    expect([p.state, p.match, p.next]).toEqual([StateReplicate, 1, 2]);
    const s = progress(StateProbe, 1, 5);
    s.becomeSnapshot(10);
    expect([s.state, s.match, s.next, s.pendingSnapshot]).toEqual([StateSnapshot, 1, 11, 10]);
    expect(s.isPaused()).toBe(true);
  });

  it('maybeUpdate moves match (and next) forward only', () => {
    const prevM = 3;
    const prevN = 5;
    const cases: Array<[number, number, number, boolean]> = [
      // update, wmatch, wnext, wok
      [prevM - 1, prevM, prevN, false], // stale
      [prevM, prevM, prevN, false], // same
      [prevM + 1, prevM + 1, prevN, true], // match moves, next stays
      [prevM + 2, prevM + 2, prevN + 1, true], // both move
    ];
    for (const [update, wmatch, wnext, wok] of cases) {
      const p = progress(StateProbe, prevM, prevN);
      expect(p.maybeUpdate(update), `${update}`).toBe(wok);
      expect([p.match, p.next], `${update}`).toEqual([wmatch, wnext]);
    }
  });

  it('maybeDecrTo: replicate falls back to match+1; probe follows the hint of its own probe', () => {
    const cases: Array<{
      state: ProgressStateType;
      m: number;
      n: number;
      rejected: number;
      hint: number;
      w: boolean;
      wn: number;
    }> = [
      // replicate: a rejection at or below match is stale
      { state: StateReplicate, m: 5, n: 10, rejected: 5, hint: 5, w: false, wn: 10 },
      { state: StateReplicate, m: 5, n: 10, rejected: 4, hint: 4, w: false, wn: 10 },
      // otherwise next goes back to match+1
      { state: StateReplicate, m: 5, n: 10, rejected: 9, hint: 9, w: true, wn: 6 },
      // probe: only the answer to the probe at next-1 counts
      { state: StateProbe, m: 0, n: 0, rejected: 0, hint: 0, w: false, wn: 0 },
      { state: StateProbe, m: 5, n: 10, rejected: 5, hint: 5, w: false, wn: 10 },
      // next = min(rejected, hint+1), never at or below match
      { state: StateProbe, m: 5, n: 10, rejected: 9, hint: 9, w: true, wn: 9 },
      { state: StateProbe, m: 0, n: 2, rejected: 1, hint: 1, w: true, wn: 1 },
      { state: StateProbe, m: 0, n: 1, rejected: 0, hint: 0, w: true, wn: 1 },
      { state: StateProbe, m: 0, n: 10, rejected: 9, hint: 2, w: true, wn: 3 },
      { state: StateProbe, m: 0, n: 10, rejected: 9, hint: 0, w: true, wn: 1 },
      { state: StateProbe, m: 4, n: 10, rejected: 9, hint: 1, w: true, wn: 5 },
    ];
    for (const [i, c] of cases.entries()) {
      const p = progress(c.state, c.m, c.n);
      expect(p.maybeDecrTo(c.rejected, c.hint), `#${i}`).toBe(c.w);
      expect(p.match, `#${i}`).toBe(c.m);
      expect(p.next, `#${i}`).toBe(c.wn);
    }
  });

  it('sentEntries: replicate advances next and records an inflight; probe pauses', () => {
    const r = progress(StateReplicate, 5, 6, { inflight: 2 });
    r.sentEntries(3, 30);
    expect([r.next, r.inflights.count, r.inflights.bytes]).toEqual([9, 1, 30]);
    expect(r.isPaused()).toBe(false);
    r.sentEntries(0, 0); // an empty append: nothing in flight
    expect([r.next, r.inflights.count]).toEqual([9, 1]);
    r.sentEntries(1, 10);
    expect(r.isPaused()).toBe(true); // inflights full
    const p = progress(StateProbe, 5, 6);
    p.sentEntries(0, 0);
    expect(p.isPaused()).toBe(false); // an empty probe does not pause
    p.sentEntries(2, 20);
    expect(p.next).toBe(6); // probe does not advance next optimistically
    expect(p.isPaused()).toBe(true);
  });

  it('sentCommit: a commit index is worth sending only if new and usable (< next)', () => {
    const p = progress(StateReplicate, 5, 8);
    p.sentCommitTo(4);
    expect(p.canBumpCommit(4)).toBe(false);
    expect(p.canBumpCommit(6)).toBe(true);
    p.sentCommitTo(7);
    expect(p.canBumpCommit(9)).toBe(false); // the follower could not use more than next-1
    p.maybeDecrTo(7, 7); // back to next = 6: what was sent is clamped below next
    expect(p.sentCommit).toBe(5);
  });

  it('clone copies everything but shares nothing', () => {
    const p = progress(StateReplicate, 5, 8, { pendingSnapshot: 0 });
    p.inflights.add(7, 10);
    p.recentActive = true;
    const c = p.clone();
    expect(c.toString()).toBe(p.toString());
    c.inflights.freeLE(7);
    expect(p.inflights.count).toBe(1);
    const s = p.shallowCopy();
    expect(s.inflights).toBe(p.inflights);
  });
});

describe('Progress as the leader drives it', () => {
  function leader(peers = [1, 2], extra = {}): Raft {
    const r = newTestRaft(1, 5, 1, newTestStorage(peers), extra);
    makeLeader(r);
    return r;
  }

  it("the leader's own progress follows its log", () => {
    const s = newTestStorage([1, 2]);
    const r = newTestRaft(1, 5, 1, s);
    makeLeader(r);
    r.trk.progress.get(2)!.becomeReplicate();
    nextEnts(r, s);
    for (let i = 0; i < 5; i++) {
      r.step(propMsg(1, 'foo'));
      nextEnts(r, s); // persisted: the leader acknowledges its own entries
      const pr = r.trk.progress.get(1)!;
      expect(pr.state).toBe(StateReplicate);
      expect(pr.match).toBe(r.raftLog.lastIndex());
      expect(pr.next).toBe(pr.match + 1);
    }
    expect(r.trk.progress.get(1)!.match).toBe(6);
  });

  it('probe: one MsgApp, then nothing but heartbeats until the follower answers', () => {
    const r = leader();
    readMessages(r);
    const pr = r.trk.progress.get(2)!;
    expect(pr.state).toBe(StateProbe);
    for (let round = 0; round < 3; round++) {
      if (round === 0) {
        r.step(propMsg(1));
        const msgs = readMessages(r);
        expect(msgs).toHaveLength(1);
        expect(msgs[0]!.type).toBe(MessageType.MsgApp);
        expect(msgs[0]!.index).toBe(0);
      }
      expect(pr.isPaused()).toBe(true);
      for (let j = 0; j < 10; j++) {
        r.step(propMsg(1));
        expect(readMessages(r)).toEqual([]);
      }
      r.step(msg({ type: MessageType.MsgBeat, from: 1, to: 1 }));
      expect(pr.isPaused()).toBe(true);
      expect(show(readMessages(r))).toEqual(['1->2 MsgHeartbeat Term:1 Log:0/0']);
    }
    // A heartbeat response resumes the probe: one more MsgApp.
    r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, term: 1 }));
    const msgs = readMessages(r);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.type).toBe(MessageType.MsgApp);
    expect(msgs[0]!.index).toBe(0);
    expect(pr.isPaused()).toBe(true);
  });

  it('replicate: streams MsgApps optimistically until Inflights is full', () => {
    const r = leader([1, 2], { maxInflightMsgs: 4 });
    readMessages(r);
    const pr = r.trk.progress.get(2)!;
    pr.becomeReplicate();
    for (let i = 0; i < 4; i++) {
      r.step(propMsg(1));
      const msgs = readMessages(r); // one Ready per proposal: no merging across them
      expect(msgs, `#${i}`).toHaveLength(1);
      expect(msgs[0]!.entries).toHaveLength(i === 0 ? 2 : 1); // the first carries the empty entry too
    }
    expect(pr.inflights.count).toBe(4);
    expect(pr.isPaused()).toBe(true);
    r.step(propMsg(1));
    expect(readMessages(r)).toEqual([]);
    // An acknowledgement frees inflights, and what waited goes out.
    r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: 1, index: 3 }));
    const msgs = readMessages(r);
    expect(msgs.some((m) => m.type === MessageType.MsgApp && m.entries.length > 0)).toBe(true);
  });

  it('snapshot: no MsgApp while a snapshot is in flight', () => {
    const r = leader();
    readMessages(r);
    const pr = r.trk.progress.get(2)!;
    pr.becomeSnapshot(10);
    for (let i = 0; i < 5; i++) r.step(propMsg(1));
    expect(readMessages(r)).toEqual([]);
  });

  it('a follower that answered leaves the probe wait; one that did not stays in it', () => {
    const s = newTestStorage([1, 2, 3]);
    const r = newTestRaft(1, 5, 1, s);
    makeLeader(r);
    nextEnts(r, s);
    // Node 2 acknowledges the empty entry: it is committed.
    r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: 1, index: 1 }));
    expect(r.raftLog.committed).toBe(1);
    readMessages(r);
    r.step(propMsg(1));
    // Only 2 gets the new entry: 3 is still waiting for its probe's answer.
    let msgs = readMessages(r);
    expect(msgs.map((m) => [m.to, MessageType[m.type], m.entries.map((e) => e.index)])).toEqual([
      [2, 'MsgApp', [2]],
    ]);
    // 3 answers the probe: the wait ends and it gets entry 2.
    r.step(msg({ type: MessageType.MsgAppResp, from: 3, to: 1, term: 1, index: 1 }));
    msgs = readMessages(r);
    expect(msgs.map((m) => [m.to, MessageType[m.type], m.entries.map((e) => e.index)])).toEqual([
      [3, 'MsgApp', [2]],
    ]);
  });

  it('a heartbeat response resumes a paused follower', () => {
    const r = leader([1, 2, 3]);
    readMessages(r);
    const pr = r.trk.progress.get(2)!;
    pr.msgAppFlowPaused = true;
    r.step(msg({ type: MessageType.MsgBeat, from: 1, to: 1 }));
    expect(pr.msgAppFlowPaused).toBe(true);
    readMessages(r);
    r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, term: 1 }));
    // It resumed, and the leader probed at once (which pauses it again until answered).
    const msgs = readMessages(r);
    expect(msgs.filter((m) => m.to === 2).map((m) => MessageType[m.type])).toEqual(['MsgApp']);
  });

  it('an unreachable follower in replicate falls back to probe', () => {
    const r = leader([1, 2]);
    readMessages(r);
    r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: 1, index: 1 }));
    const pr = r.trk.progress.get(2)!;
    expect(pr.state).toBe(StateReplicate);
    r.step(propMsg(1));
    r.step(propMsg(1));
    readMessages(r);
    expect(pr.next).toBe(4);
    r.step(msg({ type: MessageType.MsgUnreachable, from: 2, to: 1 }));
    expect(pr.state).toBe(StateProbe);
    expect(pr.next).toBe(pr.match + 1);
    // In probe already: MsgUnreachable changes nothing.
    r.step(msg({ type: MessageType.MsgUnreachable, from: 2, to: 1 }));
    expect(pr.state).toBe(StateProbe);
  });

  it('a rejected MsgApp in replicate goes back to probe, at the hinted index', () => {
    const r = leader([1, 2]);
    readMessages(r);
    r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: 1, index: 1 }));
    for (let i = 0; i < 3; i++) r.step(propMsg(1));
    readMessages(r);
    const pr = r.trk.progress.get(2)!;
    expect([pr.state, pr.match, pr.next]).toEqual([StateReplicate, 1, 5]);
    // The follower lost entries 2..4 (say it restarted without them): it rejects index 3.
    r.step(
      msg({
        type: MessageType.MsgAppResp,
        from: 2,
        to: 1,
        term: 1,
        index: 3,
        reject: true,
        rejectHint: 1,
        logTerm: 1,
      }),
    );
    expect(pr.state).toBe(StateProbe);
    const msgs = readMessages(r);
    expect(msgs).toHaveLength(1);
    expect([msgs[0]!.index, msgs[0]!.entries.map((e) => e.index)]).toEqual([1, [2, 3, 4]]);
  });
});
