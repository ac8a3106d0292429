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
import * as fsp from 'node:fs/promises';
import type { OnDiskStateMachine } from '@tsraft/raft-node';
import { type ApplyResult, decodeEntries, keyOf } from './apply-result.js';

export type { ApplyResult } from './apply-result.js';
import { ApplyBatch, type KeyValue, toKv } from './apply-batch.js';
import type { Command } from './command.js';
import { KvApplyOrderError, KvStoreStateError } from './errors.js';
import { type Db, DbHandle, type LevelTuning, openLevel } from './level-handle.js';
import { LruCache } from './lru-cache.js';
import {
  type KvRecord,
  MEMBER_RANGE,
  META_KEY,
  type MemberRecord,
  type Meta,
  decodeKvRecord,
  decodeMemberRecord,
  decodeMeta,
  encodeKvRecord,
  encodeMemberRecord,
  encodeMeta,
  kvKey,
  kvPrefixRange,
  memberKey,
  userKeyOf,
} from './records.js';
import { restoreInto } from './restore.js';
import { type SnapshotSource, snapshotSource } from './snapshot-source.js';
import { StoreDir } from './store-dir.js';

/** An entry as raft-node hands it over (its other fields are not needed here). */
export interface AppliedEntry {
  index: number;
  data: Uint8Array;
}

export interface KvStateMachineOptions {
  /** The store's directory (raft-kv: <data-dir>/kv). */
  dir: string;
  /** Bytes of records the read cache holds (estimated, LRU). Default 16 MiB. */
  cacheBytes?: number;
  /** LevelDB's block cache. Default 8 MiB. */
  blockCacheBytes?: number;
  /** LevelDB's memtable. Default 4 MiB. */
  writeBufferBytes?: number;
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

/** What a read uses: the database and the revision it holds while no batch is written. */
interface ReadView {
  handle: DbHandle;
  revision: number;
  /** Batches committed when the view was taken: a result is cached only if none since. */
  commits: number;
}

/** Entries read from LevelDB per iterator step. */
const STEP = 256;
/**
 * Up to this many keys, apply reads the records it lacks with getSync: a few microseconds
 * each from LevelDB's memtable, bloom filters and block cache, against two thread-pool hops
 * of an async getMany. It blocks the event loop only when a table block must come from disk.
 */
const SYNC_PREFETCH_MAX = 8;

export class KvStateMachine implements OnDiskStateMachine<ApplyResult> {
  private dir: StoreDir | null = null;
  private handle: DbHandle | null = null;
  private applied = 0;
  /** Successful mutations; every key's modRevision <= rev. */
  private rev = 0;
  private keys = 0;
  /** The member records: one per member that published its URLs, a handful per cluster. */
  private readonly members = new Map<number, MemberRecord>();
  private readonly cache: LruCache<KvRecord>;
  private readonly tuning: LevelTuning;
  private commits = 0;
  /** A batch is being written: reads wait in `readers` for its commit. */
  private writing = false;
  private readers: (() => void)[] = [];
  /** Batches written since the last sync(). */
  private dirty = false;
  /** apply() or restore() is running (raft-node never runs them concurrently). */
  private busy = false;
  /** Database writes run one at a time, in call order. */
  private writes: Promise<unknown> = Promise.resolve();
  private failed: KvStoreStateError | null = null;
  /** Old databases being closed after a restore. */
  private retiring: Promise<unknown> = Promise.resolve();

