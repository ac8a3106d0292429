// The replicated KV state machine on LevelDB: raft-node's on-disk kind. Each apply call is one
// LevelDB batch holding the entries' effects and the index of the last of them, so after a
// crash the store is exactly as of some applied index, which open() reports. Reads go to disk
// through a bounded cache; nothing in memory grows with the number of keys (the member
// records, a handful per cluster, are the only records kept whole).
//
// Reads see the state after the last completed batch, at the revision they report: a LevelDB
// read takes its implicit snapshot when it is called, so reads call LevelDB only while no
// batch is being written; those that come during a write are started by the write's commit,
// before anything else can begin the next one. See records.ts for the layout and
// snapshot-stream.ts for the snapshot format.
//
// MVCC: every change is also written to the history (history.ts) in the same batch; reads
// at an old revision (rangeRequest) walk it on disk; a compaction (a replicated command)
// prunes it. Single-key commands are applied in batches (apply-batch.ts); transactions,
// prefix deletes and compactions are applied alone, each its own LevelDB batch with its
// entry's index, between the batches of the commands around them (txn-apply.ts).
//
// Leases (etcd's Lease): "l" records on disk, granted and revoked by commands (a revoke
// deletes the lease's keys in one transaction). In memory: the leases (id and TTL; clients
// hold few) and, per lease, its keys — rebuilt at open by one scan of the key heads, which is
// skipped when the store holds no lease. When a lease expires is not decided here: the
// leader's lease keeper (grpc/lease-keeper.ts) proposes its revoke, so apply stays
// deterministic.
import * as fsp from 'node:fs/promises';
import type { OnDiskStateMachine, PreparedRestore } from '@tsraft/raft-node';
import { type ApplyResult, decodeEntries, keyOf } from './apply-result.js';

export type { ApplyResult } from './apply-result.js';
import { ApplyBatch, type CommandResult, type KeyValue, toKv } from './apply-batch.js';
import { type ByteString, bytesOf, latin1 } from './bytes.js';
import type { Command } from './command.js';
import { KvApplyOrderError, KvCorruptionError, KvStoreStateError } from './errors.js';
import {
  EVENT_DELETE,
  EVENT_PUT,
  HIST_RANGE,
  type KvEvent,
  decodeEvent,
  decodeHistValue,
  encodeEvent,
  encodeHistValue,
  histKey,
  parseHistKey,
  revKey,
} from './history.js';
import { type Db, DbHandle, type LevelTuning, compactRange, openLevel } from './level-handle.js';
import { KvCache, type KvHead } from './kv-cache.js';
import {
  type KvRecord,
  LEASE_RANGE,
  type LeaseRecord,
  MEMBER_RANGE,
  META_KEY,
  type MemberRecord,
  type Meta,
  decodeKvRecord,
  decodeLeaseRecord,
  decodeMemberRecord,
  decodeMeta,
  encodeKvRecord,
  encodeLeaseRecord,
  encodeMemberRecord,
  encodeMeta,
  kvKey,
  kvKeyFromBytes,
  kvSpanRange,
  leaseKey,
  memberKey,
  userKeyOf,
} from './records.js';
import { KvRevisionError, runRange, scanAt, scanHeads } from './range-read.js';
import {
  type RangeOp,
  type RangeResponse,
  type KeySpan,
  TXN_ERROR_MESSAGES,
  type TxnOp,
  inRange,
  prefixSpan,
  toByteRange,
} from './txn.js';
import { TxnApply, checkRevision } from './txn-apply.js';
import { restoreInto } from './restore.js';
import type { SnapshotSummary } from './snapshot-stream.js';
import { hashHistory, hashStore } from './store-hash.js';
import { type SnapshotSource, laterSource, snapshotSource } from './snapshot-source.js';
import { StoreDir } from './store-dir.js';

/** An entry as raft-node hands it over (its other fields are not needed here). */
export interface AppliedEntry {
  index: number;
  data: Uint8Array;
}

export interface KvStateMachineOptions {
  /** The store's directory (raft-kv: <data-dir>/kv). */
  dir: string;
  /**
   * Bytes of records the read cache holds (estimated, LRU; in the V8 heap, which may grow to
   * twice its live data, so each MiB here costs up to ~2.5 MiB of RSS). Default 2 MiB.
   */
  cacheBytes?: number;
  /**
   * Bytes of the table of heads (a key's numbers without its value) for puts that do not
   * want the previous value: 69 bytes a key of up to 32 bytes, off the V8 heap (head-table.ts).
   * It grows with the keys up to this bound. Default 12 MiB: ~180k keys. 0: none.
   */
  headCacheBytes?: number;
  /** LevelDB's block cache. Default 4 MiB (current records are in the caches above). */
  blockCacheBytes?: number;
  /**
   * LevelDB's memtable. Default 8 MiB: every level-0 table it flushes is merged with all of
   * level 1 (random keys overlap it whole), so a larger memtable rewrites level 1 less often.
   */
  writeBufferBytes?: number;
}

export interface HashKvResult {
  hash: number;
  /** The store's revision when it was computed. */
  revision: number;
  /** The revision the history was hashed up to. */
  hashRevision: number;
  compactRevision: number;
}

export interface GetResult {
  /** The store revision of the state read. */
  revision: number;
  kv: KeyValue | undefined;
}

export interface RangeResult {
  revision: number;
  kvs: KeyValue[];
  /** More keys matched than `limit`. */
  more: boolean;
}

type BatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/** The operations of a LevelDB chained batch (its writes live in LevelDB's native batch). */
interface Chained {
  put(key: Buffer, value: Buffer): unknown;
  del(key: Buffer): unknown;
}

