// Membership changes: validation of proposed changes, applyConfChange and the ConfState it
// returns, stepDownOnRemoval, learners, and the scenarios of Raft thesis chapter 4 (removing
// the leader, adding a server far behind, joint configurations where one half lacks a
// majority, a change proposed across a change of leader). The step-by-step protocol traces
// are in testdata/confchange_*.txt; these tests assert outcomes.
import { describe, expect, it } from 'vitest';
import {
  type ConfChangeV2,
  ConfChangeTransition,
  ConfChangeType,
  EMPTY_BYTES,
  EntryType,
  ErrInvalidConfChange,
  ErrProposalDropped,
  MemoryStorage,
  MessageType,
  RawNode,
  StateType,
  encodeConfChangeV2,
  newConfState,
  newMessage,
} from '../../src/index.js';
import {
  type AddNodesOptions,
  type EnvNode,
  InteractionEnv,
  parseConfChanges,
} from '../util/interaction.js';

function v2(
  changes: string,
  transition = ConfChangeTransition.ConfChangeTransitionAuto,
): ConfChangeV2 {
  return { transition, changes: parseConfChanges(changes), context: EMPTY_BYTES };
}
const EXPLICIT = ConfChangeTransition.ConfChangeTransitionJointExplicit;
const IMPLICIT = ConfChangeTransition.ConfChangeTransitionJointImplicit;

/** n voters bootstrapped at index 2, node 1 elected; `extra` empty nodes added after. */
function cluster(n: number, opts: AddNodesOptions = {}, extra = 0): InteractionEnv {
  const env = new InteractionEnv();
  const voters = Array.from({ length: n }, (_, i) => i + 1);
  env.addNodes(n, { voters, index: 2, ...opts });
  env.node(1).rawNode.campaign();
  env.stabilize();
  if (extra > 0) env.addNodes(extra, opts.config ? { config: opts.config } : {});
  return env;
}

const lastEntry = (n: EnvNode) => {
  const ents = n.rawNode.raft.raftLog.allEntries();
  return ents[ents.length - 1]!;
};
const confState = (n: EnvNode) => n.rawNode.raft.trk.confState();
const state = (n: EnvNode) => n.rawNode.raft.state;

/** Ticks every node once and stabilizes, `rounds` times (messages on blocked links drop). */
function run(env: InteractionEnv, rounds: number): void {
  for (let i = 0; i < rounds; i++) {
    env.tick(1);
    env.stabilize();
  }
}

