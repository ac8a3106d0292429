// LevelStorage: raft-core's Storage on LevelDB. Reads are served synchronously from memory
// (see MemLog); every write is one LevelDB batch written with sync: true, and memory changes
// only once that batch is durable, so what RawNode reads is always what a restart recovers.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import {
  type ConfState,
  type Entry,
  ErrCompacted,
  ErrSnapOutOfDate,
  ErrUnavailable,
  ErrUsage,
  type HardState,
  type Index,
  type InitialState,
  type Snapshot,
  type Storage,
  type Term,
  cloneConfState,
  emptySnapshot,
  entrySize,
  isEmptyHardState,
  isEmptySnap,
} from '@tsraft/raft-core';
import { Level } from 'level';
import {
  ErrCorruptRecord,
  ErrMissingEntry,
  ErrStorageClosed,
  ErrStorageFailed,
  ErrStorageLocked,
  StorageError,
} from './errors.js';
import { type BatchOp, Committer } from './committer.js';
import { KEY_LOG_START, KEY_VERSION, KeySpace } from './keys.js';
import type { MemLog } from './mem-log.js';
import {
  type LogStart,
  type SnapshotRecord,
  decodeEntryBody,
  encodeEntryBody,
  encodeHardStateBody,
  encodeLogStart,
  encodeSnapshotRecord,
  encodeVersion,
  seal,
  unseal,
} from './records.js';
import { type Db, asStorageError, loadState } from './recover.js';
import {
  fsyncDir,
  readSnapshotFile,
  removeStraySnapshotFiles,
  snapshotFileName,
  verifySnapshotFile,
  writeSnapshotFile,
} from './snapshot-files.js';

export interface LevelStorageOptions {
  /**
   * Snapshots whose data is at least this many bytes are written to a file beside the
   * database instead of into it, and are not kept in memory: `snapshot()` reads (and
   * verifies) the file each time. Default 1 MiB.
   */
  snapshotFileThreshold?: number;
  /**
   * Keep the payloads of committed entries in memory only up to this many bytes (counted as
   * raft-core's entrySize), the newest first; `entries()` reads older ones from the database
   * synchronously. Terms of all uncompacted entries stay in memory. Default Infinity: the
   * whole uncompacted log is in memory, bounded by how often you compact.
   */
  entryCacheBytes?: number;
}

/** What one `save` persists: the parts of a Ready that must be durable. Empty parts are skipped. */
export interface SaveInput {
  readonly hardState?: HardState | null | undefined;
  readonly entries?: readonly Entry[] | undefined;
  readonly snapshot?: Snapshot | null | undefined;
}

/** Sizes of what is held in memory. */
export interface LevelStorageStats {
  firstIndex: Index;
  lastIndex: Index;
  /** Uncompacted entries, whose terms are in memory. */
  entries: number;
  /** Entries whose payload is in memory too. */
  cachedEntries: number;
  cachedBytes: number;
}

const DEFAULT_SNAPSHOT_FILE_THRESHOLD = 1 << 20;

export class LevelStorage implements Storage {
  private hs: HardState;
  private snap: SnapshotRecord | null;
  private readonly emptySnap = emptySnapshot();
  /** The tail of the write queue: writes run one at a time, in call order. */
  private queue: Promise<unknown> = Promise.resolve();
  private failed: ErrStorageFailed | null = null;
  private closed = false;
  /** Highest index an in-flight write is deleting (evicted reads below it are ErrCompacted). */
  private deletingTo: Index = 0;

  /** @internal LevelStorage.open, or a group of a LevelStore (level-store.ts). */
  constructor(
    /** The directory given to `open`, resolved (a group's: the store's, and the group). */
    readonly path: string,
    private readonly db: Db,
    private readonly dbPath: string,
    private readonly snapDir: string,
    private readonly log: MemLog,
    state: { hardState: HardState; snapshot: SnapshotRecord | null },
    private readonly snapshotFileThreshold: number,
    /** Where this log's records are: the whole database, or one group's range. */
    private readonly keys: KeySpace,
    /** Writes our batches (with those of the other groups of a LevelStore). */
    private readonly committer: Committer,
    /** Runs once our writes are done, at close: closes the database, or leaves the store. */
    private readonly onClose: () => Promise<void>,
  ) {
    this.hs = state.hardState;
    this.snap = state.snapshot;
  }