/** Applied alone, between batches: they read ranges from disk and may change many keys. */
function isBatched(cmd: Command): boolean {
  return (
    cmd.op !== 'txn' &&
    cmd.op !== 'deletePrefix' &&
    cmd.op !== 'compact' &&
    cmd.op !== 'leaseGrant' &&
    cmd.op !== 'leaseRevoke'
  );
}

/** What a commit does beside a transaction's writes (a lease record, and its effect). */
interface TxnExtra {
  ops: BatchOp[];
  after(): void;
}

/** What a read uses: the database and the revision it holds while no batch is written. */
interface ReadView {
  handle: DbHandle;
  revision: number;
}

const EMPTY = Buffer.alloc(0);

/** Entries read from LevelDB per iterator step. */
const STEP = 256;
/** History records per batch when a deleted range's tombstones are written ahead. */
const TOMBSTONE_BATCH = 4096;
/**
 * Up to this many keys, apply reads the records it lacks with getSync: a few microseconds
 * each from LevelDB's memtable, bloom filters and block cache, against two thread-pool hops
 * of an async getMany. It blocks the event loop only when a table block must come from disk.
 */
const SYNC_PREFETCH_MAX = 8;

/**
 * The memtable of a database being filled from a snapshot. A restore writes faster than
 * LevelDB compacts, so level 0 fills up with tables of the memtable's size, and LevelDB maps
 * each table it reads into memory: a member joining a store of 200k keys of 1 KiB peaked at
 * 349 MiB RSS, 211 of it file-backed, with the live memtable (8 MiB); at 4 MiB 256 MiB, at
 * 2 MiB 216 MiB (72 file-backed), catching up in 22.8 s against 18.9. The database is
 * reopened with the live tuning once filled.
 */
const RESTORE_WRITE_BUFFER = 2 << 20;

export class KvStateMachine implements OnDiskStateMachine<ApplyResult> {
  private dir: StoreDir | null = null;
  private handle: DbHandle | null = null;
  private applied = 0;
  /** Successful mutations; every key's modRevision <= rev. */
  private rev = 0;
  private keys = 0;
  /** Reads below it are refused; history at or below it is pruned (the last change kept). */
  private compactRev = 0;
  /** The member records: one per member that published its URLs, a handful per cluster. */
  private readonly members = new Map<number, MemberRecord>();
  /**
   * The leases: id -> granted TTL in seconds, and `grant`: leaseChanges when it was granted
   * or loaded (tells a lease from an earlier one of the same id). Few: clients share a lease
   * among many keys.
   */
  private readonly leases = new Map<number, { ttl: number; grant: number }>();
  /** The keys attached to each lease, and the lease of each such key (keys without none). */
  private readonly leaseKeys = new Map<number, Set<ByteString>>();
  private readonly keyLeases = new Map<ByteString, number>();
  /** Told after each grant, revoke or restore (the lease keeper). */
  private readonly leaseListeners = new Set<() => void>();
  private leaseChanges = 0;
  private readonly cache: KvCache;
  /** Records read from the store on the apply path (the caches did not hold them). */
  private applyReadCount = 0;
  private readonly tuning: LevelTuning;
  /** A batch is being written: reads wait in `readers` for its commit. */
  private writing = false;
  private readers: (() => void)[] = [];
  /**
   * The last batch's write when apply() answered before it landed (see apply): its meta, and
   * the write. Reads wait for it (`writing` is set), as does everything that writes.
   */
  private ahead: Meta | null = null;
  private landing: Promise<void> = Promise.resolve();
  /** Batches written since the last sync(). */
  private dirty = false;
  /** apply() or restore() is running (raft-node never runs them concurrently). */
  private busy = false;
  /** A restore is being prepared or waits to be installed (prepareRestore). */
  private preparing = false;
  /** Database writes run one at a time, in call order. */
  private writes: Promise<unknown> = Promise.resolve();
  private failed: KvStoreStateError | null = null;
  /** Old databases being closed after a restore. */
  private retiring: Promise<unknown> = Promise.resolve();
  /** Told the revision after every committed write and restore (watches, watch-service.ts). */
  private readonly commitListeners = new Set<(revision: number) => void>();

  constructor(readonly options: KvStateMachineOptions) {
    this.cache = new KvCache(options.cacheBytes ?? 2 << 20, options.headCacheBytes ?? 12 << 20);
    this.tuning = {
      blockCacheBytes: options.blockCacheBytes ?? 4 << 20,
      writeBufferBytes: options.writeBufferBytes ?? 8 << 20,
    };
  }

  // ---- raft-node's OnDiskStateMachine ----

  /** Opens (creating) the store; returns the index of the last entry applied to it. */
  async open(): Promise<number> {
    if (this.handle !== null) throw new KvStoreStateError('KV_STORE_BUSY', 'already open');
    this.dir = await StoreDir.open(this.options.dir);
    const db = await openLevel(this.dir.current, this.tuning);
    const handle = new DbHandle(db, this.dir.current);
    try {
      await this.load(handle);
    } catch (err) {
      await db.close().catch(() => {});
      throw err;
    }
    this.handle = handle;
    return this.applied;
  }

  /** The last entry applied: its batch is what open() returns once it landed (or sync()). */
  appliedIndex(): number {
    return this.ahead?.appliedIndex ?? this.applied;
  }

