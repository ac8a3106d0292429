// The synchronous Ready contract: ready() hands out each thing once (messages, read states,
// entries), work produced between ready() and advance() waits for the next Ready, and
// conf changes proposed with other work come out in order.
import { describe, expect, it } from 'vitest';
import {
  ConfChangeTransition,
  EntryType,
  MessageType,
  decodeConfChangeV2,
} from '../../src/index.js';
import { InteractionEnv, parseConfChanges } from '../util/interaction.js';

const enc = new TextEncoder();

function cluster(n: number): InteractionEnv {
  const env = new InteractionEnv();
  env.addNodes(n, { voters: Array.from({ length: n }, (_, i) => i + 1), index: 2 });
  env.node(1).rawNode.campaign();
  env.stabilize();
  return env;
}

describe('the Ready contract', () => {
  it('work done between ready() and advance() comes out in the next Ready, nothing lost', () => {
    const env = cluster(3);
    const rn = env.node(1).rawNode;
    rn.propose(enc.encode('a'));
    const rd1 = rn.ready();
    expect(rd1.entries.map((e) => e.index)).toEqual([4]);
    // The application proposes while it still holds rd1.
    rn.propose(enc.encode('b'));
    rn.readIndex(enc.encode('r'));
    env.node(1).storage.append(rd1.entries);
    rn.advance();
    const rd2 = rn.ready();
    expect(rd2.entries.map((e) => e.index)).toEqual([5]);
    const apps = rd2.messages.filter((m) => m.type === MessageType.MsgApp);
    expect(apps.map((m) => m.entries.map((e) => e.index))).toEqual([[5], [5]]);
    // rd1's messages are not handed out again.
    expect(rd2.messages.some((m) => rd1.messages.includes(m))).toBe(false);
    expect(
      rd2.messages.filter((m) => m.type === MessageType.MsgHeartbeat).map((m) => m.to),
    ).toEqual([2, 3]);
  });

  it('read states are handed out once', () => {
    const env = cluster(1);
    const rn = env.node(1).rawNode;
    rn.readIndex(enc.encode('once'));
    expect(rn.hasReady()).toBe(true);
    const rd = rn.ready();
    expect(rd.readStates.map((r) => new TextDecoder().decode(r.requestCtx))).toEqual(['once']);
    rn.advance();
    expect(rn.hasReady()).toBe(false);
  });

  it('a proposal and a conf change in one Ready come out in order, and the change applies', () => {
    const env = cluster(1);
    env.addNodes(1);
    const rn = env.node(1).rawNode;
    rn.propose(enc.encode('before'));
    rn.proposeConfChange({
      transition: ConfChangeTransition.ConfChangeTransitionAuto,
      changes: parseConfChanges('l2'),
      context: enc.encode('ctx'),
    });
    rn.propose(enc.encode('after'));
    const types: EntryType[] = [];
    env.onReady = (n, rd) => {
      if (n.id === 1) types.push(...rd.committedEntries.map((e) => e.type));
    };
    env.stabilize();
    expect(types).toEqual([
      EntryType.EntryNormal,
      EntryType.EntryConfChangeV2,
      EntryType.EntryNormal,
    ]);
    const cc = env
      .node(1)
      .rawNode.raft.raftLog.allEntries()
      .find((e) => e.type === EntryType.EntryConfChangeV2)!;
    expect(new TextDecoder().decode(decodeConfChangeV2(cc.data).context)).toBe('ctx');
    expect(rn.status().config.learners).toEqual([2]);
    expect(env.node(2).applied).toEqual(['before', 'after']);
  });
});
