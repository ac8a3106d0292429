// Leadership transfer (Raft thesis §3.10) and forgetLeader. The leader catches the transferee
// up, then sends MsgTimeoutNow; proposals are refused while the transfer is in progress; a
// transfer that does not finish within an election timeout is abandoned. Protocol traces:
// testdata/transfer_leadership.txt and testdata/forget_leader.txt.
import { describe, expect, it } from 'vitest';
import {
  ConfChangeTransition,
  EMPTY_BYTES,
  ErrProposalDropped,
  type Message,
  MessageType,
  ReadOnlyOption,
  StateType,
} from '../../src/index.js';
import { type AddNodesOptions, InteractionEnv, parseConfChanges } from '../util/interaction.js';

const dec = new TextDecoder();

function cluster(n: number, opts: AddNodesOptions = {}): InteractionEnv {
  const env = new InteractionEnv();
  env.addNodes(n, { voters: Array.from({ length: n }, (_, i) => i + 1), index: 2, ...opts });
  env.node(1).rawNode.campaign();
  env.stabilize();
  return env;
}

const state = (env: InteractionEnv, id: number) => env.node(id).rawNode.raft.state;
const lastIndex = (env: InteractionEnv, id: number) =>
  env.node(id).rawNode.raft.raftLog.lastIndex();
const to = (msgs: Message[], id: number, type: MessageType) =>
  msgs.filter((m) => m.to === id && m.type === type);