  /**
   * Applies committed entries in one batch; one result per entry: undefined for an empty
   * entry (a leader's no-op), {op: 'invalid'} for bytes that are not a command.
   *
   * The results are known before the batch is written, and the last batch is answered
   * without waiting for its write (as etcd answers from its backend's buffer): what it wrote
   * is in the raft log already, and a crash before it lands replays it. Everything that
   * reads or writes the store waits for it to land, so no one sees the state before it once
   * the answer is out. Batches that change leases or members are still awaited: those are
   * read from memory synchronously (leaseKeyList, memberList).
   */
  async apply(entries: readonly AppliedEntry[]): Promise<ApplyResult[]> {
    if (this.busy)
      throw new KvStoreStateError('KV_STORE_BUSY', 'apply while applying or restoring');
    this.busy = true;
    try {
      await this.landing; // the batch before: this one starts from what it wrote
      const handle = this.live();
      let last = this.applied;
      for (const e of entries) {
        if (e.index <= last) throw new KvApplyOrderError(e.index, last);
        last = e.index;
      }
      if (entries.length === 0) return [];
      const { commands, results } = decodeEntries(entries);
      const complex = (i: number): boolean => {
        const c = commands[i];
        return c !== undefined && !isBatched(c);
      };
      // Runs of batched commands, each one LevelDB batch; the others alone, in between.
      let i = 0;
      while (i < entries.length) {
        if (complex(i)) {
          results[i] = await this.applyAlone(handle, commands[i]!, entries[i]!.index);
          i++;
          continue;
        }
        let j = i;
        while (j < entries.length && !complex(j)) j++;
        const run = commands.slice(i, j);
        const base = await this.prefetch(handle.db, run);
        const batch = new ApplyBatch(this.rev, this.keys, (k) => base.get(k));
        for (let k = i; k < j; k++) {
          const cmd = commands[k];
          if (cmd !== undefined) results[k] = batch.apply(cmd);
        }
        const index = entries[j - 1]!.index;
        const written = this.exclusive(() => this.commit(handle, batch, index));
        if (j === entries.length && this.answersEarly(batch)) this.landLater(written, batch, index);
        else await written;
        i = j;
      }
      return results;
    } finally {
      this.busy = false;
    }
  }

  /**
   * The state as of the last applied batch, as a stream (snapshot-stream.ts). The view is
   * taken now, synchronously, or, while that batch is still being written, as it lands
   * (before anything can start the next one); applies may go on while the stream is read.
   */
  snapshot(): SnapshotSource {
    const handle = this.live();
    if (this.writing) return laterSource(this.withView(async () => this.snapshot()));
    handle.acquire();
    return snapshotSource(handle, {
      appliedIndex: this.applied,
      revision: this.rev,
      compactRevision: this.compactRev,
    });
  }

  /**
   * Replaces the whole state with a snapshot stream's: written into a new database beside the
   * live one, then swapped in atomically. A stream that is refused (KvSnapshotError), a
   * failure or a crash before the swap leave the old state and applied index as they were.
   */
  async restore(from: AsyncIterable<Uint8Array>): Promise<void> {
    this.live();
    if (this.busy)
      throw new KvStoreStateError('KV_STORE_BUSY', 'restore while applying or restoring');
    const prepared = await this.prepareRestore(from);
    await prepared.install();
  }

  /**
   * The first half of restore(): fills a new database beside the live one from the stream
   * while applies go on on the live one; install() swaps it in (between two applies),
   * discard() removes it. One at a time.
   */
  async prepareRestore(from: AsyncIterable<Uint8Array>): Promise<PreparedRestore> {
    this.live();
    if (this.preparing)
      throw new KvStoreStateError('KV_STORE_BUSY', 'a restore is already being prepared');
    this.preparing = true;
    let db: Db | null = null;
    let path = '';
    let summary: SnapshotSummary;
    try {
      path = await this.dir!.prepareNext();
      db = await openLevel(path, { ...this.tuning, writeBufferBytes: RESTORE_WRITE_BUFFER });
      summary = await restoreInto(db, from);
      await db.close();
      db = null; // closed: a failed reopen has nothing to close
      db = await openLevel(path, this.tuning);
    } catch (err) {
      await db?.close().catch(() => {});
      if (path !== '') await fsp.rm(path, { recursive: true, force: true }).catch(() => {}); // open removes it
      this.preparing = false;
      throw err;
    }
    const next = new DbHandle(db, path);
    let state: 'ready' | 'installed' | 'discarded' = 'ready';
    return {
      appliedIndex: summary.appliedIndex,
      install: async () => {
        if (state !== 'ready') throw new KvStoreStateError('KV_STORE_BUSY', `restore ${state}`);
        const old = this.live();
        if (this.busy)
          throw new KvStoreStateError('KV_STORE_BUSY', 'restore while applying or restoring');
        state = 'installed';
        this.busy = true;
        try {
          await this.exclusive(() => this.swap(old, next));
        } finally {
          this.busy = false;
          this.preparing = false;
        }
      },
      discard: async () => {
        if (state !== 'ready') return;
        state = 'discarded';
        await next.retire().catch(() => {});
        await fsp.rm(path, { recursive: true, force: true }).catch(() => {});
        this.preparing = false;
      },
    };
  }

  /** Makes every applied batch durable. */
  async sync(): Promise<void> {
    this.live();
    await this.exclusive(async () => {
      if (!this.dirty) return;
      // A synced write syncs LevelDB's log, and with it every write before it. The database
      // is looked up now: a restore queued before may have swapped it.
      await this.live().db.put(META_KEY, encodeMeta(this.meta()), { sync: true });
      this.dirty = false;
    });
  }

  /** Closes the store (after the last apply). Unsynced batches are left to LevelDB's log. */
  async close(): Promise<void> {
    const handle = this.handle;
    if (handle === null) return;
    await this.writes.catch(() => {});
    this.handle = null;
    await handle.retire();
    await this.retiring;
  }

  // ---- reads (the HTTP API) ----

  /** The revision of the last applied change (reads wait until it landed). */
  get revision(): number {
    return this.ahead?.revision ?? this.rev;
  }

  /** Reads below this revision are refused (etcd's compacted revision). */
  get compactRevision(): number {
    return this.compactRev;
  }