  /**
   * Opens (creating if needed) the store in `dir`: LevelDB in `dir/db`, snapshot files in
   * `dir/snap`. Reads and checks everything; throws the typed errors of errors.ts.
   */
  static async open(dir: string, options: LevelStorageOptions = {}): Promise<LevelStorage> {
    const root = path.resolve(dir);
    const dbPath = path.join(root, 'db');
    const snapDir = path.join(root, 'snap');
    await fsp.mkdir(snapDir, { recursive: true });
    const db: Db = new Level<Uint8Array, Uint8Array>(dbPath, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      // LevelDB maps each open table into memory, and the pages read count in the RSS: its
      // fewest open files (74, of which 64 tables) and its smallest tables (1 MiB: LevelDB 1.20
      // raises anything smaller to that) bound them to ~64 MiB (its default 2 MiB tables let a
      // member applying a long log map 120 MiB of them).
      maxOpenFiles: 74,
      maxFileSize: 1 << 20,
      // Entries are read back only by followers far behind and at restart, once each: LevelDB's
      // 8 MiB default block cache would mostly hold blocks nobody reads again.
      cacheSize: 1 << 20,
    });
    try {
      await db.open();
    } catch (err) {
      throw openError(err, dbPath);
    }
    try {
      const maxCached = options.entryCacheBytes ?? Number.POSITIVE_INFINITY;
      const state = await loadState(db, dbPath, maxCached);
      if (state.fresh) {
        const start = state.log.start;
        await db.batch(
          [
            { type: 'put', key: KEY_VERSION, value: seal(KEY_VERSION, encodeVersion()) },
            { type: 'put', key: KEY_LOG_START, value: seal(KEY_LOG_START, encodeLogStart(start)) },
          ],
          { sync: true },
        );
        await fsyncDir(root); // make db/ and snap/ themselves durable
      }
      let keep: string | null = null;
      if (state.snapshot?.where === 'file') {
        const { metadata, crc, size } = state.snapshot;
        await verifySnapshotFile(snapDir, metadata, { crc, size });
        keep = snapshotFileName(metadata);
      }
      await removeStraySnapshotFiles(snapDir, keep);
      const threshold = options.snapshotFileThreshold ?? DEFAULT_SNAPSHOT_FILE_THRESHOLD;
      const committer = new Committer(db, dbPath, state.nextSeq);
      return new LevelStorage(
        root,
        db,
        dbPath,
        snapDir,
        state.log,
        state,
        threshold,
        KeySpace.single,
        committer,
        () => db.close(),
      );
    } catch (err) {
      await db.close().catch(() => {});
      throw asStorageError(err, dbPath);
    }
  }

  // ---- The read side (raft-core's Storage): synchronous, from memory. ----

  initialState(): InitialState {
    this.checkOpen();
    return { hardState: { ...this.hs }, confState: cloneConfState(this.snapMetadata().confState) };
  }

  entries(lo: Index, hi: Index, maxSize: number): Entry[] {
    this.checkOpen();
    const log = this.log;
    if (lo < log.firstIndex()) throw new ErrCompacted();
    const last = log.lastIndex();
    if (hi > last + 1)
      throw new ErrUnavailable(`entries' hi(${hi}) is out of bound lastindex(${last})`);
    if (last < log.firstIndex()) throw new ErrUnavailable(); // nothing but the snapshot
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = log.entry(i) ?? this.readEntry(i);
      size += entrySize(e);
      if (out.length > 0 && size > maxSize) break; // always at least one entry
      out.push(e);
    }
    return out;
  }

  term(i: Index): Term {
    this.checkOpen();
    if (i < this.log.firstIndex() - 1) throw new ErrCompacted();
    if (i > this.log.lastIndex()) throw new ErrUnavailable();
    return this.log.term(i);
  }

  lastIndex(): Index {
    this.checkOpen();
    return this.log.lastIndex();
  }

  firstIndex(): Index {
    this.checkOpen();
    return this.log.firstIndex();
  }

  /** The latest snapshot; one kept in a file is read from it (and verified) on each call. */
  snapshot(): Snapshot {
    this.checkOpen();
    const r = this.snap;
    if (r === null) return this.emptySnap;
    if (r.where === 'inline') return r.snapshot;
    return readSnapshotFile(this.snapDir, r.metadata, { crc: r.crc, size: r.size });
  }

  /** The hard state last saved. */
  hardState(): HardState {
    return { ...this.hs };
  }

  stats(): LevelStorageStats {
    return {
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      ...this.log.stats(),
    };
  }

  // ---- The write side: each call is one synced batch; calls run in order. ----

  /**
   * Persists one Ready: the snapshot (replacing the log), then the entries (replacing any
   * conflicting tail), then the hard state, as one atomic LevelDB batch written with
   * `sync: true`. Resolves once it is durable; only then do reads see it. Entries are kept by
   * reference: do not mutate them afterwards (raft never does).
   */
  save(input: SaveInput): Promise<void> {
    return this.enqueue(() => this.doSave(input));
  }

  /** Replaces the whole content with a snapshot (a follower installing its leader's). */
  applySnapshot(snap: Snapshot): Promise<void> {
    return this.save({ snapshot: snap });
  }

  /**
   * Records a snapshot at applied index i with the state machine's `data` as of i; later
   * `snapshot()` calls return it. The log is left alone: call `compact` to drop the prefix.
   */
  createSnapshot(i: Index, confState: ConfState | undefined, data: Uint8Array): Promise<Snapshot> {
    return this.enqueue(async () => {
      if (i <= this.snapMetadata().index) throw new ErrSnapOutOfDate();
      const last = this.log.lastIndex();
      if (i > last) throw new ErrUsage(`snapshot ${i} is out of bound lastindex(${last})`);
      if (i < this.log.firstIndex() - 1) throw new ErrCompacted();
      const cs = cloneConfState(confState ?? this.snapMetadata().confState);
      const snap: Snapshot = {
        data,
        metadata: { index: i, term: this.log.term(i), confState: cs },
      };
      const record = await this.snapshotRecord(snap);
      await this.write([put(this.keys.snapshot, encodeSnapshotRecord(record))]);
      await this.replaceSnapshot(record);
      return snap;
    });
  }

  /** Discards every entry before `compactIndex`; it must not exceed the applied index. */
  compact(compactIndex: Index): Promise<void> {
    return this.enqueue(async () => {
      const log = this.log;
      const offset = log.firstIndex() - 1;
      if (compactIndex <= offset) throw new ErrCompacted();
      const last = log.lastIndex();
      if (compactIndex > last) {
        throw new ErrUsage(`compact ${compactIndex} is out of bound lastindex(${last})`);
      }
      const ops: BatchOp[] = [];
      const keys = this.keys;
      for (let i = offset + 1; i <= compactIndex; i++)
        ops.push({ type: 'del', key: keys.entry(i) });
      ops.push(
        put(keys.logStart, encodeLogStart({ index: compactIndex, term: log.term(compactIndex) })),
      );
      this.deletingTo = compactIndex;
      try {
        await this.write(ops);
      } finally {
        this.deletingTo = 0;
      }
      log.compact(compactIndex);
    });
  }

  /** close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Waits for pending writes, then closes the database. Idempotent. */
  close(): Promise<void> {
    if (this.closed) return this.queue.then(() => {});
    this.closed = true;
    const done = this.queue.then(() => this.onClose());
    this.queue = done.catch(() => {});
    return done;
  }

  // ---- Internals. ----

  private async doSave(input: SaveInput): Promise<void> {
    const hs = input.hardState && !isEmptyHardState(input.hardState) ? input.hardState : null;
    const snap = input.snapshot && !isEmptySnap(input.snapshot) ? input.snapshot : null;
    const ents = input.entries ?? [];
    if (hs === null && snap === null && ents.length === 0) return;

    // Plan against the log as it will be: validation throws before anything is written.
    const ops: BatchOp[] = [];
    const keys = this.keys;
    let start: LogStart = this.log.start;
    let last = this.log.lastIndex();
    if (snap !== null) {
      if (snap.metadata.index <= this.snapMetadata().index) throw new ErrSnapOutOfDate();
      for (let i = start.index + 1; i <= last; i++) ops.push({ type: 'del', key: keys.entry(i) });
      start = { index: snap.metadata.index, term: snap.metadata.term };
      ops.push(put(keys.logStart, encodeLogStart(start)));
      last = start.index;
    }
    let from = ents.length; // ents[from..] are appended
    if (ents.length > 0) {
      const first = ents[0]!.index;
      for (let i = 1; i < ents.length; i++) {
        if (ents[i]!.index !== first + i) {
          throw new ErrUsage(
            `entries are not consecutive: ${ents[i]!.index} follows ${first + i - 1}`,
          );
        }
      }
      const entLast = first + ents.length - 1;
      if (entLast > start.index) {
        from = Math.max(0, start.index + 1 - first); // skip the compacted prefix
        const at = ents[from]!.index;
        if (at > last + 1)
          throw new ErrUsage(`missing log entry [last: ${last}, append at: ${at}]`);
        for (let i = from; i < ents.length; i++) {
          const e = ents[i]!;
          const key = keys.entry(e.index);
          ops.push({ type: 'put', key, value: seal(key, encodeEntryBody(e)) });
        }
        for (let i = entLast + 1; i <= last; i++) ops.push({ type: 'del', key: keys.entry(i) });
        last = entLast;
      }
    }
    // Raft never commits past its log nor truncates committed entries; a save that would
    // leave the commit beyond the last entry could not be told apart from lost entries at open.
    const commit = hs !== null ? hs.commit : this.hs.commit;
    if (commit > last) {
      throw new ErrUsage(`the commit index ${commit} would be beyond the last entry ${last}`);
    }
    if (hs !== null) ops.push(put(keys.hardState, encodeHardStateBody(hs)));
    let record: SnapshotRecord | null = null;
    if (snap !== null) {
      record = await this.snapshotRecord(snap);
      ops.push(put(keys.snapshot, encodeSnapshotRecord(record)));
      this.deletingTo = this.log.lastIndex();
    }

    try {
      await this.write(ops);
    } finally {
      this.deletingTo = 0;
    }

    // Durable: now memory follows.
    if (record !== null) this.log.reset(start);
    this.log.append(ents, from);
    if (hs !== null) this.hs = { term: hs.term, vote: hs.vote, commit: hs.commit };
    this.log.evict(this.hs.commit);
    if (record !== null) await this.replaceSnapshot(record);
  }

  /** The record for a snapshot, writing its file first if it is large. */
  private async snapshotRecord(snap: Snapshot): Promise<SnapshotRecord> {
    if (snap.data.length < this.snapshotFileThreshold) return { where: 'inline', snapshot: snap };
    // A LevelStore group's directory is made with its first snapshot file.
    await fsp.mkdir(this.snapDir, { recursive: true });
    const { crc, size } = await writeSnapshotFile(this.snapDir, snap);
    return { where: 'file', metadata: snap.metadata, crc, size };
  }

  /** After the record is durable: remember the new snapshot and delete the old file. */
  private async replaceSnapshot(record: SnapshotRecord): Promise<void> {
    const old = this.snap;
    this.snap = record;
    if (old?.where === 'file') {
      // A leftover is harmless: open deletes snapshot files no record points at.
      await fsp
        .rm(path.join(this.snapDir, snapshotFileName(old.metadata)), { force: true })
        .catch(() => {});
    }
  }

  /** Writes `ops` in the next synced batch (group commit). A failure poisons the store. */
  private async write(ops: BatchOp[]): Promise<void> {
    try {
      await this.committer.write(ops);
    } catch (err) {
      const e = asStorageError(err, this.dbPath);
      this.failed = e instanceof ErrStorageFailed ? e : new ErrStorageFailed(this.dbPath, e);
      throw this.failed;
    }
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ErrStorageClosed(this.path));
    const run = (): Promise<T> => (this.failed !== null ? Promise.reject(this.failed) : task());
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }

  /** An evicted entry, read back from the database and checked. */
  private readEntry(i: Index): Entry {
    const key = this.keys.entry(i);
    let value: Uint8Array | undefined;
    try {
      value = this.db.getSync(key);
    } catch (err) {
      throw asStorageError(err, this.dbPath);
    }
    if (value === undefined) {
      if (i <= this.deletingTo) throw new ErrCompacted();
      throw new ErrMissingEntry(i, this.dbPath);
    }
    const e = decodeEntryBody(unseal(key, value, 'entry', i, this.dbPath), i, this.dbPath);
    if (e.term !== this.log.term(i)) {
      throw new ErrCorruptRecord(
        'entry',
        i,
        this.dbPath,
        `term ${e.term}, expected ${this.log.term(i)}`,
      );
    }
    return e;
  }

  private snapMetadata() {
    const r = this.snap;
    if (r === null) return this.emptySnap.metadata;
    return r.where === 'inline' ? r.snapshot.metadata : r.metadata;
  }

  private checkOpen(): void {
    if (this.closed) throw new ErrStorageClosed(this.path);
  }
}

function put(key: Uint8Array, body: Uint8Array): BatchOp {
  return { type: 'put', key, value: seal(key, body) };
}

/** classic-level wraps the reason an open failed in `cause`. */
function openError(err: unknown, dbPath: string): unknown {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as never) {
    if (e.code === 'LEVEL_LOCKED') return new ErrStorageLocked(dbPath, err);
  }
  const mapped = asStorageError(err, dbPath);
  return mapped instanceof StorageError ? mapped : err;
}
