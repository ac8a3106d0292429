// The apply worker: committed entries (MsgStorageApply) go to the state machine in order, one
// batch at a time, beside the append worker's writes. Proposals of this node resolve with
// their results; conf changes go to conf-apply.ts; snapshots are taken between batches.
import { performance } from 'node:perf_hooks';
import { type Entry, EntryType } from '@tsraft/raft-core';
import { applyConfEntry } from './conf-apply.js';
import { decodeEntryData, ownSeq } from './envelope.js';
import { ErrProposalIndeterminate } from './errors.js';
import { QueueWorker } from './queue-worker.js';
import type { AppliedEntry } from './state-machine.js';
import { takeSnapshot } from './state-snapshots.js';

export class ApplyWorker extends QueueWorker {
  /** A state machine apply is in flight. */
  private applying = false;
  /** What waits for the apply in flight to end (see between). */
  private readonly betweens: (() => void)[] = [];
  /** Held by exclusive(): no apply starts, and between() waits, until it settles. */
  private gate: Promise<void> | null = null;

  /**
   * Runs `fn` while no apply is in flight: now if none is, else as soon as the current one
   * ends, before the next starts (a point-in-time view for a snapshot).
   */
  between<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const run = () => {
        if (this.gate !== null) {
          void this.gate.then(run);
          return;
        }
        // An apply may have started when the gate opened (its wait was queued first).
        if (this.applying) {
          this.betweens.push(run);
          return;
        }
        try {
          resolve(fn());
        } catch (err) {
          reject(err);
        }
      };
      run();
    });
  }

  /**
   * Runs `fn` (async: a snapshot received while applies went on being swapped in) once the
   * apply in flight ended; no apply starts until it settles. Entries it made the state
   * machine hold already (ctx.smApplied) are then skipped, never applied twice.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.gate !== null) await this.gate;
    let open = () => {};
    this.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    try {
      if (this.applying) await new Promise<void>((resolve) => this.betweens.push(resolve));
      return await fn();
    } finally {
      this.gate = null;
      open();
    }
  }

  /** Takes a snapshot if one is due, between two applies and not during an install. */
  checkSnapshot(): void {
    const ctx = this.ctx;
    // Between two applies already (the common case, after every apply of every group): at
    // once, as between() would, without its promise and closures.
    if (this.gate === null && !this.applying) {
      try {
        this.snapshotIfDue();
      } catch (err) {
        ctx.fail(err); // the state machine's snapshot() threw
      }
      return;
    }
    this.between(() => this.snapshotIfDue()).catch((err: unknown) => ctx.fail(err));
  }

  private readonly takeFn = (): ReturnType<typeof takeSnapshot> => takeSnapshot(this.ctx);

  private snapshotIfDue(): void {
    const ctx = this.ctx;
    if (ctx.running && !ctx.installing) ctx.snapshots.afterApply(ctx.applied, this.takeFn);
  }

  protected async drainOnce(): Promise<void> {
    const ctx = this.ctx;
    const msgs = this.queue.splice(0);
    for (const m of msgs) {
      const applying = this.applyEntries(m.entries);
      if (applying !== undefined) await applying;
      if (!ctx.running) break;
      this.deliver(m.responses);
    }
    ctx.publishApplied();
    this.checkSnapshot();
  }

  /**
   * Applies `entries`: synchronously (undefined) when they are all normal entries and the
   * state machine's apply returns its results, not a promise (an in-memory one, a RaftHost's
   * thousands of groups each applying a few entries per round); else a promise.
   */
  private applyEntries(entries: readonly Entry[]): Promise<void> | undefined {
    for (let i = 0; i < entries.length; i++) {
      if (entries[i]!.type !== EntryType.EntryNormal) return this.applyMixed(entries);
    }
    const batch: AppliedEntry[] = [];
    const seqs: number[] = [];
    const upTo = this.collect(entries, batch, seqs);
    const applying = batch.length > 0 ? this.applyBatch(batch, seqs, upTo) : undefined;
    // (No closure for the common, synchronous case: one apply per group per round.)
    if (applying !== undefined) return applying.then(() => this.appliedTo(upTo));
    this.appliedTo(upTo);
    return undefined;
  }

  private appliedTo(upTo: number): void {
    if (upTo > this.ctx.applied) this.ctx.applied = upTo;
  }

  /** Normal entries to apply into `batch` (their own proposals' seqs into `seqs`); the last index. */
  private collect(entries: readonly Entry[], batch: AppliedEntry[], seqs: number[]): number {
    const ctx = this.ctx;
    let upTo = ctx.applied;
    for (const e of entries) {
      if (e.index <= ctx.applied) continue; // already in the restored snapshot
      this.addNormal(e, batch, seqs);
      upTo = e.index;
      ctx.stats.entriesApplied++;
    }
    return upTo;
  }

  /** A normal entry: into `batch`, unless the state machine holds it already. */
  private addNormal(e: Entry, batch: AppliedEntry[], seqs: number[]): void {
    const ctx = this.ctx;
    const env = decodeEntryData(e.data);
    if (env !== null && e.index <= ctx.smApplied) {
      // An on-disk state machine holds it already (its data came with a snapshot).
      const seq = env.proposer === ctx.id ? ownSeq(e.data, ctx.session) : -1;
      if (seq >= 0) {
        ctx.proposals.reject(
          seq,
          new ErrProposalIndeterminate('applied by a snapshot; its result is not known here'),
        );
      }
    } else if (env !== null) {
      batch.push({ index: e.index, term: e.term, data: env.payload, proposer: env.proposer });
      seqs.push(env.proposer === ctx.id ? ownSeq(e.data, ctx.session) : -1);
    }
  }

  /** Entries with conf changes among them: batches of normal entries between them. */
  private async applyMixed(entries: readonly Entry[]): Promise<void> {
    const ctx = this.ctx;
    let batch: AppliedEntry[] = [];
    let seqs: number[] = [];
    let upTo = ctx.applied;
    for (const e of entries) {
      if (e.index <= ctx.applied) continue; // already in the restored snapshot
      if (e.type === EntryType.EntryNormal) this.addNormal(e, batch, seqs);
      else {
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

  /**
   * Applies a batch of normal entries, the last entry handled being `upTo`: synchronously
   * (undefined) unless an exclusive() run holds the gate or the state machine answers with a
   * promise.
   */
  private applyBatch(
    entries: AppliedEntry[],
    ownSeqs: number[],
    upTo: number,
  ): Promise<void> | undefined {
    if (this.gate !== null) return this.applyBatchLater(entries, ownSeqs, upTo);
    const { batch, seqs } = this.notYetHeld(entries, ownSeqs);
    const t0 = performance.now();
    this.applying = true;
    let results: readonly unknown[] | Promise<readonly unknown[]>;
    try {
      results = batch.length > 0 ? this.ctx.sm.apply(batch) : [];
    } catch (err) {
      this.applying = false;
      throw err;
    }
    if (!isPromiseLike(results)) {
      this.applying = false;
      this.afterBatch(results, seqs, upTo, t0);
      return undefined;
    }
    return Promise.resolve(results).then(
      (r) => {
        this.applying = false;
        this.afterBatch(r, seqs, upTo, t0);
      },
      (err: unknown) => {
        this.applying = false;
        throw err;
      },
    );
  }

  private async applyBatchLater(
    entries: AppliedEntry[],
    ownSeqs: number[],
    upTo: number,
  ): Promise<void> {
    while (this.gate !== null) await this.gate;
    await this.applyBatch(entries, ownSeqs, upTo);
  }

  private afterBatch(results: readonly unknown[], seqs: number[], upTo: number, t0: number): void {
    const ctx = this.ctx;
    ctx.stats.apply.observe((performance.now() - t0) / 1000);
    // Applied before anyone hears of it: a resolved proposal implies appliedIndex() covers it.
    ctx.applied = upTo;
    for (let i = 0; i < seqs.length; i++) {
      if (seqs[i]! >= 0) ctx.proposals.applied(seqs[i]!, results[i]);
    }
    if (this.betweens.length > 0) for (const run of this.betweens.splice(0)) run();
  }

  /**
   * The entries the state machine does not hold yet: an exclusive() run (a snapshot swapped
   * in) may have moved it past some since the batch was put together.
   */
  private notYetHeld(
    batch: AppliedEntry[],
    seqs: number[],
  ): { batch: AppliedEntry[]; seqs: number[] } {
    const held = this.ctx.smApplied;
    if (batch.length === 0 || batch[0]!.index > held) return { batch, seqs };
    const keep = batch.findIndex((e) => e.index > held);
    const from = keep < 0 ? batch.length : keep;
    for (const seq of seqs.slice(0, from)) {
      if (seq >= 0) {
        this.ctx.proposals.reject(
          seq,
          new ErrProposalIndeterminate('applied by a snapshot; its result is not known here'),
        );
      }
    }
    return { batch: batch.slice(from), seqs: seqs.slice(from) };
  }
}

function isPromiseLike<T>(x: T | PromiseLike<T>): x is PromiseLike<T> {
  return typeof (x as { then?: unknown } | null)?.then === 'function';
}