  constructor(readonly options: KvStateMachineOptions) {
    this.cache = new LruCache<KvRecord>(
      options.cacheBytes ?? 16 << 20,
      // Strings of ASCII text take a byte per character; ~100 bytes of objects and map entry.
      (key, r) => key.length + r.value.length + 100,
    );
    this.tuning = {
      blockCacheBytes: options.blockCacheBytes ?? 8 << 20,
      writeBufferBytes: options.writeBufferBytes ?? 4 << 20,
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

  appliedIndex(): number {
    return this.applied;
  }

  /**
   * Applies committed entries in one batch; one result per entry: undefined for an empty
   * entry (a leader's no-op), {op: 'invalid'} for bytes that are not a command.
   */
  async apply(entries: readonly AppliedEntry[]): Promise<ApplyResult[]> {
    const handle = this.live();
    if (this.busy)
      throw new KvStoreStateError('KV_STORE_BUSY', 'apply while applying or restoring');
    this.busy = true;
    try {
      let last = this.applied;
      for (const e of entries) {
        if (e.index <= last) throw new KvApplyOrderError(e.index, last);
        last = e.index;
      }
      if (entries.length === 0) return [];
      const { commands, results } = decodeEntries(entries);
      const base = await this.prefetch(handle.db, commands);
      const batch = new ApplyBatch(this.rev, this.keys, (k) => base.get(k));
      for (let i = 0; i < commands.length; i++) {
        const cmd = commands[i];
        if (cmd === undefined) continue;
        const diskLive =
          cmd.op === 'deletePrefix' ? await this.countUndecided(handle.db, cmd.prefix, batch) : 0;
        results[i] = batch.apply(cmd, diskLive);
      }
      await this.exclusive(() => this.commit(handle, batch, last));
      return results;
    } finally {
      this.busy = false;
    }
  }

  /**
   * The state as of the last applied batch, as a stream (snapshot-stream.ts). The view is
   * taken now, synchronously; applies may go on while the stream is read.
   */
  snapshot(): SnapshotSource {
    const handle = this.live();
    if (this.writing) {
      throw new KvStoreStateError('KV_STORE_BUSY', 'snapshot() while a batch is being written');
    }
    handle.acquire();
    return snapshotSource(handle, { appliedIndex: this.applied, revision: this.rev });
  }

  /**
   * Replaces the whole state with a snapshot stream's: written into a new database beside the
   * live one, then swapped in atomically. A stream that is refused (KvSnapshotError), a
   * failure or a crash before the swap leave the old state and applied index as they were.
   */
  async restore(from: AsyncIterable<Uint8Array>): Promise<void> {
    const old = this.live();
    if (this.busy)
      throw new KvStoreStateError('KV_STORE_BUSY', 'restore while applying or restoring');
    this.busy = true;
    try {
      await this.exclusive(async () => {
        const dir = this.dir!;
        const path = await dir.prepareNext();
        const db = await openLevel(path, this.tuning);
        try {
          await restoreInto(db, from);
        } catch (err) {
          await db.close().catch(() => {});
          await fsp.rm(path, { recursive: true, force: true }).catch(() => {}); // open removes it
          throw err;
        }
        await this.swap(old, new DbHandle(db, path));
      });
    } finally {
      this.busy = false;
    }
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

  get revision(): number {
    return this.rev;
  }

  /** Live keys. */
  get size(): number {
    return this.keys;
  }

  member(id: number): MemberRecord | undefined {
    return this.members.get(id);
  }

  memberList(): MemberRecord[] {
    return [...this.members.values()].sort((a, b) => a.id - b.id);
  }

  async get(key: string): Promise<GetResult> {
    const cached = this.cache.get(key);
    if (cached !== undefined) return { revision: this.rev, kv: toKv(key, cached) };
    return this.withView(async (view) => {
      const raw = await view.handle.db.get(kvKey(key));
      if (raw === undefined) return { revision: view.revision, kv: undefined };
      const rec = decodeKvRecord(raw, view.handle.path);
      if (view.commits === this.commits) this.cache.set(key, rec); // nothing changed since
      return { revision: view.revision, kv: toKv(key, rec) };
    });
  }

  /** Keys starting with `prefix` in ascending UTF-8 byte order, at most `limit`. */
  range(prefix: string, limit = Number.POSITIVE_INFINITY): Promise<RangeResult> {
    return this.withView(async (view) => {
      const it = view.handle.db.iterator({
        ...kvPrefixRange(prefix),
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
      const view = { handle, revision: this.rev, commits: this.commits };
      return read(view).finally(() => handle.release());
    };
    if (!this.writing) return start();
    return new Promise<T>((resolve, reject) => {
      this.readers.push(() => start().then(resolve, reject));
    });
  }

  private meta(): Meta {
    return { appliedIndex: this.applied, revision: this.rev, keyCount: this.keys };
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writes.then(fn, fn);
    this.writes = run.catch(() => {});
    return run;
  }

  /** The records of every key the commands name, as of now: from the cache, else the disk. */
  private async prefetch(
    db: Db,
    commands: readonly (Command | undefined)[],
  ): Promise<Map<string, KvRecord | undefined>> {
    const base = new Map<string, KvRecord | undefined>();
    const missing: string[] = [];
    for (const cmd of commands) {
      const key = cmd === undefined ? undefined : keyOf(cmd);
      if (key === undefined || base.has(key)) continue;
      const hit = this.cache.get(key);
      base.set(key, hit);
      if (hit === undefined) missing.push(key);
    }
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

  /** Keys on disk under `prefix` whose state the batch has not decided yet. */
  private async countUndecided(db: Db, prefix: string, batch: ApplyBatch): Promise<number> {
    const all = batch.writes.size === 0 && batch.deletedPrefixes.length === 0;
    let n = 0;
    const it = db.keys(kvPrefixRange(prefix));
    try {
      for (;;) {
        const keys = await it.nextv(1024);
        if (keys.length === 0) return n;
        if (all) n += keys.length;
        else for (const k of keys) if (!batch.decides(userKeyOf(k))) n++;
      }
    } finally {
      await it.close();
    }
  }

  /** The keys on disk under the batch's deleted prefixes, as deletes (streamed). */
  private async *prefixDeletes(db: Db, batch: ApplyBatch): AsyncGenerator<Buffer> {
    for (const prefix of batch.deletedPrefixes) {
      const it = db.keys(kvPrefixRange(prefix));
      try {
        for (;;) {
          const keys = await it.nextv(1024);
          if (keys.length === 0) break;
          yield* keys;
        }
      } finally {
        await it.close();
      }
    }
  }

  /** Writes one batch and then, in one step, makes it what reads see. */
  private async commit(handle: DbHandle, batch: ApplyBatch, appliedIndex: number): Promise<void> {
    const ops: BatchOp[] = [];
    for (const [k, rec] of batch.writes) {
      ops.push(
        rec === null
          ? { type: 'del', key: kvKey(k) }
          : { type: 'put', key: kvKey(k), value: encodeKvRecord(rec) },
      );
    }
    for (const [id, m] of batch.memberWrites) {
      ops.push(
        m === null
          ? { type: 'del', key: memberKey(id) }
          : { type: 'put', key: memberKey(id), value: encodeMemberRecord(m) },
      );
    }
    const meta = { appliedIndex, revision: batch.revision, keyCount: batch.keyCount };
    ops.push({ type: 'put', key: Buffer.from(META_KEY), value: encodeMeta(meta) });
    // Prefix deletes go first (later operations of a LevelDB batch win), into a chained
    // batch: its operations live in LevelDB's native batch, not in an array of ours.
    let write: () => Promise<void> = () => handle.db.batch(ops);
    if (batch.deletedPrefixes.length > 0) {
      const chained = handle.db.batch();
      try {
        for await (const key of this.prefixDeletes(handle.db, batch)) chained.del(key);
      } catch (err) {
        await chained.close();
        throw err; // nothing was written
      }
      for (const op of ops) {
        if (op.type === 'put') chained.put(op.key, op.value);
        else chained.del(op.key);
      }
      write = () => chained.write();
    }
    this.writing = true;
    try {
      await write();
    } catch (err) {
      this.failed = new KvStoreStateError(
        'KV_STORE_FAILED',
        `a write to ${handle.path} failed; reopen the store: ${(err as Error).message}`,
      );
      this.failed.cause = err;
      this.writing = false;
      this.startReaders(); // they fail with KV_STORE_FAILED
      throw this.failed;
    }
    this.writing = false;
    this.applied = appliedIndex;
    this.rev = batch.revision;
    this.keys = batch.keyCount;
    if (batch.deletedPrefixes.length > 0)
      this.cache.deleteWhere((k) => batch.underDeletedPrefix(k));
    for (const [k, rec] of batch.writes) {
      if (rec === null) this.cache.delete(k);
      else this.cache.set(k, rec);
    }
    for (const [id, m] of batch.memberWrites) {
      if (m === null) this.members.delete(id);
      else this.members.set(id, m);
    }
    this.commits++;
    this.dirty = true;
    this.startReaders();
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
        ? { appliedIndex: 0, revision: 0, keyCount: 0 }
        : decodeMeta(raw, handle.path);
    const members: MemberRecord[] = [];
    for (const [k, v] of await handle.db.iterator(MEMBER_RANGE).all()) {
      members.push(decodeMemberRecord(k, v, handle.path));
    }
    this.applied = meta.appliedIndex;
    this.rev = meta.revision;
    this.keys = meta.keyCount;
    this.members.clear();
    for (const m of members) this.members.set(m.id, m);
    this.cache.clear();
    this.commits++;
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
      this.failed = new KvStoreStateError(
        'KV_STORE_FAILED',
        `switching to the restored store failed; reopen it: ${(err as Error).message}`,
      );
      this.failed.cause = err;
      throw this.failed;
    }
    this.handle = next;
    const dir = this.dir!;
    this.retiring = Promise.all([this.retiring, old.retire().then(() => dir.removeStale())]);
  }
}
