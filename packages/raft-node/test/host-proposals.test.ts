// Forwarded proposals of a RaftHost's group leave a turn as one MsgProp per leader.
import { type Message, MessageType, newMessage } from '@tsraft/raft-core';
import { describe, expect, it } from 'vitest';
import { mergeProposals } from '../src/host-proposals.js';

const prop = (to: number, byte: number, size = 1): Message =>
  newMessage({
    type: MessageType.MsgProp,
    from: 2,
    to,
    entries: [{ term: 0, index: 0, type: 0, data: new Uint8Array(size).fill(byte) }],
  });

const datas = (m: Message): number[] => m.entries.map((e) => e.data[0]!);

describe('mergeProposals', () => {
  it('merges the proposals to one leader into one MsgProp, in order, leaving the rest', () => {
    const resp = newMessage({ type: MessageType.MsgAppResp, from: 2, to: 1, index: 5 });
    const ms = [prop(1, 1), resp, prop(1, 2), prop(1, 3)];
    const out = mergeProposals(ms);
    expect(out).toHaveLength(2);
    expect(out[0]!.type).toBe(MessageType.MsgProp);
    expect(datas(out[0]!)).toEqual([1, 2, 3]);
    expect(out[1]).toBe(resp);
    // The messages given are not changed (raft may still hold them).
    expect(ms.map((m) => m.entries.length)).toEqual([1, 0, 1, 1]);
  });

  it('returns the messages as they are with fewer than two proposals', () => {
    const ms = [prop(1, 1), newMessage({ type: MessageType.MsgAppResp, from: 2, to: 1 })];
    expect(mergeProposals(ms)).toBe(ms);
  });

  it('starts a new MsgProp for another leader, and past 256 KiB of entries', () => {
    const out = mergeProposals([prop(1, 1), prop(3, 2), prop(3, 3)]);
    expect(out.map((m) => [m.to, datas(m)])).toEqual([
      [1, [1]],
      [3, [2, 3]],
    ]);
    const big = mergeProposals([prop(1, 1, 200 << 10), prop(1, 2, 100 << 10), prop(1, 3, 10)]);
    expect(big.map(datas)).toEqual([[1], [2, 3]]);
  });
});
