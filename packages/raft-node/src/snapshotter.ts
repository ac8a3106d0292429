// When to snapshot, and recording snapshots in storage. A snapshot is taken by the apply worker
// between two applies (so it is the state as of `applied`), synchronously and cheaply:
// - in-memory state machines hand over a point-in-time source, written to a snapshot file in
//   the background while applies go on;
// - on-disk state machines hold their data already: only raft's metadata is recorded, after
//   sync() made the applied data durable (the log before it is about to be compacted).
// Recording waits until the commit index covering the snapshot is durable, and then the log
// is compacted to snapshotCatchUpEntries behind it.
import { type ConfState, ErrCompacted, ErrSnapOutOfDate } from '@tsraft/raft-core';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';
import type { SnapshotFiles } from './snapshot-files.js';
import type { NodeStorage } from './seams.js';
import type { SnapshotSource } from './state-machine.js';

/** A snapshot taken: raft's metadata, and the state machine's stream if it has one to write. */
export interface TakenSnapshot {
  index: number;
  confState: ConfState;
  /** RaftNode's part of raft's snapshot data (envelope.ts). */
  data: Uint8Array;
  /** The state machine's data to write to a file; null for an on-disk state machine. */
  source: SnapshotSource | null;
}

export interface SnapshotterHost {
  /** The store (opened after the Snapshotter is made). */
  storage(): NodeStorage;
  readonly files: SnapshotFiles;
  readonly logger: Logger;
  readonly stats: Metrics;
  readonly interval: number;
  readonly catchUpEntries: number;
  running(): boolean;
  fail(err: unknown): void;
  /** Makes what the state machine applied durable (an on-disk one's sync()). */
  syncStateMachine(): Promise<void>;
  /** Calls afterApply again between two applies (a snapshot may have come due meanwhile). */
  recheck(): void;
  /** The highest index the log may be compacted to for snapshots sent (snapshot-sends.ts). */
  compactionBound(): number;
}

type Ready = Omit<TakenSnapshot, 'source'>;

export class Snapshotter {
  /** The latest snapshot recorded or installed. Invariant: index <= applied. */
  index = 0;
  /** The latest taken (being written, waiting to be recorded, or recorded). */
  private taken = 0;
  private writing: Promise<void> | null = null;
  /** The state machine's source being written, closed if the node stops first. */
  private source: SnapshotSource | null = null;
  private pending: Ready | null = null;
  private recording: Promise<void> | null = null;
  /** Snapshot after the next apply whatever the interval says (a member was added). */
  private soon = false;

  constructor(private readonly host: SnapshotterHost) {}

  /** A new member must be sent a snapshot that lists it: the current one predates it. */
  requestSoon(): void {
    this.soon = true;
  }

  /** Called after each apply batch: takes a snapshot (with `take`) if one is due. */
  afterApply(applied: number, take: () => TakenSnapshot): void {
    const last = Math.max(this.index, this.taken);
    const due = applied - last >= this.host.interval || (this.soon && applied > last);
    if (!due || this.busy) return;
    this.soon = false;
    const { source, ...snap } = take();
    this.taken = snap.index;
    if (source === null) {
      this.pending = snap;
      this.afterWrite();
      return;
    }
    const t0 = performance.now();
    this.source = source;
    this.writing = this.host.files
      .write(snap.index, source)
      .then((bytes) => {
        this.host.logger.info(
          { index: snap.index, bytes, ms: Math.round(performance.now() - t0) },
          'snapshot written',
        );
        this.pending = snap;
      })
      .catch((err: unknown) => this.host.fail(err))
      .finally(() => {
        this.writing = null;
        this.source = null;
        this.afterWrite();
      });
  }

  /** Whether one is being written or recorded (afterApply takes none meanwhile). */
  private get busy(): boolean {
    return this.writing !== null || this.pending !== null || this.recording !== null;
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
        // Applies that came while it was busy took no snapshot: one may be due now.
        if (h.running()) h.recheck();
      });
  }

  /** A snapshot was installed (from the leader, or at start) at `index`. */
  installed(index: number): void {
    if (index > this.index) this.index = index;
    if (index > this.taken) this.taken = index;
  }

  /**
   * At stop: a snapshot file still being written is given up (its source closed: it may be
   * waiting on the application; the temp file is removed at the next start), and a recording
   * in flight is waited for.
   */
  async stop(): Promise<void> {
    this.source?.close?.();
    await this.recording;
  }

  private async record(p: Ready): Promise<void> {
    const { logger, stats, files } = this.host;
    const storage = this.host.storage();
    await this.host.syncStateMachine();
    try {
      await storage.createSnapshot(p.index, p.confState, p.data);
    } catch (err) {
      if (err instanceof ErrSnapOutOfDate) return; // a newer one was installed meanwhile
      throw err;
    }
    this.installed(p.index);
    stats.snapshotsCreated++;
    logger.info({ index: p.index }, 'snapshot created');
    await files.removeBelow(p.index);
    const wanted = p.index - this.host.catchUpEntries;
    const compactTo = Math.min(wanted, this.host.compactionBound());
    if (compactTo < wanted) {
      logger.debug({ index: p.index, compactTo }, 'log compaction held back for a snapshot sent');
    }
    if (compactTo > storage.firstIndex() - 1) {
      try {
        await storage.compact(compactTo);
      } catch (err) {
        if (!(err instanceof ErrCompacted)) throw err;
      }
    }
  }
}