describe('transferLeader', () => {
  it('to an up-to-date follower: MsgTimeoutNow at once, and the transferee wins in one round', () => {
    const env = cluster(3);
    env.trace = [];
    env.node(1).rawNode.transferLeader(2);
    env.stabilize();
    expect(state(env, 2)).toBe(StateType.Leader);
    expect(state(env, 1)).toBe(StateType.Follower);
    expect(to(env.trace, 2, MessageType.MsgTimeoutNow)).toHaveLength(1);
    expect(env.node(1).rawNode.status().leadTransferee).toBe(0);
  });

  it('to a lagging follower: the leader first catches it up, then sends MsgTimeoutNow', () => {
    // One entry per MsgApp, one MsgApp in flight: catching up takes a round trip per entry.
    const env = cluster(3, { config: { maxSizePerMsg: 0, maxInflightMsgs: 1 } });
    env.isolate(3);
    for (let i = 0; i < 20; i++) env.propose(1, `e${i}`);
    env.stabilize();
    env.blocked.clear();
    const last = lastIndex(env, 1);
    expect(lastIndex(env, 3)).toBeLessThan(last - 15);
    env.trace = [];
    env.node(1).rawNode.transferLeader(3);
    expect(env.node(1).rawNode.status().leadTransferee).toBe(3);
    // n3's pipeline is stalled by the lost appends: the next heartbeat response restarts it.
    env.tick(1, [1]);
    env.stabilize();
    expect(env.node(1).rawNode.status().leadTransferee).toBe(0);
    const toThree = env.trace.filter((m) => m.from === 1 && m.to === 3);
    const timeoutAt = toThree.findIndex((m) => m.type === MessageType.MsgTimeoutNow);
    expect(timeoutAt).toBeGreaterThan(15); // after the appends that caught n3 up
    const appsBefore = toThree.slice(0, timeoutAt).filter((m) => m.type === MessageType.MsgApp);
    expect(Math.max(...appsBefore.map((m) => m.index + m.entries.length))).toBe(last);
    expect(state(env, 3)).toBe(StateType.Leader);
    expect(env.node(3).applied).toEqual(env.node(1).applied);
  });

  it('to a follower that needs a snapshot: snapshot, then MsgTimeoutNow', () => {
    const env = cluster(3);
    env.isolate(3);
    for (let i = 0; i < 5; i++) env.propose(1, `e${i}`);
    env.stabilize();
    env.blocked.clear();
    const leader = env.node(1);
    leader.storage.compact(leader.rawNode.raft.raftLog.applied);
    env.trace = [];
    leader.rawNode.transferLeader(3);
    env.stabilize();
    const types = env.trace
      .filter((m) => m.from === 1 && m.to === 3)
      .map((m) => MessageType[m.type]);
    expect(types.indexOf('MsgSnap')).toBeGreaterThanOrEqual(0);
    expect(types.indexOf('MsgTimeoutNow')).toBeGreaterThan(types.indexOf('MsgSnap'));
    expect(state(env, 3)).toBe(StateType.Leader);
    expect(env.node(3).applied).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
  });

  it('refuses proposals while in progress, local or forwarded', () => {
    const env = cluster(3);
    env.isolate(3);
    env.node(1).rawNode.transferLeader(3);
    expect(env.propose(1, 'local')).toBeInstanceOf(ErrProposalDropped);
    // A follower forwards; the leader drops it.
    expect(env.propose(2, 'forwarded')).toBeUndefined();
    env.stabilize();
    expect(
      env
        .node(1)
        .rawNode.raft.raftLog.allEntries()
        .map((e) => dec.decode(e.data)),
    ).not.toContain('forwarded');
  });

  it('is abandoned after an election timeout; proposals are accepted again', () => {
    const env = cluster(3);
    env.isolate(3);
    env.node(1).rawNode.transferLeader(3);
    const et = env.node(1).config.electionTick;
    for (let i = 0; i < et - 1; i++) {
      env.tick(1, [1]);
      expect(env.node(1).rawNode.status().leadTransferee).toBe(3);
    }
    env.tick(1, [1]);
    expect(env.node(1).rawNode.status().leadTransferee).toBe(0);
    expect(env.propose(1, 'ok')).toBeUndefined();
    env.stabilize();
    expect(env.node(2).applied).toEqual(['ok']);
    expect(state(env, 1)).toBe(StateType.Leader);
  });

  it('a second request for the same transferee is a no-op; one for another node replaces it', () => {
    const env = cluster(3);
    env.isolate(2);
    env.isolate(3);
    const rn = env.node(1).rawNode;
    rn.transferLeader(2);
    env.tick(2, [1]);
    rn.transferLeader(2); // does not restart the clock
    env.tick(1, [1]);
    expect(rn.status().leadTransferee).toBe(0); // 3 ticks: the first request timed out
    rn.transferLeader(2);
    rn.transferLeader(3);
    expect(rn.status().leadTransferee).toBe(3);
  });

  it('asking to transfer back to the leader itself aborts the transfer in progress', () => {
    const env = cluster(3);
    env.isolate(3);
    const rn = env.node(1).rawNode;
    rn.transferLeader(3);
    expect(env.propose(1, 'refused')).toBeInstanceOf(ErrProposalDropped);
    rn.transferLeader(1);
    expect(rn.status().leadTransferee).toBe(0);
    expect(env.propose(1, 'accepted')).toBeUndefined();
  });

  it('to a learner, to itself, or to a non-member: ignored', () => {
    const env = cluster(3);
    env.addNodes(1);
    env.node(1).rawNode.proposeConfChange({
      transition: ConfChangeTransition.ConfChangeTransitionAuto,
      changes: parseConfChanges('l4'),
      context: EMPTY_BYTES,
    });
    env.stabilize();
    const rn = env.node(1).rawNode;
    for (const id of [4, 1, 9]) {
      env.trace = [];
      rn.transferLeader(id);
      expect(rn.status().leadTransferee).toBe(0);
      env.stabilize();
      expect(env.trace.filter((m) => m.type === MessageType.MsgTimeoutNow)).toEqual([]);
      expect(state(env, 1)).toBe(StateType.Leader);
    }
  });

  it('a transfer to a node being removed is aborted when the removal applies', () => {
    const env = cluster(3);
    env.node(1).rawNode.proposeConfChange({
      transition: ConfChangeTransition.ConfChangeTransitionAuto,
      changes: parseConfChanges('r3'),
      context: EMPTY_BYTES,
    });
    env.isolate(3);
    env.node(1).rawNode.transferLeader(3);
    expect(env.node(1).rawNode.status().leadTransferee).toBe(3);
    env.stabilize(); // n1 and n2 commit the removal; n1 applies it
    expect(env.node(1).rawNode.status().config.voters).toEqual([1, 2]);
    expect(env.node(1).rawNode.status().leadTransferee).toBe(0);
    expect(env.propose(1, 'after')).toBeUndefined();
  });

  it('with preVote and checkQuorum, the transferee campaigns directly and overrides the lease', () => {
    const env = cluster(3, { config: { preVote: true, checkQuorum: true } });
    env.trace = [];
    env.node(1).rawNode.transferLeader(3);
    env.stabilize();
    expect(state(env, 3)).toBe(StateType.Leader);
    const votes = env.trace.filter(
      (m) => m.from === 3 && (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote),
    );
    expect(votes.map((m) => MessageType[m.type])).toEqual(['MsgVote', 'MsgVote']);
    expect(votes.every((m) => dec.decode(m.context) === 'CampaignTransfer')).toBe(true);
    // Without the transfer context, the same vote request is ignored under the lease.
    env.node(2).rawNode.campaign();
    env.stabilize();
    expect(state(env, 3)).toBe(StateType.Leader);
  });

  it('under load: every proposal is either refused or committed, and none is lost', () => {
    const env = cluster(5, { config: { preVote: true, checkQuorum: true } });
    const accepted: string[] = [];
    let refused = 0;
    let leaderId = 1;
    for (let round = 0; round < 80; round++) {
      for (let k = 0; k < 2; k++) {
        const data = `p${round}.${k}`;
        // Proposals go to whoever the client believes leads; it learns after each round.
        const err = env.propose(leaderId, data);
        if (err === undefined) accepted.push(data);
        else if (err instanceof ErrProposalDropped) refused++;
        else throw err;
      }
      if (round === 10) env.node(1).rawNode.transferLeader(4);
      if (round === 40) env.node(4).rawNode.transferLeader(2);
      // One network hop per round: the transfers overlap with the proposals.
      if (round % 3 === 0) env.tick(1);
      env.stabilizeRound();
      const [l] = env.leaders();
      if (l !== undefined) leaderId = l.id;
    }
    env.stabilize();
    expect(env.leaders().map((n) => n.id)).toEqual([2]);
    expect(refused).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(100);
    for (const n of env.nodes) expect(n.applied).toEqual(accepted);
  });
});