  /**
   * etcd's Range: the keys of a span at a revision (0: the current one), with its limit,
   * count, sort and filters. Throws KvRevisionError for a compacted or future revision.
   */
  rangeRequest(o: RangeOp): Promise<RangeResponse & { revision: number }> {
    // Only at revision 0: a revision named by the client may be passed by the time the read
    // starts (it waits for a batch being written), and must then be read from the history.
    if (o.rangeEnd.length === 0 && o.revision === 0) return this.rangeOfKey(o);
    return this.withView(async (view) => {
      const range = toByteRange(o);
      if (o.revision === 0 || o.revision === view.revision) {
        // The iterator, made now, is the read's implicit snapshot.
        const source = scanHeads(view.handle.db, range, view.handle.path);
        const it = source[Symbol.asyncIterator]();
        const first = it.next(); // creates the iterator before any await
        const r = await runRange(resume(first, it), o);
        return { ...r, revision: view.revision };
      }
      checkRevision(o.revision, view.revision, this.compactRev);
      // History at or below the current revision does not change but for compactions: a
      // snapshot keeps what this read needs while one runs.
      const snapshot = view.handle.db.snapshot();
      try {
        const source = scanAt(view.handle.db, range, o.revision, view.handle.path, { snapshot });
        const r = await runRange(source, o);
        return { ...r, revision: view.revision };
      } finally {
        await snapshot.close();
      }
    });
  }

  /**
   * A Range of one key at the current revision (revision 0), as get() reads it (the cache,
   * else one LevelDB get): an iterator per request costs several times more.
   */
  private async rangeOfKey(o: RangeOp): Promise<RangeResponse & { revision: number }> {
    const bytes = Buffer.from(o.key);
    const key = latin1(bytes);
    const { revision, kv } = await this.getRecord(key);
    const entries = kv === undefined ? [] : [{ bytes, key, record: kv }];
    return { ...(await runRange(entries, o)), revision };
  }

  /** Live keys. */
  get size(): number {
    return this.ahead?.keyCount ?? this.keys;
  }

  member(id: number): MemberRecord | undefined {
    return this.members.get(id);
  }

  /** A lease's granted TTL in seconds, or undefined when there is no such lease. */
  leaseTtl(id: number): number | undefined {
    return this.leases.get(id)?.ttl;
  }

  /**
   * Every lease by ascending id: its granted TTL, and `grant`, which differs from that of an
   * earlier lease of the same id (revoked, then granted again).
   */
  leaseList(): { id: number; ttl: number; grant: number }[] {
    return [...this.leases].map(([id, l]) => ({ id, ...l })).sort((a, b) => a.id - b.id);
  }

  /** The keys attached to a lease, in ascending byte order (byte strings sort so). */
  leaseKeyList(id: number): ByteString[] {
    return [...(this.leaseKeys.get(id) ?? [])].sort();
  }

  /** Counts lease grants, revokes and restores: unchanged, so is every lease. */
  get leaseGeneration(): number {
    return this.leaseChanges;
  }

  /** Calls `listener` after each lease grant, revoke or restore; returns its removal. */
  onLeaseChange(listener: () => void): () => void {
    this.leaseListeners.add(listener);
    return () => this.leaseListeners.delete(listener);
  }

  memberList(): MemberRecord[] {
    return [...this.members.values()].sort((a, b) => a.id - b.id);
  }

  async get(key: ByteString): Promise<GetResult> {
    const { revision, kv } = await this.getRecord(key);
    return { revision, kv: kv === undefined ? undefined : toKv(key, kv) };
  }

  /** A key's record at the current revision: from the cache, else from disk (then cached). */
  private getRecord(key: ByteString): Promise<{ revision: number; kv: KvRecord | undefined }> {
    // The cache holds what landed: while a batch is in flight, its changes are not in it yet.
    if (this.writing) return this.withView(() => this.getRecord(key));
    const cached = this.cache.record(key);
    if (cached !== undefined) return Promise.resolve({ revision: this.rev, kv: cached });
    let handle: DbHandle;
    try {
      handle = this.live();
    } catch (err) {
      return Promise.reject(err);
    }
    // No batch in flight: LevelDB holds exactly revision this.rev, and a getSync reads it in
    // microseconds (memtable, bloom filters, block cache) where get() takes two thread-pool
    // hops; it blocks the loop only while a table block comes from disk.
    const raw = handle.db.getSync(kvKey(key));
    const rec = raw === undefined ? undefined : decodeKvRecord(raw, handle.path);
    if (rec !== undefined) this.cache.set(key, rec);
    return Promise.resolve({ revision: this.rev, kv: rec });
  }

  /** Keys starting with `prefix` in ascending byte order, at most `limit`. */
  range(prefix: ByteString, limit = Number.POSITIVE_INFINITY): Promise<RangeResult> {
    const span = toByteRange(prefixSpan(bytesOf(prefix)));
    return this.withView(async (view) => {
      const it = view.handle.db.iterator({
        ...kvSpanRange(span.start, span.end),
        limit: Number.isFinite(limit) ? limit + 1 : -1,
      });
      try {
        const kvs: KeyValue[] = [];
        for (;;) {
          const entries = await it.nextv(STEP);
          if (entries.length === 0) return { revision: view.revision, kvs, more: false };
          for (const [k, v] of entries) {
            if (kvs.length >= limit) return { revision: view.revision, kvs, more: true };
            kvs.push(toKv(userKeyOf(k), decodeKvRecord(v, view.handle.path)));
          }
        }
      } finally {
        await it.close();
      }
    });
  }

  // ---- the history (etcd's Watch) ----

