// The apply worker: committed entries (MsgStorageApply) go to the state machine in order, one
// batch at a time, beside the append worker's writes. Proposals of this node resolve with
// their results; conf changes go to conf-apply.ts; snapshots are taken between batches.
import { performance } from 'node:perf_hooks';
import { type Entry, EntryType } from '@tsraft/raft-core';
import { applyConfEntry } from './conf-apply.js';
import { decodeEntryData, ownSeq } from './envelope.js';
import type { AppliedEntry } from './options.js';
import { QueueWorker } from './queue-worker.js';
import { takeSnapshot } from './state-snapshots.js';

export class ApplyWorker extends QueueWorker {
  protected async drainOnce(): Promise<void> {
    const ctx = this.ctx;
    const msgs = this.queue.splice(0);
    for (const m of msgs) {
      await this.applyEntries(m.entries);
      if (!ctx.running) break;
      this.deliver(m.responses);
    }
    ctx.publishApplied();
    await ctx.snapshots.afterApply(ctx.applied, () => takeSnapshot(ctx));
  }

  private async applyEntries(entries: readonly Entry[]): Promise<void> {
    const ctx = this.ctx;
    let batch: AppliedEntry[] = [];
    let seqs: number[] = [];
    let upTo = ctx.applied;
    for (const e of entries) {
      if (e.index <= ctx.applied) continue; // already in the restored snapshot
      if (e.type === EntryType.EntryNormal) {
        const env = decodeEntryData(e.data);
        if (env !== null) {
          batch.push({ index: e.index, term: e.term, data: env.payload, proposer: env.proposer });
          seqs.push(env.proposer === ctx.id ? ownSeq(e.data, ctx.session) : -1);
        }
      } else {
        if (batch.length > 0) {
          await this.applyBatch(batch, seqs, upTo);
          batch = [];
          seqs = [];
        }
        ctx.applied = e.index;
        applyConfEntry(ctx, e);
      }
      upTo = e.index;
      ctx.stats.entriesApplied++;
    }
    if (batch.length > 0) await this.applyBatch(batch, seqs, upTo);
    if (upTo > ctx.applied) ctx.applied = upTo;
  }

  /** Applies a batch of normal entries, the last entry handled being `upTo`. */
  private async applyBatch(batch: AppliedEntry[], seqs: number[], upTo: number): Promise<void> {
    const ctx = this.ctx;
    const t0 = performance.now();
    const results = await ctx.sm.apply(batch);
    ctx.stats.apply.observe((performance.now() - t0) / 1000);
    // Applied before anyone hears of it: a resolved proposal implies appliedIndex() covers it.
    ctx.applied = upTo;
    for (let i = 0; i < seqs.length; i++) {
      if (seqs[i]! >= 0) ctx.proposals.applied(seqs[i]!, results[i]);
    }
  }
}