describe('validation of proposed conf changes (on the leader)', () => {
  it('allows one pending change at a time: a second one before the first is applied becomes an empty entry', () => {
    const env = cluster(3, {}, 2);
    const leader = env.node(1);
    leader.rawNode.proposeConfChange(v2('l4'));
    expect(lastEntry(leader).type).toBe(EntryType.EntryConfChangeV2);
    // Not an error for the proposer (etcd's behaviour), but not a conf change either.
    leader.rawNode.proposeConfChange(v2('l5'));
    const refused = lastEntry(leader);
    expect(refused.type).toBe(EntryType.EntryNormal);
    expect(refused.data.length).toBe(0);
    env.stabilize();
    expect(confState(leader).learners).toEqual([4]);
    // Applied: the next change is accepted.
    leader.rawNode.proposeConfChange(v2('l5'));
    expect(lastEntry(leader).type).toBe(EntryType.EntryConfChangeV2);
    env.stabilize();
    expect(confState(leader).learners).toEqual([4, 5]);
    for (const id of [2, 3, 4, 5]) expect(confState(env.node(id))).toEqual(confState(leader));
  });

  it('counts a change as pending from the moment it is proposed, even within one MsgProp', () => {
    const env = cluster(3, {}, 2);
    const leader = env.node(1);
    const entry = (cc: ConfChangeV2) => ({
      term: 0,
      index: 0,
      type: EntryType.EntryConfChangeV2,
      data: encodeConfChangeV2(cc),
    });
    leader.rawNode.step(
      newMessage({
        type: MessageType.MsgProp,
        from: 1,
        entries: [entry(v2('l4')), entry(v2('l5'))],
      }),
    );
    const ents = leader.rawNode.raft.raftLog.allEntries();
    expect(ents.slice(-2).map((e) => e.type)).toEqual([
      EntryType.EntryConfChangeV2,
      EntryType.EntryNormal,
    ]);
    env.stabilize();
    expect(confState(leader).learners).toEqual([4]);
  });

  it('refuses anything but leaving while joint, and refuses leaving when not joint', () => {
    const env = cluster(3, {}, 1);
    const leader = env.node(1);
    leader.rawNode.proposeConfChange(v2('v4', EXPLICIT));
    env.stabilize();
    expect(confState(leader)).toMatchObject({
      voters: [1, 2, 3, 4],
      votersOutgoing: [1, 2, 3],
      autoLeave: false,
    });
    leader.rawNode.proposeConfChange(v2('r2'));
    expect(lastEntry(leader).type).toBe(EntryType.EntryNormal);
    // The empty ConfChangeV2 leaves the joint configuration.
    leader.rawNode.proposeConfChange(v2(''));
    expect(lastEntry(leader).type).toBe(EntryType.EntryConfChangeV2);
    env.stabilize();
    expect(confState(leader)).toMatchObject({ voters: [1, 2, 3, 4], votersOutgoing: [] });
    // Not joint any more: an empty change is refused.
    leader.rawNode.proposeConfChange(v2(''));
    expect(lastEntry(leader).type).toBe(EntryType.EntryNormal);
  });

  it('with disableConfChangeValidation, the leader appends whatever is proposed', () => {
    const env = cluster(3, { config: { disableConfChangeValidation: true } }, 2);
    const leader = env.node(1);
    leader.rawNode.proposeConfChange(v2('l4'));
    leader.rawNode.proposeConfChange(v2('l5'));
    expect(lastEntry(leader).type).toBe(EntryType.EntryConfChangeV2);
    env.stabilize();
    expect(confState(leader).learners).toEqual([4, 5]);
  });

  it('a conf change proposal is refused like any other while a transfer is in progress', () => {
    const env = cluster(3, {}, 1);
    env.isolate(3);
    env.propose(1, 'x');
    env.stabilize();
    env.blocked.clear();
    env.node(1).rawNode.transferLeader(3);
    expect(() => env.node(1).rawNode.proposeConfChange(v2('l4'))).toThrow(ErrProposalDropped);
  });
});

describe('applyConfChange', () => {
  function single(voters: number[]): RawNode {
    const storage = new MemoryStorage();
    storage.applySnapshot({
      data: EMPTY_BYTES,
      metadata: { index: 1, term: 1, confState: newConfState({ voters }) },
    });
    return new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage, applied: 1 });
  }

  it('returns the ConfState of each resulting configuration', () => {
    const rn = single([1]);
    expect(
      rn.applyConfChange({
        type: ConfChangeType.ConfChangeAddNode,
        nodeId: 2,
        context: EMPTY_BYTES,
        id: 0,
      }),
    ).toEqual(newConfState({ voters: [1, 2] }));
    expect(rn.applyConfChange(v2('l3'))).toEqual(newConfState({ voters: [1, 2], learners: [3] }));
    // Promote 3 and remove 2 at once: joint, left explicitly.
    expect(rn.applyConfChange(v2('v3 r2', EXPLICIT))).toEqual(
      newConfState({ voters: [1, 3], votersOutgoing: [1, 2] }),
    );
    expect(rn.applyConfChange(v2(''))).toEqual(newConfState({ voters: [1, 3] }));
    // Demote 1 while adding 2: 1 keeps voting in the outgoing half until the joint state is
    // left, so it is staged in learnersNext.
    expect(rn.applyConfChange(v2('l1 v2', IMPLICIT))).toEqual(
      newConfState({ voters: [2, 3], votersOutgoing: [1, 3], learnersNext: [1], autoLeave: true }),
    );
    expect(rn.applyConfChange(v2(''))).toEqual(newConfState({ voters: [2, 3], learners: [1] }));
    expect(rn.status().config).toEqual({
      voters: [2, 3],
      votersOutgoing: [],
      learners: [1],
      learnersNext: [],
      autoLeave: false,
    });
  });

  it('throws ErrInvalidConfChange for an impossible change and leaves the config as it was', () => {
    const rn = single([1, 2]);
    const before = rn.status().config;
    expect(() => rn.applyConfChange(v2(''))).toThrow(ErrInvalidConfChange); // not joint
    expect(() => rn.applyConfChange(v2('r1 r2'))).toThrow(ErrInvalidConfChange); // no voters left
    rn.applyConfChange(v2('v3', EXPLICIT));
    expect(() => rn.applyConfChange(v2('v4'))).toThrow(ErrInvalidConfChange); // joint
    expect(() => rn.applyConfChange(v2('v4', EXPLICIT))).toThrow(ErrInvalidConfChange);
    rn.applyConfChange(v2(''));
    expect(rn.status().config).toEqual({ ...before, voters: [1, 2, 3] });
  });

  it('a removal of an unknown node, or an update, changes nothing', () => {
    const rn = single([1, 2]);
    expect(rn.applyConfChange(v2('r7'))).toEqual(newConfState({ voters: [1, 2] }));
    expect(rn.applyConfChange(v2('u2'))).toEqual(newConfState({ voters: [1, 2] }));
  });
});

