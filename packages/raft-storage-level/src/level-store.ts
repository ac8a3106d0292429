// LevelStore: one LevelDB shared by many raft groups. Each group's records live in its own key
// range (keys.ts), each group gets a LevelStorage over that range, and all groups' writes go
// through one Committer: what the groups save during one turn of the event loop is one synced
// batch (group commit across groups). A RaftHost keeps thousands of groups in one of these.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ErrUsage } from '@tsraft/raft-core';
import { Level } from 'level';
import { Committer, type CommitterStats } from './committer.js';
import { ErrStorageClosed, ErrStorageLocked, StorageError } from './errors.js';
import { KEY_VERSION, KeySpace, groupRegistryKey } from './keys.js';
import { LevelStorage, type LevelStorageOptions } from './level-storage.js';
import { encodeLogStart, encodeVersion, seal } from './records.js';
import { type Db, asStorageError, loadGroupState, loadStoreState } from './recover.js';
import {
  fsyncDir,
  removeStraySnapshotFiles,
  snapshotFileName,
  verifySnapshotFile,
} from './snapshot-files.js';

/** The format of a shared database (a LevelStorage database is format 1, FORMAT_VERSION). */
export const STORE_FORMAT_VERSION = 2;

const DEFAULT_SNAPSHOT_FILE_THRESHOLD = 1 << 20;

export type LevelStoreOptions = LevelStorageOptions;

export interface LevelStoreStats extends CommitterStats {
  /** Groups registered in the database. */
  groups: number;
  /** Groups with an open LevelStorage. */
  open: number;
}

export class LevelStore {
  private readonly registered: Set<number>;
  /** Groups with a snapshot directory (made with their first snapshot file). */
  private readonly snapDirs: Set<number>;
  private readonly open = new Map<number, Promise<LevelStorage>>();
  /** Groups being removed: group() of one waits for the removal, then opens it afresh. */
  private readonly removing = new Map<number, Promise<void>>();
  private closed = false;

  private constructor(
    /** The directory given to `open`, resolved. */
    readonly path: string,
    private readonly db: Db,
    private readonly dbPath: string,
    private readonly committer: Committer,
    groups: number[],
    snapDirs: number[],
    private readonly options: LevelStoreOptions,
  ) {
    this.registered = new Set(groups);
    this.snapDirs = new Set(snapDirs);
  }