  /**
   * The changes of revisions [from, to] (to capped at the current revision), in revision
   * order, at most `limit` of them (the last revision returned may then be partial: read on
   * from its main revision and skip what was seen). Throws KvRevisionError('compacted') when
   * `from` is below the compacted revision: what happened there is no longer all known.
   */
  history(from: number, to: number, limit: number): Promise<KvEvent[]> {
    return this.withView(async (view) => {
      if (from < this.compactRev) throw new KvRevisionError('compacted', from);
      const last = Math.min(to, view.revision);
      if (from > last) return [];
      const it = view.handle.db.iterator({
        gte: revKey(from, 0),
        lt: revKey(last + 1, 0),
        limit,
      } as never);
      try {
        const out: KvEvent[] = [];
        for (;;) {
          const entries = (await it.nextv(256)) as [Buffer, Buffer][];
          if (entries.length === 0) return out;
          for (const [k, v] of entries) out.push(decodeEvent(k, v, view.handle.path));
        }
      } finally {
        await it.close();
      }
    });
  }

  // ---- maintenance (etcd's Maintenance service) ----

  /**
   * etcd's HashKV: a hash of the history up to `rev` (0: the current revision), from one
   * point in time. Refused at or below the compacted revision and above the current one, as
   * etcd refuses them.
   */
  hashKv(rev: number): Promise<HashKvResult> {
    return this.withView(async (view) => {
      const compactRevision = this.compactRev;
      if (rev > 0 && rev <= compactRevision) throw new KvRevisionError('compacted', rev);
      if (rev > view.revision) throw new KvRevisionError('futureRev', rev);
      const hashRevision = rev === 0 ? view.revision : rev;
      const hash = await hashHistory(view.handle.db, hashRevision);
      return { hash, revision: view.revision, hashRevision, compactRevision };
    });
  }

  /** etcd's Hash: a hash of every record but the applied index, from one point in time. */
  hash(): Promise<{ hash: number; revision: number }> {
    return this.withView(async (view) => ({
      hash: await hashStore(view.handle.db),
      revision: view.revision,
    }));
  }

  /** etcd's Defragment: LevelDB compacts every table, dropping overwritten and deleted records. */
  async defragment(): Promise<void> {
    const handle = this.live();
    handle.acquire();
    try {
      await compactRange(handle.db, Buffer.of(0), Buffer.of(0xff));
    } finally {
      handle.release();
    }
  }

  /**
   * A snapshot stream (as snapshot()) taken at the next moment no batch is being written:
   * for readers off the apply path (etcd's Maintenance.Snapshot).
   */
  snapshotWhenIdle(): Promise<SnapshotSource> {
    return this.withView(async () => this.snapshot());
  }

  /** Records read from the store on the apply path: keys the caches did not hold. */
  get applyReads(): number {
    return this.applyReadCount;
  }

