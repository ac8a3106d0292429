// Forwarded proposals of a RaftHost's group, batched per turn: a follower forwards each
// proposal made on it to the leader as a MsgProp of its own, so a busy group's Ready carries
// one MsgProp per client request. They leave as one MsgProp with all their entries, in order:
// one frame, one step and one append on the leader instead of one each. The leader takes or
// drops a MsgProp whole, as it would each of its parts; proposals are matched to their entries
// by the request id inside each entry (envelope.ts), whatever message carried them.
import { type Message, MessageType } from '@tsraft/raft-core';

/** Entry bytes a merged MsgProp carries at most (raft's maxSizePerMsg is 1 MiB by default). */
const MAX_MERGED_BYTES = 256 << 10;

/** `messages` with consecutive MsgProps to the same leader merged into one. */
export function mergeProposals(messages: readonly Message[]): readonly Message[] {
  let props = 0;
  for (let i = 0; i < messages.length && props < 2; i++) {
    if (messages[i]!.type === MessageType.MsgProp) props++;
  }
  if (props < 2) return messages;
  const out: Message[] = [];
  let merged: Message | null = null;
  let bytes = 0;
  for (const m of messages) {
    if (m.type !== MessageType.MsgProp) {
      out.push(m);
      continue;
    }
    const size = entryBytes(m);
    if (
      merged !== null &&
      m.to === merged.to &&
      m.from === merged.from &&
      m.term === merged.term &&
      bytes + size <= MAX_MERGED_BYTES
    ) {
      for (const e of m.entries) merged.entries.push(e);
      bytes += size;
      continue;
    }
    merged = { ...m, entries: [...m.entries] };
    bytes = size;
    out.push(merged);
  }
  return out;
}

function entryBytes(m: Message): number {
  let n = 0;
  for (const e of m.entries) n += e.data.length;
  return n;
}
