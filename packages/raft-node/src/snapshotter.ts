// When to snapshot, and recording snapshots in storage. The state machine is snapshotted by the
// apply worker between two applies (so the bytes are the state as of `applied`); recording
// waits until the commit index covering it is durable, and then the log is compacted to
// snapshotCatchUpEntries behind it.
import { type ConfState, ErrCompacted, ErrSnapOutOfDate } from '@tsraft/raft-core';
import type { LevelStorage } from '@tsraft/raft-storage-level';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

/** A snapshot taken but not yet recorded. */
export interface TakenSnapshot {
  index: number;
  bytes: Uint8Array;
  confState: ConfState;
}

export interface SnapshotterHost {
  /** The store (opened after the Snapshotter is made). */
  storage(): LevelStorage;
  readonly logger: Logger;
  readonly stats: Metrics;
  readonly interval: number;
  readonly catchUpEntries: number;
  running(): boolean;
  fail(err: unknown): void;
}

export class Snapshotter {
  /** The latest snapshot recorded or installed. Invariant: index <= applied. */
  index = 0;
  private pending: TakenSnapshot | null = null;
  private recording: Promise<void> | null = null;
  /** Snapshot after the next apply whatever the interval says (a member was added). */
  private soon = false;

  constructor(private readonly host: SnapshotterHost) {}

  /** A new member must be sent a snapshot that lists it: the current one predates it. */
  requestSoon(): void {
    this.soon = true;
  }

  /** Called after each apply batch: takes a snapshot (with `take`) if one is due. */
  async afterApply(applied: number, take: () => Promise<TakenSnapshot>): Promise<void> {
    const last = Math.max(this.index, this.pending?.index ?? 0);
    const due = applied - last >= this.host.interval || (this.soon && applied > last);
    if (!due || this.recording !== null) return;
    this.soon = false;
    this.pending = await take();
    this.afterWrite();
  }

  /**
   * Records the pending snapshot once the durable commit index covers it (a restart would
   * refuse a snapshot ahead of it). Called after each storage write too.
   */
  afterWrite(): void {
    const p = this.pending;
    const h = this.host;
    if (p === null || this.recording !== null || !h.running()) return;
    if (h.storage().hardState().commit < p.index) return;
    this.pending = null;
    this.recording = this.record(p)
      .catch((err: unknown) => h.fail(err))
      .finally(() => {
        this.recording = null;
      });
  }

  /** A snapshot from the leader was installed at `index`. */
  installed(index: number): void {
    if (index > this.index) this.index = index;
  }

  /** Resolves once no recording is in flight. */
  async idle(): Promise<void> {
    await this.recording;
  }

  private async record(p: TakenSnapshot): Promise<void> {
    const { logger, stats } = this.host;
    const storage = this.host.storage();
    try {
      await storage.createSnapshot(p.index, p.confState, p.bytes);
    } catch (err) {
      if (err instanceof ErrSnapOutOfDate) return; // a newer one was installed meanwhile
      throw err;
    }
    this.installed(p.index);
    stats.snapshotsCreated++;
    logger.info({ index: p.index, bytes: p.bytes.length }, 'snapshot created');
    const compactTo = p.index - this.host.catchUpEntries;
    if (compactTo > storage.firstIndex() - 1) {
      try {
        await storage.compact(compactTo);
      } catch (err) {
        if (!(err instanceof ErrCompacted)) throw err;
      }
    }
  }
}