  /**
   * Opens (creating if needed) the shared store in `dir`: LevelDB in `dir/db`, snapshot files
   * of group g in `dir/snap/<g>`. Reads the version record, the journal and the group
   * registry; groups' logs are read when `group()` opens them.
   */
  static async open(dir: string, options: LevelStoreOptions = {}): Promise<LevelStore> {
    const root = path.resolve(dir);
    const dbPath = path.join(root, 'db');
    await fsp.mkdir(path.join(root, 'snap'), { recursive: true });
    const db: Db = new Level<Uint8Array, Uint8Array>(dbPath, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      // As LevelStorage: LevelDB's fewest open (mapped) tables bound the mapped pages.
      maxOpenFiles: 74,
    });
    try {
      await db.open();
    } catch (err) {
      throw openError(err, dbPath);
    }
    try {
      const state = await loadStoreState(db, dbPath, STORE_FORMAT_VERSION);
      if (state.fresh) {
        const value = seal(KEY_VERSION, encodeVersion(STORE_FORMAT_VERSION));
        await db.put(KEY_VERSION, value, { sync: true });
        await fsyncDir(root);
      }
      const committer = new Committer(db, dbPath, state.nextSeq);
      // One listing for all groups: most have no snapshot file, and then no directory.
      const snapDirs = (await fsp.readdir(path.join(root, 'snap')))
        .map(Number)
        .filter((g) => Number.isSafeInteger(g) && g > 0);
      return new LevelStore(root, db, dbPath, committer, state.groups, snapDirs, options);
    } catch (err) {
      await db.close().catch(() => {});
      throw asStorageError(err, dbPath);
    }
  }

  /** The groups in the database, ascending. */
  groupIds(): number[] {
    return [...this.registered].sort((a, b) => a - b);
  }

  has(gid: number): boolean {
    return this.registered.has(gid);
  }

  /**
   * Group `gid`'s storage, registering the group in the database if it is new. Calling it
   * again before the storage is closed returns the same one. Its writes are group-committed
   * with every other group's.
   */
  group(gid: number): Promise<LevelStorage> {
    const bad = groupIdError(gid);
    if (bad !== null) return Promise.reject(bad);
    if (this.closed) return Promise.reject(new ErrStorageClosed(this.path));
    let p = this.open.get(gid);
    if (p === undefined) {
      const removal = this.removing.get(gid);
      p =
        removal === undefined
          ? this.openGroup(gid)
          : removal.catch(() => {}).then(() => this.openGroup(gid));
      this.open.set(gid, p);
      p.catch(() => this.open.delete(gid));
    }
    return p.then((s) => (s.isClosed ? this.reopen(gid, s) : s));
  }

  /** group() of a storage being closed: once it is, the group is read back afresh. */
  private async reopen(gid: number, old: LevelStorage): Promise<LevelStorage> {
    await old.close();
    let p = this.open.get(gid);
    if (p === undefined) {
      p = this.openGroup(gid);
      this.open.set(gid, p);
      p.catch(() => this.open.delete(gid));
    }
    return p;
  }

  /**
   * Deletes group `gid`: its records and snapshot files. Its storage must be closed first
   * (ErrUsage otherwise). Resolves once the deletion is durable; a group that does not exist
   * is a no-op.
   */
  async removeGroup(gid: number): Promise<void> {
    const bad = groupIdError(gid);
    if (bad !== null) throw bad;
    if (this.closed) throw new ErrStorageClosed(this.path);
    if (this.open.has(gid)) throw new ErrUsage(`group ${gid} is open: close its storage first`);
    const running = this.removing.get(gid);
    if (running !== undefined) return running;
    const p = this.deleteGroup(gid);
    this.removing.set(gid, p);
    try {
      await p;
    } finally {
      this.removing.delete(gid);
    }
  }

  private async deleteGroup(gid: number): Promise<void> {
    const keys = KeySpace.group(gid);
    // The registration goes last: a crash part way leaves the group listed (with part of its
    // records), and removeGroup, run again, finishes the job.
    const ops: { type: 'del'; key: Uint8Array }[] = [];
    for await (const key of this.db.keys({ gte: keys.prefix, lt: keys.end! })) {
      ops.push({ type: 'del', key });
      if (ops.length >= 4096) await this.committer.write(ops.splice(0));
    }
    ops.push({ type: 'del', key: groupRegistryKey(gid) });
    await this.committer.write(ops);
    this.registered.delete(gid);
    await fsp.rm(this.snapDir(gid), { recursive: true, force: true });
    this.snapDirs.delete(gid);
  }

  stats(): LevelStoreStats {
    return { ...this.committer.stats(), groups: this.registered.size, open: this.open.size };
  }

  /** Closes every open group's storage (after its pending writes), then the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const open = [...this.open.values()];
    await Promise.allSettled(open.map(async (p) => (await p).close()));
    await this.committer.drain();
    await this.db.close();
  }

  private snapDir(gid: number): string {
    return path.join(this.path, 'snap', String(gid));
  }

  private async openGroup(gid: number): Promise<LevelStorage> {
    const keys = KeySpace.group(gid);
    const where = `${this.dbPath} (group ${gid})`;
    const maxCached = this.options.entryCacheBytes ?? Number.POSITIVE_INFINITY;
    const state = await loadGroupState(this.db, keys, where, maxCached);
    const snapDir = this.snapDir(gid);
    if (state.fresh || !this.registered.has(gid)) {
      const start = state.log.start;
      const rk = groupRegistryKey(gid);
      await this.committer.write([
        { type: 'put', key: rk, value: seal(rk, new Uint8Array(0)) },
        ...(state.fresh
          ? [
              {
                type: 'put' as const,
                key: keys.logStart,
                value: seal(keys.logStart, encodeLogStart(start)),
              },
            ]
          : []),
      ]);
      this.registered.add(gid);
    }
    let keep: string | null = null;
    if (state.snapshot?.where === 'file') {
      const { metadata, crc, size } = state.snapshot;
      await verifySnapshotFile(snapDir, metadata, { crc, size });
      keep = snapshotFileName(metadata);
    }
    // Leftovers of a snapshot file written when the process died (or of a removal cut short).
    if (this.snapDirs.has(gid)) await removeStraySnapshotFiles(snapDir, keep).catch(unlessMissing);
    // Until a snapshot file is written the directory may not exist: this set no longer says.
    this.snapDirs.add(gid);
    const threshold = this.options.snapshotFileThreshold ?? DEFAULT_SNAPSHOT_FILE_THRESHOLD;
    return new LevelStorage(
      path.join(this.path, `group-${gid}`),
      this.db,
      where,
      snapDir,
      state.log,
      state,
      threshold,
      keys,
      this.committer,
      async () => {
        this.open.delete(gid);
      },
    );
  }
}

/** A directory that is not there holds no stray file. */
function unlessMissing(err: unknown): void {
  if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
}

function groupIdError(gid: number): ErrUsage | null {
  if (Number.isSafeInteger(gid) && gid > 0) return null;
  return new ErrUsage(`group id must be a positive safe integer, got ${String(gid)}`);
}

/** classic-level wraps the reason an open failed in `cause`. */
function openError(err: unknown, dbPath: string): unknown {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as never) {
    if (e.code === 'LEVEL_LOCKED') return new ErrStorageLocked(dbPath, err);
  }
  const mapped = asStorageError(err, dbPath);
  return mapped instanceof StorageError ? mapped : err;
}