describe('forgetLeader', () => {
  it('a follower forgets its leader until it hears from it again', () => {
    const env = cluster(3);
    env.node(2).rawNode.forgetLeader();
    expect(env.node(2).rawNode.raft.lead).toBe(0);
    env.tick(1, [1]); // a heartbeat
    env.stabilize();
    expect(env.node(2).rawNode.raft.lead).toBe(1);
  });

  it('is a no-op on a leader and under lease-based reads', () => {
    const env = cluster(3, {
      config: { readOnlyOption: ReadOnlyOption.LeaseBased, checkQuorum: true },
    });
    env.node(1).rawNode.forgetLeader();
    expect(env.node(1).rawNode.raft.lead).toBe(1);
    env.node(2).rawNode.forgetLeader();
    expect(env.node(2).rawNode.raft.lead).toBe(1);
  });

  it('with preVote and checkQuorum, followers that forgot a dead leader elect a new one at once', () => {
    const env = cluster(3, { config: { preVote: true, checkQuorum: true } });
    env.isolate(1);
    // Within the lease, n3's pre-vote is refused by n2.
    env.node(3).rawNode.campaign();
    env.stabilize();
    expect(state(env, 3)).not.toBe(StateType.Leader);
    env.node(2).rawNode.forgetLeader();
    env.node(3).rawNode.forgetLeader();
    env.node(3).rawNode.campaign();
    env.stabilize();
    expect(state(env, 3)).toBe(StateType.Leader);
  });
});