  /** Calls `listener` with the revision after each committed write or restore; returns its removal. */
  onCommit(listener: (revision: number) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  private notifyCommit(): void {
    for (const l of this.commitListeners) l(this.rev);
  }

  // ---- inside ----

  private live(): DbHandle {
    if (this.failed !== null) throw this.failed;
    if (this.handle === null)
      throw new KvStoreStateError('KV_STORE_NOT_OPEN', 'the kv store is not open');
    return this.handle;
  }

  /**
   * Runs a read against the last committed state: now if no batch is being written, else
   * from the write's commit. `read` must call LevelDB before its first await (the call takes
   * LevelDB's implicit snapshot).
   */
  private withView<T>(read: (view: ReadView) => Promise<T>): Promise<T> {
    const start = (): Promise<T> => {
      let handle: DbHandle;
      try {
        handle = this.live();
      } catch (err) {
        return Promise.reject(err);
      }
      handle.acquire();
      const view = { handle, revision: this.rev };
      return read(view).finally(() => handle.release());
    };
    if (!this.writing) return start();
    return new Promise<T>((resolve, reject) => {
      this.readers.push(() => start().then(resolve, reject));
    });
  }

  private meta(): Meta {
    return {
      appliedIndex: this.applied,
      revision: this.rev,
      keyCount: this.keys,
      compactRevision: this.compactRev,
    };
  }

  /** Whether apply() may answer before `batch` lands: it changes no lease and no member. */
  private answersEarly(batch: ApplyBatch): boolean {
    if (batch.memberWrites.size > 0) return false;
    for (const [k, rec] of batch.writes) {
      if ((rec !== null && rec.lease !== 0) || this.keyLeases.has(k)) return false;
    }
    return true;
  }

  /**
   * Lets `written` (the batch's commit, already queued) land after apply() returned. Reads
   * wait from now on; a failed write fails the store (`failed`), which the next call reports.
   */
  private landLater(written: Promise<void>, batch: ApplyBatch, appliedIndex: number): void {
    this.writing = true;
    const ahead: Meta = {
      appliedIndex,
      revision: batch.revision,
      keyCount: batch.keyCount,
      compactRevision: this.compactRev,
    };
    this.ahead = ahead;
    this.landing = written.then(
      () => {
        if (this.ahead === ahead) this.ahead = null;
      },
      (err: unknown) => {
        if (this.ahead === ahead) this.ahead = null;
        this.fail('a batch failed to be written; reopen the store', err);
        this.writing = false;
        this.startReaders(); // they fail with KV_STORE_FAILED
      },
    );
  }

  /** Marks the store failed (the first failure stays the reason); returns that error. */
  private fail(what: string, err: unknown): KvStoreStateError {
    if (this.failed === null) {
      this.failed = new KvStoreStateError('KV_STORE_FAILED', `${what}: ${(err as Error).message}`);
      this.failed.cause = err;
    }
    return this.failed;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writes.then(fn, fn);
    this.writes = run.catch(() => {});
    return run;
  }

  /**
   * The records of every key the commands name, as of now: from the cache, else the disk. A
   * key only put without its previous value wanted needs only its head.
   */
  private async prefetch(
    db: Db,
    commands: readonly (Command | undefined)[],
  ): Promise<Map<ByteString, KvRecord | KvHead | undefined>> {
    const needsValue = new Map<ByteString, boolean>();
    for (const cmd of commands) {
      const key = cmd === undefined ? undefined : keyOf(cmd);
      if (key === undefined) continue;
      const blind = cmd!.op === 'put' && cmd!.withoutPrev === true;
      if (!blind || !needsValue.has(key)) needsValue.set(key, !blind);
    }
    const base = new Map<ByteString, KvRecord | KvHead | undefined>();
    const missing: ByteString[] = [];
    for (const [key, value] of needsValue) {
      const hit = value ? this.cache.record(key) : this.cache.head(key);
      base.set(key, hit);
      if (hit === undefined) missing.push(key);
    }
    this.applyReadCount += missing.length;
    if (missing.length > 0) {
      const raw =
        missing.length <= SYNC_PREFETCH_MAX
          ? missing.map((k) => db.getSync(kvKey(k)))
          : await db.getMany(missing.map(kvKey));
      for (let i = 0; i < missing.length; i++) {
        const r = raw[i];
        if (r !== undefined) base.set(missing[i]!, decodeKvRecord(r, this.handle!.path));
      }
    }
    return base;
  }

  /** A transaction, prefix delete or compaction, in a LevelDB batch of its own. */
  private async applyAlone(handle: DbHandle, cmd: Command, index: number): Promise<CommandResult> {
    if (cmd.op === 'compact') return this.applyCompact(handle, cmd.revision, index);
    if (cmd.op === 'leaseGrant') return this.applyLeaseGrant(handle, cmd.id, cmd.ttl, index);
    let extra: TxnExtra | undefined;
    if (cmd.op === 'leaseRevoke') {
      const id = cmd.id;
      if (!this.leases.has(id)) {
        await this.exclusive(() => this.write(handle, [], { ...this.meta(), appliedIndex: index }));
        return leaseRefusal('leaseNotFound', this.rev);
      }
      extra = {
        ops: [{ type: 'del', key: leaseKey(id) }],
        after: () => {
          this.leases.delete(id);
          this.leaseKeys.delete(id);
        },
      };
    }
    const txn = this.txnOf(cmd);
    const ta = new TxnApply({
      db: handle.db,
      path: handle.path,
      revision: this.rev,
      compactRevision: this.compactRev,
      get: async (key) => {
        const hit = this.cache.record(key);
        if (hit !== undefined) return hit;
        const raw = await handle.db.get(kvKey(key));
        return raw === undefined ? undefined : decodeKvRecord(raw, handle.path);
      },
      hasLease: (id) => this.leases.has(id),
    });
    const result = await ta.run(txn);
    await this.exclusive(() => this.commitTxn(handle, ta, index, extra));
    if (extra !== undefined) this.notifyLeases();
    if (cmd.op === 'leaseRevoke') {
      const r = result.op === 'txn' ? result.responses : [];
      const deleted = r.reduce((n, x) => n + (x.op === 'deleteRange' ? x.deleted : 0), 0);
      return { op: 'leaseRevoke', revision: result.revision, deleted };
    }
    if (cmd.op !== 'deletePrefix') return result;
    const r = result.op === 'txn' ? result.responses[0] : undefined;
    return {
      op: 'deletePrefix',
      revision: result.revision,
      deleted: r?.op === 'deleteRange' ? r.deleted : 0,
    };
  }

  /**
   * Deleted ranges' tombstones go to disk first, in batches of their own: history above the
   * store's revision is read by nobody, and a crash before the final batch leaves records
   * that replaying the entry writes again, identical. The final batch, with the meta, then
   * holds only the head deletes, so a large delete's LevelDB batch stays small.
   */
  private async commitTxn(
    handle: DbHandle,
    ta: TxnApply,
    index: number,
    extra?: TxnExtra,
  ): Promise<void> {
    const main = ta.revision;
    for (let j = 0; j < ta.deleted.length; j++) {
      const d = ta.deleted[j]!;
      const earlier = ta.deleted.slice(0, j);
      let sub = d.subStart;
      let ops: BatchOp[] = [];
      for await (const e of scanHeads(handle.db, d.range, handle.path)) {
        if (earlier.some((x) => inRange(x.range, e.bytes))) continue;
        this.putEvent(ops, e.bytes, e.key, main, sub++, null);
        if (ops.length >= TOMBSTONE_BATCH) {
          await handle.db.batch(ops);
          ops = [];
        }
      }
      if (ops.length > 0) await handle.db.batch(ops);
      if (sub !== d.subStart + d.count) {
        throw new KvCorruptionError(handle.path, 'a deleted range changed while it was applied');
      }
    }
    const chained = handle.db.batch();
    try {
      for (let j = 0; j < ta.deleted.length; j++) {
        for await (const e of scanHeads(handle.db, ta.deleted[j]!.range, handle.path)) {
          chained.del(kvKeyFromBytes(e.bytes));
        }
      }
      for (const ev of ta.events) {
        chained.put(kvKey(ev.key), encodeKvRecord(ev.record!));
        this.putEvent(chained, bytesOf(ev.key), ev.key, ev.main, ev.sub, ev.record);
      }
      for (const op of extra?.ops ?? []) {
        if (op.type === 'put') chained.put(op.key, op.value);
        else chained.del(op.key);
      }
    } catch (err) {
      await chained.close();
      throw err;
    }
    const meta: Meta = {
      appliedIndex: index,
      revision: ta.revision,
      keyCount: this.keys + ta.keyDelta,
      compactRevision: this.compactRev,
    };
    await this.write(handle, chained, meta, () => {
      if (ta.deleted.length > 0) {
        this.cache.deleteWhere((k) => {
          const b = bytesOf(k);
          return ta.deleted.some((d) => inRange(d.range, b));
        });
        for (const k of [...this.keyLeases.keys()]) {
          const b = bytesOf(k);
          if (ta.deleted.some((d) => inRange(d.range, b))) this.attach(k, 0);
        }
      }
      for (const [k, rec] of ta.puts) {
        this.cache.set(k, rec);
        this.attach(k, rec.lease);
      }
      extra?.after();
    });
  }

  /** What a command applied alone runs: a txn as it is, the others as one. */
  private txnOf(cmd: Command): TxnOp {
    const deletes = (spans: KeySpan[]): TxnOp => ({
      op: 'txn',
      compare: [],
      success: spans.map((span) => ({ op: 'deleteRange', ...span, prevKv: false })),
      failure: [],
    });
    switch (cmd.op) {
      case 'txn':
        return cmd;
      case 'deletePrefix':
        return deletes([prefixSpan(bytesOf(cmd.prefix))]);
      case 'leaseRevoke':
        // One delete per attached key: all at one revision, as etcd's revoke.
        return deletes(
          this.leaseKeyList(cmd.id).map((k) => ({ key: bytesOf(k), rangeEnd: EMPTY })),
        );
      default:
        throw new Error(`${cmd.op} is not applied as a transaction`);
    }
  }

  /** Records that `key` now holds `lease` (0: none, or deleted) in the in-memory index. */
  private attach(key: ByteString, lease: number): void {
    const old = this.keyLeases.get(key);
    if (old === lease) return;
    if (old !== undefined) {
      const set = this.leaseKeys.get(old);
      set?.delete(key);
      this.keyLeases.delete(key);
    }
    if (lease === 0) return;
    this.keyLeases.set(key, lease);
    let set = this.leaseKeys.get(lease);
    if (set === undefined) {
      set = new Set();
      this.leaseKeys.set(lease, set);
    }
    set.add(key);
  }

  private notifyLeases(): void {
    this.leaseChanges++;
    for (const l of this.leaseListeners) l();
  }

  /** etcd's LeaseGrant: a lease record; no revision. */
  private async applyLeaseGrant(
    handle: DbHandle,
    id: number,
    ttl: number,
    index: number,
  ): Promise<CommandResult> {
    const meta = { ...this.meta(), appliedIndex: index };
    if (this.leases.has(id)) {
      await this.exclusive(() => this.write(handle, [], meta));
      return leaseRefusal('leaseExists', this.rev);
    }
    const ops: BatchOp[] = [
      { type: 'put', key: leaseKey(id), value: encodeLeaseRecord({ id, ttl }) },
    ];
    const grant = this.leaseChanges + 1; // notifyLeases() below counts it
    await this.exclusive(() =>
      this.write(handle, ops, meta, () => this.leases.set(id, { ttl, grant })),
    );
    this.notifyLeases();
    return { op: 'leaseGrant', revision: this.rev, id, ttl };
  }

  private putEvent(
    to: Chained | BatchOp[],
    keyBytes: Uint8Array,
    key: ByteString,
    main: number,
    sub: number,
    record: KvRecord | null,
  ): void {
    const rk = revKey(main, sub);
    const rv = encodeEvent(key, record);
    const hk = histKey(keyBytes, main);
    const hv = encodeHistValue(sub, record === null ? EVENT_DELETE : EVENT_PUT);
    if (Array.isArray(to)) {
      to.push({ type: 'put', key: rk, value: rv }, { type: 'put', key: hk, value: hv });
    } else {
      to.put(rk, rv);
      to.put(hk, hv);
    }
  }

  /**
   * etcd's Compact: reads below `rev` are refused from now on, and each key's history at or
   * below it is pruned to its last change (none when that was a delete). One pass over the
   * history index, streamed into the batch.
   */
  private async applyCompact(handle: DbHandle, rev: number, index: number): Promise<CommandResult> {
    const refuse = rev <= this.compactRev ? 'compacted' : rev > this.rev ? 'futureRev' : undefined;
    const chained = handle.db.batch();
    if (refuse === undefined) {
      try {
        await this.pruneHistory(handle, rev, chained);
      } catch (err) {
        await chained.close();
        throw err;
      }
    }
    const compactRevision = refuse === undefined ? rev : this.compactRev;
    await this.exclusive(() =>
      this.write(handle, chained, {
        appliedIndex: index,
        revision: this.rev,
        keyCount: this.keys,
        compactRevision,
      }),
    );
    if (refuse !== undefined) {
      const message =
        refuse === 'compacted'
          ? 'mvcc: required revision has been compacted'
          : 'mvcc: required revision is a future revision';
      return { op: 'txnError', revision: this.rev, code: refuse, message };
    }
    return { op: 'compact', revision: this.rev, compactRevision };
  }

  private async pruneHistory(handle: DbHandle, rev: number, chained: Chained): Promise<void> {
    let key: Buffer | null = null;
    /** The key's last change at or below `rev` so far: dropped if another follows. */
    let last: { dbKey: Buffer; main: number; sub: number; type: number } | null = null;
    const drop = (x: NonNullable<typeof last>): void => {
      chained.del(x.dbKey);
      chained.del(revKey(x.main, x.sub));
    };
    const it = handle.db.iterator(HIST_RANGE);
    try {
      for (;;) {
        const entries = await it.nextv(1024);
        for (const [k, v] of entries) {
          const h = parseHistKey(k, handle.path);
          if (key === null || !h.key.equals(key)) {
            if (last !== null && last.type === EVENT_DELETE) drop(last);
            key = h.key;
            last = null;
          }
          if (h.main > rev) continue;
          if (last !== null) drop(last);
          last = { dbKey: Buffer.from(k), main: h.main, ...decodeHistValue(v, handle.path) };
        }
        if (entries.length === 0) break;
      }
      if (last !== null && last.type === EVENT_DELETE) drop(last);
    } finally {
      await it.close();
    }
  }

  /** Writes one batch of single-key commands, their history and the meta. */
  private async commit(handle: DbHandle, batch: ApplyBatch, appliedIndex: number): Promise<void> {
    // A chained batch: the operations go straight into LevelDB's native batch, where an array
    // is first cloned and transcoded op by op by abstract-level (~1.6 against ~1 us per op).
    const ops = handle.db.batch();
    for (const [k, rec] of batch.writes) {
      if (rec === null) ops.del(kvKey(k));
      else ops.put(kvKey(k), encodeKvRecord(rec));
    }
    for (const ev of batch.events) {
      const type = ev.record === null ? EVENT_DELETE : EVENT_PUT;
      ops.put(revKey(ev.main, ev.sub), encodeEvent(ev.key, ev.record));
      ops.put(histKey(bytesOf(ev.key), ev.main), encodeHistValue(ev.sub, type));
    }
    for (const [id, m] of batch.memberWrites) {
      if (m === null) ops.del(memberKey(id));
      else ops.put(memberKey(id), encodeMemberRecord(m));
    }
    const meta: Meta = {
      appliedIndex,
      revision: batch.revision,
      keyCount: batch.keyCount,
      compactRevision: this.compactRev,
    };
    await this.write(handle, ops, meta, () => {
      for (const [k, rec] of batch.writes) {
        if (rec === null) this.cache.delete(k);
        else this.cache.set(k, rec);
        this.attach(k, rec?.lease ?? 0);
      }
      for (const [id, m] of batch.memberWrites) {
        if (m === null) this.members.delete(id);
        else this.members.set(id, m);
      }
    });
  }

  /**
   * Writes `ops` (an array, or a chained batch: its operations live in LevelDB's native
   * batch, not in an array of ours) with the meta record, then, in one step with `after`,
   * makes it what reads see.
   */
  private async write(
    handle: DbHandle,
    ops: BatchOp[] | (Chained & { write(): Promise<void> }),
    meta: Meta,
    after: () => void = () => {},
  ): Promise<void> {
    const metaValue = encodeMeta(meta);
    let write: () => Promise<void>;
    if (Array.isArray(ops)) {
      ops.push({ type: 'put', key: Buffer.from(META_KEY), value: metaValue });
      write = () => handle.db.batch(ops);
    } else {
      ops.put(Buffer.from(META_KEY), metaValue);
      write = () => ops.write();
    }
    this.writing = true;
    try {
      await write();
    } catch (err) {
      const failed = this.fail(`a write to ${handle.path} failed; reopen the store`, err);
      this.writing = false;
      this.startReaders(); // they fail with KV_STORE_FAILED
      throw failed;
    }
    this.writing = false;
    this.applied = meta.appliedIndex;
    this.rev = meta.revision;
    this.keys = meta.keyCount;
    this.compactRev = meta.compactRevision;
    after();
    this.dirty = true;
    this.startReaders();
    this.notifyCommit();
  }

  /** Starts the reads that waited for a write, before anything can begin the next one. */
  private startReaders(): void {
    for (const start of this.readers.splice(0)) start();
  }

  /** Reads the meta and member records of a database into memory. */
  private async load(handle: DbHandle): Promise<void> {
    const raw = await handle.db.get(Buffer.from(META_KEY));
    const meta =
      raw === undefined
        ? { appliedIndex: 0, revision: 0, keyCount: 0, compactRevision: 0 }
        : decodeMeta(raw, handle.path);
    const members: MemberRecord[] = [];
    for (const [k, v] of await handle.db.iterator(MEMBER_RANGE).all()) {
      members.push(decodeMemberRecord(k, v, handle.path));
    }
    const leases: LeaseRecord[] = [];
    for (const [k, v] of await handle.db.iterator(LEASE_RANGE).all()) {
      leases.push(decodeLeaseRecord(k, v, handle.path));
    }
    // Which keys each lease holds: one scan of the heads, only when some lease exists.
    const attached: [ByteString, number][] = [];
    if (leases.length > 0) {
      for await (const e of scanHeads(
        handle.db,
        { start: Buffer.alloc(0), end: null },
        handle.path,
      )) {
        if (e.record.lease !== 0) attached.push([e.key, e.record.lease]);
      }
    }
    this.applied = meta.appliedIndex;
    this.rev = meta.revision;
    this.keys = meta.keyCount;
    this.compactRev = meta.compactRevision;
    this.members.clear();
    for (const m of members) this.members.set(m.id, m);
    this.leases.clear();
    this.leaseKeys.clear();
    this.keyLeases.clear();
    for (const l of leases) this.leases.set(l.id, { ttl: l.ttl, grant: this.leaseChanges });
    for (const [k, id] of attached) this.attach(k, id);
    this.cache.clear();
    this.dirty = false;
  }

  /** Makes a restored database the live one; the old one closes once its readers are done. */
  private async swap(old: DbHandle, next: DbHandle): Promise<void> {
    try {
      await this.load(next);
      await this.dir!.switchToNext();
    } catch (err) {
      // Whether CURRENT moved is unknown: reopening tells.
      await next.retire().catch(() => {});
      throw this.fail('switching to the restored store failed; reopen it', err);
    }
    this.handle = next;
    const dir = this.dir!;
    this.retiring = Promise.all([this.retiring, old.retire().then(() => dir.removeStale())]);
    this.notifyCommit();
    this.notifyLeases();
  }
}

function leaseRefusal(code: 'leaseNotFound' | 'leaseExists', revision: number): CommandResult {
  return { op: 'txnError', revision, code, message: TXN_ERROR_MESSAGES[code] };
}

/** An iterator whose first step was already taken, as an iterable again. */
async function* resume<T>(
  first: Promise<IteratorResult<T>>,
  it: AsyncIterator<T>,
): AsyncGenerator<T> {
  let r = await first;
  while (!r.done) {
    yield r.value;
    r = await it.next();
  }
}