describe('stepDownOnRemoval', () => {
  it('is on by default: a leader demoted to learner steps down and cannot campaign', () => {
    const env = cluster(3);
    env.node(1).rawNode.proposeConfChange(v2('l1'));
    env.stabilize();
    const n1 = env.node(1);
    expect(state(n1)).toBe(StateType.Follower);
    expect(n1.rawNode.raft.isLearner).toBe(true);
    expect(confState(env.node(2))).toMatchObject({ voters: [2, 3], learners: [1] });
    run(env, 30);
    const [leader] = env.leaders();
    expect([2, 3]).toContain(leader?.id);
    expect(env.leaders()).toHaveLength(1);
    // The learner still replicates.
    env.propose(leader!.id, 'after');
    env.stabilize();
    expect(n1.applied).toEqual(['after']);
  });

  it('when off, a demoted leader keeps leading (and replicating) until told otherwise', () => {
    const env = cluster(3, { config: { stepDownOnRemoval: false } });
    env.node(1).rawNode.proposeConfChange(v2('l1'));
    env.stabilize();
    expect(state(env.node(1))).toBe(StateType.Leader);
    expect(env.node(1).rawNode.raft.isLearner).toBe(true);
    // A learner-leader is still a member: it takes proposals, and the voters (2 3) commit.
    expect(env.propose(1, 'still')).toBeUndefined();
    env.stabilize();
    expect(env.node(2).applied).toEqual(['still']);
  });
});

describe('learners', () => {
  it('never count toward the commit index', () => {
    const env = cluster(3, {}, 2);
    env.node(1).rawNode.proposeConfChange(v2('l4 l5'));
    env.stabilize();
    expect(confState(env.node(1))).toMatchObject({ voters: [1, 2, 3], learners: [4, 5] });
    const committed = env.node(1).rawNode.raft.raftLog.committed;
    env.isolate(2);
    env.isolate(3);
    env.propose(1, 'x');
    env.stabilize();
    const st = env.node(1).rawNode.status();
    // Both learners hold the entry; with the leader that is 3 of 5 members, but 1 of 3 voters.
    expect(st.progress.get(4)!.match).toBe(committed + 1);
    expect(st.progress.get(5)!.match).toBe(committed + 1);
    expect(st.hardState.commit).toBe(committed);
    env.blocked.clear();
    env.tick(1, [1]);
    env.stabilize();
    expect(env.node(1).rawNode.status().hardState.commit).toBe(committed + 1);
  });

  it('are not asked for votes, and a vote from one is not counted', () => {
    const env = cluster(3, {}, 2);
    env.node(1).rawNode.proposeConfChange(v2('l4 l5'));
    env.stabilize();
    // n3 campaigns while n1 and n2 are unreachable.
    env.isolate(1);
    env.isolate(2);
    env.trace = [];
    env.node(3).rawNode.campaign();
    env.stabilize();
    const requests = env.trace.filter((m) => m.type === MessageType.MsgVote);
    expect(requests.map((m) => m.to)).toEqual([1, 2]);
    // A learner that answers anyway (say, it does not yet know it was demoted) is ignored.
    const n3 = env.node(3).rawNode;
    const term = n3.raft.term;
    for (const from of [4, 5])
      n3.step(newMessage({ type: MessageType.MsgVoteResp, from, to: 3, term }));
    expect(n3.raft.state).toBe(StateType.Candidate);
    expect(n3.raft.trk.tallyVotes()).toMatchObject({ granted: 1, rejected: 0 });
  });

  it('never campaign, however long they go without a leader', () => {
    const env = cluster(3, {}, 1);
    env.node(1).rawNode.proposeConfChange(v2('l4'));
    env.stabilize();
    env.isolate(4);
    env.trace = [];
    run(env, 50);
    expect(env.trace.filter((m) => m.from === 4)).toEqual([]);
    expect(state(env.node(4))).toBe(StateType.Follower);
  });

  it('a learner that does not yet know it was promoted still votes', () => {
    // voters (1 2), learner 3. n1 and n2 commit "v3", n3 has not heard of it when n1 fails:
    // n2 needs n3's vote in (1 2 3), and n3, a learner in its own eyes, must give it.
    const env = cluster(2, {}, 1);
    env.node(1).rawNode.proposeConfChange(v2('l3'));
    env.stabilize();
    env.isolate(3);
    env.node(1).rawNode.proposeConfChange(v2('v3'));
    env.stabilize();
    expect(confState(env.node(2)).voters).toEqual([1, 2, 3]);
    expect(env.node(3).rawNode.raft.isLearner).toBe(true);
    env.blocked.clear();
    env.isolate(1);
    env.node(2).rawNode.campaign();
    env.stabilize();
    expect(state(env.node(2))).toBe(StateType.Leader);
    env.stabilize();
    expect(env.node(3).rawNode.raft.isLearner).toBe(false);
  });

  it('do not keep a checkQuorum leader in office', () => {
    const env = cluster(3, { config: { checkQuorum: true } }, 1);
    env.node(1).rawNode.proposeConfChange(v2('l4'));
    env.stabilize();
    env.isolate(2);
    env.isolate(3);
    // n1 still hears from learner n4 every heartbeat, but no voter: it steps down.
    run(env, 2 * env.node(1).config.electionTick);
    expect(state(env.node(1))).not.toBe(StateType.Leader);
  });

  it('cannot be handed leadership', () => {
    const env = cluster(3, {}, 1);
    env.node(1).rawNode.proposeConfChange(v2('l4'));
    env.stabilize();
    env.node(1).rawNode.transferLeader(4);
    expect(env.node(1).rawNode.status().leadTransferee).toBe(0);
    env.stabilize();
    expect(state(env.node(1))).toBe(StateType.Leader);
  });
});

