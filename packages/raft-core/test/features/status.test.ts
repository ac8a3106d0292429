// status() mirrors etcd's Status: hard and soft state, applied index, transferee, the
// configuration, and on a leader each peer's progress (match, next, state, pendingSnapshot,
// recentActive, isLearner, inflights). basicStatus() is the same without progress and config.
import { describe, expect, it } from 'vitest';
import {
  ConfChangeTransition,
  EMPTY_BYTES,
  ProgressStateType,
  StateType,
} from '../../src/index.js';
import { InteractionEnv, parseConfChanges } from '../util/interaction.js';

function cluster(): InteractionEnv {
  const env = new InteractionEnv();
  env.addNodes(3, {
    voters: [1, 2, 3],
    index: 10,
    config: { maxSizePerMsg: 0, maxInflightMsgs: 4 },
  });
  env.node(1).rawNode.campaign();
  env.stabilize();
  env.addNodes(1, { config: { maxSizePerMsg: 0, maxInflightMsgs: 4 } });
  env.node(1).rawNode.proposeConfChange({
    transition: ConfChangeTransition.ConfChangeTransitionAuto,
    changes: parseConfChanges('l4'),
    context: EMPTY_BYTES,
  });
  env.stabilize();
  return env;
}

describe('status()', () => {
  it('on a leader: every peer`s progress, the config, the hard and soft state', () => {
    const env = cluster();
    const st = env.node(1).rawNode.status();
    expect(st.id).toBe(1);
    expect(st.softState).toEqual({ lead: 1, raftState: StateType.Leader });
    expect(st.hardState).toEqual({ term: 1, vote: 1, commit: 12 });
    expect(st.applied).toBe(12);
    expect(st.leadTransferee).toBe(0);
    expect(st.config).toEqual({
      voters: [1, 2, 3],
      votersOutgoing: [],
      learners: [4],
      learnersNext: [],
      autoLeave: false,
    });
    expect([...st.progress.keys()].sort()).toEqual([1, 2, 3, 4]);
    for (const id of [1, 2, 3, 4]) {
      expect(st.progress.get(id)).toEqual({
        match: 12,
        next: 13,
        state: ProgressStateType.StateReplicate,
        pendingSnapshot: 0,
        recentActive: true,
        isLearner: id === 4,
        inflights: { count: 0, bytes: 0, size: 4 },
      });
    }
  });

  it('shows appends in flight, and frees them as acks arrive', () => {
    const env = cluster();
    env.isolate(3);
    for (const d of ['aa', 'bbb', 'c', 'dddd', 'e']) env.propose(1, d);
    env.processReady(1);
    const pr3 = env.node(1).rawNode.status().progress.get(3)!;
    // Four one-entry appends fill the window of 4; the fifth waits.
    expect(pr3).toMatchObject({ match: 12, next: 17, inflights: { count: 4, bytes: 10, size: 4 } });
    env.stabilize();
    const st = env.node(1).rawNode.status();
    expect(st.progress.get(2)).toMatchObject({
      match: 17,
      next: 18,
      inflights: { count: 0, bytes: 0 },
    });
    expect(st.progress.get(3)).toMatchObject({ match: 12, next: 17, inflights: { count: 4 } });
  });

  it('shows a follower being sent a snapshot, and the transferee of a transfer', () => {
    const env = cluster();
    env.isolate(3);
    env.propose(1, 'x');
    env.stabilize();
    const leader = env.node(1);
    leader.storage.compact(leader.rawNode.raft.raftLog.applied);
    env.blocked.clear();
    env.node(1).rawNode.reportUnreachable(3); // back to probing from match + 1
    env.tick(1, [1]);
    // Heartbeat, its answer, then the probe finds entry 13 compacted: the leader sends a
    // snapshot and waits for n3 to acknowledge it.
    const pr3 = () => leader.rawNode.status().progress.get(3)!;
    for (let i = 0; i < 10 && pr3().state !== ProgressStateType.StateSnapshot; i++)
      env.stabilizeRound([1, 3]);
    expect(pr3()).toMatchObject({
      state: ProgressStateType.StateSnapshot,
      pendingSnapshot: 13,
      match: 12,
    });
    env.stabilize();
    expect(leader.rawNode.status().progress.get(3)).toMatchObject({
      state: ProgressStateType.StateReplicate,
      pendingSnapshot: 0,
      match: 13,
    });
    env.isolate(2);
    leader.rawNode.transferLeader(2);
    expect(leader.rawNode.status().leadTransferee).toBe(2);
  });

  it('marks peers not heard from since the last quorum check as not recently active', () => {
    const env = new InteractionEnv();
    env.addNodes(3, { voters: [1, 2, 3], index: 10, config: { checkQuorum: true } });
    env.node(1).rawNode.campaign();
    env.stabilize();
    env.isolate(3);
    const et = env.node(1).config.electionTick;
    for (let i = 0; i < et; i++) {
      env.tick(1, [1]);
      env.stabilize();
    }
    const st = env.node(1).rawNode.status();
    expect(st.progress.get(1)!.recentActive).toBe(true);
    // The check at the end of the window reset everyone; n2 answered since, n3 did not.
    env.tick(1, [1]);
    env.stabilize();
    const after = env.node(1).rawNode.status();
    expect(after.progress.get(2)!.recentActive).toBe(true);
    expect(after.progress.get(3)!.recentActive).toBe(false);
  });

  it('on a follower: no progress, but the configuration and its leader', () => {
    const env = cluster();
    const st = env.node(4).rawNode.status();
    expect(st.progress.size).toBe(0);
    expect(st.softState).toEqual({ lead: 1, raftState: StateType.Follower });
    expect(st.config.learners).toEqual([4]);
  });

  it('is a snapshot: later changes do not show through, and changing it changes nothing', () => {
    const env = cluster();
    const st = env.node(1).rawNode.status();
    st.progress.get(2)!.match = 999;
    st.config.voters.push(42);
    env.propose(1, 'later');
    env.stabilize();
    expect(st.hardState.commit).toBe(12);
    const now = env.node(1).rawNode.status();
    expect(now.progress.get(2)!.match).toBe(13);
    expect(now.config.voters).toEqual([1, 2, 3]);
  });

  it('basicStatus() is status() without progress and config', () => {
    const env = cluster();
    const basic = env.node(1).rawNode.basicStatus();
    const { progress: _p, config: _c, ...rest } = env.node(1).rawNode.status();
    expect(basic).toEqual(rest);
    expect('progress' in basic).toBe(false);
  });
});
