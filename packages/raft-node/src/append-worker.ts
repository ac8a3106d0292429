// The append worker: group commit. MsgStorageAppends queue up while a write is in flight and
// are merged into the next one (append-batch.ts): one synced LevelStorage.save per batch.
// Responses (acknowledgements, votes) are delivered only once the write is durable.
import { performance } from 'node:perf_hooks';
import { type HardState, type Message, MessageType, newMessage } from '@tsraft/raft-core';
import { type AppendBatch, takeAppendBatch } from './append-batch.js';
import type { ApplyWorker } from './apply-worker.js';
import type { NodeContext } from './context.js';
import { QueueWorker } from './queue-worker.js';
import { installSnapshot } from './state-snapshots.js';

export class AppendWorker extends QueueWorker {
  /** A commit-only hard state not yet written (see deferCommitOnly). */
  private deferredCommit: HardState | null = null;
  private deferredCommitTimer: NodeJS.Timeout | null = null;
  private flushCommitNow = false;

  constructor(
    ctx: NodeContext,
    private readonly applies: ApplyWorker,
    deliver: (responses: readonly Message[]) => void,
  ) {
    super(ctx, deliver);
  }

  /** At stop: the commit index held back is written (the workers are done). */
  async flushOnStop(): Promise<void> {
    if (this.deferredCommitTimer !== null) clearTimeout(this.deferredCommitTimer);
    this.deferredCommitTimer = null;
    if (this.deferredCommit !== null && this.ctx.failure === null) {
      await this.ctx.storage.save({ hardState: this.deferredCommit }).catch(() => {});
    }
  }

  protected async drainOnce(): Promise<void> {
    const ctx = this.ctx;
    const b = takeAppendBatch(this.queue);
    if (this.deferCommitOnly(b)) return;
    // Entries before the snapshot must be applied before the state machine is replaced.
    if (b.snapshot !== null) await this.applies.idle();
    const t0 = performance.now();
    await ctx.storage.save({
      hardState: b.hardState,
      entries: b.entries,
      snapshot: b.snapshot,
    });
    ctx.stats.fsync.observe((performance.now() - t0) / 1000);
    ctx.stats.saves++;
    ctx.stats.entriesSaved += b.entries.length;
    if (!ctx.running) return;
    ctx.snapshots.afterWrite();
    if (b.snapshot !== null) {
      ctx.installing = true;
      try {
        await installSnapshot(ctx, b.snapshot);
      } finally {
        ctx.installing = false;
      }
    }
    this.deliver(b.responses);
  }

  /**
   * A write that only moves the commit index needs no fsync of its own (etcd does not sync
   * it either: a restart learns the commit index again from the leader): it rides along with
   * the next write, or goes out on its own after a tick (snapshots wait for a durable commit
   * index). Its responses need not wait either: a follower acknowledging an append that
   * brought no entries (the leader's commit update after every round) acknowledges entries
   * that earlier writes made durable, and those are done: writes run in order. This spares
   * followers their second fsync per round of proposals.
   */
  private deferCommitOnly(b: AppendBatch): boolean {
    const hs = b.hardState;
    const saved = this.ctx.storage.hardState();
    const commitOnly =
      b.entries.length === 0 &&
      b.snapshot === null &&
      (hs === null || (hs.term === saved.term && hs.vote === saved.vote));
    if (commitOnly && !this.flushCommitNow) {
      if (hs !== null) {
        this.deferredCommit = hs;
        this.deferredCommitTimer ??= setTimeout(() => this.flushDeferredCommit(), this.holdMs());
      }
      if (b.responses.length > 0) this.deliver(b.responses);
      return true;
    }
    this.flushCommitNow = false;
    // Anything else carries the newest hard state it knows of, deferred or not.
    if (this.deferredCommit !== null && hs === null) b.hardState = this.deferredCommit;
    this.deferredCommit = null;
    return false;
  }

  /**
   * How long a commit index waits for a write to ride along: a tick for a standalone node (its
   * write would be an fsync of its own). A RaftHost's group waits an election timeout: there it
   * shares the turn's synced batch, but still costs a save, a storage write and a Ready pass,
   * and with every group written a few times a second most such writes found a real one to
   * join within that time (a restart learns the rest from the leader, as with etcd).
   */
  private holdMs(): number {
    const cfg = this.ctx.cfg;
    return this.ctx.group === null ? cfg.tickMs : cfg.tickMs * cfg.electionTick;
  }

  private flushDeferredCommit(): void {
    this.deferredCommitTimer = null;
    const hs = this.deferredCommit;
    if (hs === null || !this.ctx.running) return;
    this.flushCommitNow = true;
    this.queue.push(
      newMessage({
        type: MessageType.MsgStorageAppend,
        term: hs.term,
        vote: hs.vote,
        commit: hs.commit,
      }),
    );
    this.ctx.schedule();
  }
}