describe('Raft thesis chapter 4', () => {
  it('§4.2.2 removing the leader: it steps down, the rest elect a leader, and it never disrupts them', () => {
    const env = cluster(3, { config: { preVote: true, checkQuorum: true } });
    env.node(1).rawNode.proposeConfChange(v2('r1'));
    env.stabilize();
    expect(state(env.node(1))).toBe(StateType.Follower);
    env.trace = [];
    run(env, 40);
    const leaders = env.leaders();
    expect(leaders).toHaveLength(1);
    expect([2, 3]).toContain(leaders[0]!.id);
    // The removed node is not promotable: it never asks for votes, however long it waits.
    const campaigns = env.trace.filter(
      (m) => m.from === 1 && (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote),
    );
    expect(campaigns).toEqual([]);
    const term = leaders[0]!.rawNode.raft.term;
    run(env, 40);
    expect(env.leaders()[0]!.rawNode.raft.term).toBe(term);
  });

  it('§4.2.1 adding a server far behind: it catches up as a learner, then is promoted', () => {
    // One entry per MsgApp and two in flight, so catching up takes many round trips.
    const config = { maxSizePerMsg: 0, maxInflightMsgs: 2 };
    const env = cluster(3, { config });
    for (let i = 0; i < 40; i++) env.propose(1, `e${i}`);
    env.stabilize();
    // n4 starts from the bootstrap state (index 2): it needs the whole log after it.
    env.addNodes(1, { voters: [1, 2, 3], index: 2, config });
    env.trace = [];
    env.node(1).rawNode.proposeConfChange(v2('l4'));
    // While n4 catches up, the voters keep committing without it.
    env.propose(1, 'during');
    env.stabilize();
    const appsTo4 = env.trace.filter((m) => m.to === 4 && m.type === MessageType.MsgApp);
    expect(appsTo4.length).toBeGreaterThan(20);
    expect(env.node(4).applied).toEqual(env.node(1).applied);
    env.node(1).rawNode.proposeConfChange(v2('v4'));
    env.stabilize();
    expect(confState(env.node(4))).toMatchObject({ voters: [1, 2, 3, 4], learners: [] });
    expect(env.node(4).rawNode.raft.raftLog.lastIndex()).toBe(
      env.node(1).rawNode.raft.raftLog.lastIndex(),
    );
  });

  it('§4.2.1 adding a server whose entries were compacted: snapshot first, then appends', () => {
    const env = cluster(3, {}, 1);
    for (let i = 0; i < 10; i++) env.propose(1, `e${i}`);
    env.stabilize();
    const leader = env.node(1);
    leader.storage.compact(leader.rawNode.raft.raftLog.applied);
    env.trace = [];
    leader.rawNode.proposeConfChange(v2('l4'));
    env.stabilize();
    const snaps = env.trace.filter((m) => m.to === 4 && m.type === MessageType.MsgSnap);
    expect(snaps).toHaveLength(1);
    expect(env.node(4).applied).toEqual(leader.applied);
    env.propose(1, 'next');
    env.stabilize();
    expect(env.node(4).applied.at(-1)).toBe('next');
    expect(leader.rawNode.status().progress.get(4)).toMatchObject({
      state: 1,
      match: leader.rawNode.raft.raftLog.lastIndex(),
    });
  });

  describe('§4.3 joint consensus (3 4 5)&&(1 2 3): each half needs its own majority', () => {
    function jointCluster(): InteractionEnv {
      const env = cluster(3, {}, 2);
      env.node(1).rawNode.proposeConfChange(v2('r1 r2 v4 v5', EXPLICIT));
      env.stabilize();
      for (const n of env.nodes) {
        expect(confState(n)).toMatchObject({ voters: [3, 4, 5], votersOutgoing: [1, 2, 3] });
      }
      return env;
    }

    it('the old half alone (1 2 3 up, 4 5 down) commits nothing and elects no one', () => {
      const env = jointCluster();
      env.partition([1, 2, 3], [4, 5]);
      const committed = env.node(1).rawNode.raft.raftLog.committed;
      env.propose(1, 'x');
      env.stabilize();
      expect(env.node(1).rawNode.raft.raftLog.committed).toBe(committed);
      expect(env.node(1).rawNode.status().progress.get(3)!.match).toBe(committed + 1);
      // A new election among 1 2 3 cannot be won either.
      env.node(2).rawNode.campaign();
      run(env, 30);
      for (const n of env.leaders()) expect([4, 5]).not.toContain(n.id);
      expect(env.leaders().filter((n) => n.rawNode.raft.term > 1)).toEqual([]);
      env.blocked.clear();
      run(env, 30);
      expect(env.leaders()).toHaveLength(1);
      expect(env.node(4).applied).toEqual(['x']);
    });

    it('the new half alone (3 4 5 up, 1 2 down) commits nothing and elects no one', () => {
      const env = jointCluster();
      env.partition([1, 2], [3, 4, 5]);
      const committed = env.node(3).rawNode.raft.raftLog.committed;
      run(env, 40);
      for (const id of [3, 4, 5]) {
        expect(state(env.node(id))).not.toBe(StateType.Leader);
        expect(env.node(id).rawNode.raft.raftLog.committed).toBe(committed);
      }
      // And the old leader with n2 only has the outgoing majority: its entries stay uncommitted.
      env.propose(1, 'y');
      env.stabilize();
      expect(env.node(1).rawNode.raft.raftLog.committed).toBe(committed);
    });

    it('with a majority of each half (2 3 4 up) it commits and elects', () => {
      const env = jointCluster();
      env.isolate(1);
      env.isolate(5);
      run(env, 40);
      const [leader] = env.leaders().filter((n) => n.id !== 1);
      expect([2, 3, 4]).toContain(leader?.id);
      env.propose(leader!.id, 'z');
      env.stabilize();
      for (const id of [2, 3, 4]) expect(env.node(id).applied).toEqual(['z']);
    });
  });

  describe('a conf change proposed around a change of leader', () => {
    it('an auto-leave joint configuration is left by the next leader if the old one cannot', () => {
      const env = cluster(3, {}, 1);
      // n1 is cut off the moment it applies the joint change: its automatic leave proposal,
      // and the news that the change committed, never leave it.
      env.onApply = (n, e) => {
        if (n.id === 1 && e.type === EntryType.EntryConfChangeV2) env.isolate(1);
      };
      env.node(1).rawNode.proposeConfChange(v2('v4', IMPLICIT));
      env.stabilize();
      expect(confState(env.node(1))).toMatchObject({ votersOutgoing: [1, 2, 3], autoLeave: true });
      expect(lastEntry(env.node(1)).type).toBe(EntryType.EntryConfChangeV2); // the leave, stuck
      env.onApply = undefined;
      run(env, 30);
      const leader = env.leaders().find((n) => n.id !== 1)!;
      expect(leader).toBeDefined();
      // The new leader committed the joint change with its first entry, applied it, and then
      // proposed the leave itself.
      for (const id of [2, 3, 4]) {
        expect(confState(env.node(id))).toMatchObject({
          voters: [1, 2, 3, 4],
          votersOutgoing: [],
          autoLeave: false,
        });
      }
      env.blocked.clear();
      run(env, 10);
      expect(confState(env.node(1))).toMatchObject({ voters: [1, 2, 3, 4], votersOutgoing: [] });
    });

    it('a leader that is only in the outgoing half leads until the joint state is left, then steps down', () => {
      const env = cluster(3, {}, 1);
      env.node(1).rawNode.proposeConfChange(v2('r1 v4', EXPLICIT));
      env.stabilize();
      expect(state(env.node(1))).toBe(StateType.Leader);
      expect(env.propose(1, 'joint')).toBeUndefined();
      env.node(1).rawNode.proposeConfChange(v2(''));
      env.stabilize();
      expect(state(env.node(1))).toBe(StateType.Follower);
      expect(confState(env.node(2))).toMatchObject({ voters: [2, 3, 4], votersOutgoing: [] });
      run(env, 30);
      expect([2, 3, 4]).toContain(env.leaders()[0]?.id);
      expect(env.node(4).applied).toEqual(['joint']);
    });

    it('an uncommitted change the old leader alone holds is discarded: no one ever applies it', () => {
      const env = cluster(3, {}, 1);
      env.isolate(1);
      env.node(1).rawNode.proposeConfChange(v2('v4'));
      env.stabilize();
      env.node(2).rawNode.campaign();
      env.stabilize();
      expect(state(env.node(2))).toBe(StateType.Leader);
      env.blocked.clear();
      env.propose(2, 'new-leader');
      run(env, 5);
      for (const id of [1, 2, 3]) {
        expect(confState(env.node(id)).voters).toEqual([1, 2, 3]);
        expect(env.node(id).applied).toEqual(['new-leader']);
        const types = env
          .node(id)
          .rawNode.raft.raftLog.allEntries()
          .map((e) => e.type);
        expect(types).not.toContain(EntryType.EntryConfChangeV2);
      }
    });

    it('a change on a majority survives: the new leader commits it, and takes no other until it is applied', () => {
      const env = cluster(3, {}, 2);
      const n1 = env.node(1);
      n1.rawNode.proposeConfChange(v2('l4'));
      env.processReady(1);
      env.deliverMsgs(2);
      env.deliverMsgs(3);
      env.processReady(2);
      env.processReady(3);
      // n1 never hears the acks: it is cut off with the change uncommitted.
      env.isolate(1);
      env.deliverMsgs(1);
      env.node(2).rawNode.campaign();
      env.processReady(2);
      env.deliverMsgs(3);
      env.processReady(3);
      env.deliverMsgs(2);
      expect(state(env.node(2))).toBe(StateType.Leader);
      // The new leader assumes its uncommitted tail may hold a change: it refuses another.
      env.node(2).rawNode.proposeConfChange(v2('l5'));
      expect(lastEntry(env.node(2)).type).toBe(EntryType.EntryNormal);
      env.stabilize();
      expect(confState(env.node(2)).learners).toEqual([4]);
      expect(confState(env.node(3)).learners).toEqual([4]);
      // Now that it is applied, the next change goes through.
      env.node(2).rawNode.proposeConfChange(v2('l5'));
      env.stabilize();
      expect(confState(env.node(2)).learners).toEqual([4, 5]);
      env.blocked.clear();
      run(env, 5);
      expect(confState(env.node(1)).learners).toEqual([4, 5]);
    });

    it('a change committed just before the leader steps down is applied by everyone', () => {
      const env = cluster(3, {}, 1);
      env.node(1).rawNode.proposeConfChange(v2('l4'));
      env.stabilize();
      env.node(1).rawNode.transferLeader(2);
      env.stabilize();
      expect(state(env.node(2))).toBe(StateType.Leader);
      for (const id of [1, 2, 3, 4]) expect(confState(env.node(id)).learners).toEqual([4]);
    });
  });
});
