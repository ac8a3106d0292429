// The async iterator over committed entries: old ones read back from the log, then new ones
// as the applied index moves.
import { ErrCompacted } from '@tsraft/raft-core';
import { type CommittedEntry, toCommittedEntry } from './committed.js';
import type { NodeContext } from './context.js';
import type { RequestOptions } from './node-types.js';

export async function* committedEntries(
  ctx: NodeContext,
  from: number,
  options: RequestOptions,
): AsyncGenerator<CommittedEntry, void, undefined> {
  let next = Math.max(1, from);
  const signal = options.signal;
  for await (const applied of ctx.appliedCell.watch(signal)) {
    while (next <= applied) {
      if (!ctx.running || signal?.aborted) return;
      const first = ctx.storage.firstIndex();
      if (next < first)
        throw new ErrCompacted(`entry ${next} was compacted (first index ${first})`);
      const hi = Math.min(applied, next + 1023) + 1;
      for (const e of ctx.storage.entries(next, hi, 4 << 20)) {
        yield toCommittedEntry(e);
        next = e.index + 1;
      }
    }
  }
}
