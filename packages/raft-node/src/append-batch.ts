// Group commit: the MsgStorageAppend messages that queued up while the previous write was
// being synced are merged into one storage write (one fsync), in order.
import {
  type Entry,
  type HardState,
  type Message,
  type Snapshot,
  isEmptySnap,
} from '@tsraft/raft-core';

export interface AppendBatch {
  /** The newest hard state among the messages, if any carried one. */
  hardState: HardState | null;
  /** The entries to write; a later message's entries replace an earlier one's from their index on. */
  entries: Entry[];
  /** A snapshot to install first: only the first message of a batch may carry one. */
  snapshot: Snapshot | null;
  /** Every message's responses, in order: delivered once the write is durable. */
  responses: Message[];
  /** How many messages were merged. */
  messages: number;
}

/** Takes the longest mergeable prefix of `queue` (at least one message) out of it. */
export function takeAppendBatch(queue: Message[]): AppendBatch {
  const b: AppendBatch = {
    hardState: null,
    entries: [],
    snapshot: null,
    responses: [],
    messages: 0,
  };
  let n = 0;
  for (; n < queue.length; n++) {
    const m = queue[n]!;
    const hasSnap = !isEmptySnap(m.snapshot);
    // A snapshot replaces the whole log: it starts a batch, never joins one.
    if (hasSnap && n > 0) break;
    if (hasSnap) b.snapshot = m.snapshot;
    // All zero means "unchanged" (raft-core's MsgStorageAppend encoding).
    if (m.term !== 0 || m.vote !== 0 || m.commit !== 0) {
      b.hardState = { term: m.term, vote: m.vote, commit: m.commit };
    }
    mergeEntries(b.entries, m.entries);
    for (const r of m.responses) b.responses.push(r);
  }
  queue.splice(0, n);
  b.messages = n;
  return b;
}

/** Appends `next` to `acc`, truncating what `next` overwrites (raft's conflict rule). */
export function mergeEntries(acc: Entry[], next: readonly Entry[]): void {
  if (next.length === 0) return;
  if (acc.length > 0) {
    const keep = next[0]!.index - acc[0]!.index;
    if (keep <= 0) acc.length = 0;
    else if (keep < acc.length) acc.length = keep;
  }
  for (const e of next) acc.push(e);
}
