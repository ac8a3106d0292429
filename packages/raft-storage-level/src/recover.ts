// Reading a database back at open: one ordered scan that checks every record's checksum, that
// the entries run without a gap from the log start to the last one, that the save journal has
// no hole (a save LevelDB dropped while replaying its own log), and that the records agree
// with each other. Anything wrong is a typed error; nothing is skipped.
import { type HardState, emptyHardState } from '@tsraft/raft-core';
import type { Level } from 'level';
import {
  ErrCorruptDatabase,
  ErrCorruptRecord,
  ErrIncompatibleFormat,
  ErrMissingEntry,
  StorageError,
} from './errors.js';
import {
  type KeySpace,
  PREFIX_ENTRY,
  PREFIX_GROUP,
  PREFIX_GROUP_REGISTRY,
  PREFIX_JOURNAL,
  keyNumber,
} from './keys.js';
import { MemLog } from './mem-log.js';
import {
  FORMAT_VERSION,
  type LogStart,
  type SnapshotRecord,
  decodeEntryBody,
  decodeHardStateBody,
  decodeLogStart,
  decodeSnapshotRecord,
  decodeVersion,
  unseal,
} from './records.js';

export interface LoadedState {
  /** The database holds nothing: a new store. */
  fresh: boolean;
  hardState: HardState;
  snapshot: SnapshotRecord | null;
  log: MemLog;
  /** The journal sequence number the next save uses. */
  nextSeq: number;
}

export type Db = Level<Uint8Array, Uint8Array>;

const BATCH = 1000;

export async function loadState(
  db: Db,
  path: string,
  maxCachedBytes: number,
): Promise<LoadedState> {
  try {
    return await scan(db, path, maxCachedBytes);
  } catch (err) {
    throw asStorageError(err, path);
  }
}

/** LevelDB's own corruption reports become ErrCorruptDatabase; our errors pass through. */
export function asStorageError(err: unknown, path: string): unknown {
  if (err instanceof StorageError) return err;
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as never) {
    if (e.code === 'LEVEL_CORRUPTION') return new ErrCorruptDatabase(path, err);
  }
  return err;
}

async function scan(db: Db, path: string, maxCachedBytes: number): Promise<LoadedState> {
  let seenAny = false;
  const loader = new LogLoader(path, maxCachedBytes);
  const journal = new JournalCheck(path);

  const it = db.iterator({ highWaterMarkBytes: 1 << 20 });
  try {
    for (;;) {
      const batch = await it.nextv(BATCH);
      if (batch.length === 0) break;
      for (const [key, value] of batch) {
        if (!seenAny) {
          seenAny = true;
          // The version record comes first in key order; a database without one is not ours.
          if (key.length !== 1 || key[0] !== 0x01) {
            // Our records without the version record: it was lost, not never written.
            if (isOurs(key, value)) {
              throw new ErrCorruptRecord(
                'version',
                null,
                path,
                'missing, though other records are there',
              );
            }
            throw new ErrIncompatibleFormat(null, FORMAT_VERSION, path);
          }
          checkVersion(key, value, FORMAT_VERSION, path);
          continue;
        }
        if (loader.take(key, key, value)) continue;
        if (key[0] === PREFIX_JOURNAL) {
          journal.take(key, value);
          continue;
        }
        throw unexpectedKey(key, path);
      }
    }
  } finally {
    await it.close();
  }

  if (!seenAny) {
    const start = { index: 0, term: 0 };
    return {
      fresh: true,
      hardState: emptyHardState(),
      snapshot: null,
      log: new MemLog(start, maxCachedBytes),
      nextSeq: 1,
    };
  }
  return { fresh: false, ...loader.finish(), nextSeq: journal.nextSeq };
}

/**
 * Reads one group's range of a shared database (LevelStore): its records only, no version
 * record or journal (the store checks those). `fresh` when the range is empty.
 */
export async function loadGroupState(
  db: Db,
  keys: KeySpace,
  path: string,
  maxCachedBytes: number,
): Promise<Omit<LoadedState, 'nextSeq'>> {
  try {
    const loader = new LogLoader(path, maxCachedBytes);
    let any = false;
    const it = db.iterator({ gte: keys.prefix, lt: keys.end!, highWaterMarkBytes: 1 << 20 });
    try {
      for (;;) {
        const batch = await it.nextv(BATCH);
        if (batch.length === 0) break;
        for (const [key, value] of batch) {
          any = true;
          if (!loader.take(key, keys.inner(key), value)) throw unexpectedKey(key, path);
        }
      }
    } finally {
      await it.close();
    }
    if (!any) {
      const start = { index: 0, term: 0 };
      return {
        fresh: true,
        hardState: emptyHardState(),
        snapshot: null,
        log: new MemLog(start, maxCachedBytes),
      };
    }
    return { fresh: false, ...loader.finish() };
  } catch (err) {
    throw asStorageError(err, path);
  }
}

/** What a shared database holds besides its groups' records. */
export interface StoreState {
  fresh: boolean;
  /** Registered groups, in ascending order. */
  groups: number[];
  nextSeq: number;
}

/** Reads a shared database's version record, journal and group registry (keys below 0x40). */
export async function loadStoreState(
  db: Db,
  path: string,
  formatVersion: number,
): Promise<StoreState> {
  try {
    const journal = new JournalCheck(path);
    const groups: number[] = [];
    let seenAny = false;
    const it = db.iterator({ lt: Uint8Array.of(PREFIX_GROUP), highWaterMarkBytes: 1 << 20 });
    try {
      for (;;) {
        const batch = await it.nextv(BATCH);
        if (batch.length === 0) break;
        for (const [key, value] of batch) {
          if (!seenAny) {
            seenAny = true;
            if (key.length !== 1 || key[0] !== 0x01) {
              throw new ErrIncompatibleFormat(null, formatVersion, path);
            }
            checkVersion(key, value, formatVersion, path);
            continue;
          }
          if (key[0] === PREFIX_JOURNAL) {
            journal.take(key, value);
            continue;
          }
          if (key[0] === PREFIX_GROUP_REGISTRY) {
            const gid = keyNumber(key);
            if (gid === null || gid === 0) {
              throw new ErrCorruptRecord('group', null, path, 'malformed key');
            }
            unseal(key, value, 'group', gid, path);
            groups.push(gid);
            continue;
          }
          throw unexpectedKey(key, path);
        }
      }
    } finally {
      await it.close();
    }
    if (!seenAny) {
      // Group records without the version record: it was lost, not never written.
      const first = await db.keys({ gte: Uint8Array.of(PREFIX_GROUP), limit: 1 }).all();
      if (first.length > 0) {
        throw new ErrCorruptRecord(
          'version',
          null,
          path,
          'missing, though other records are there',
        );
      }
    }
    return { fresh: !seenAny, groups, nextSeq: journal.nextSeq };
  } catch (err) {
    throw asStorageError(err, path);
  }
}

function checkVersion(key: Uint8Array, value: Uint8Array, expected: number, path: string): void {
  // Its layout never changes, so the version is read before the checksum is checked:
  // a future format may seal records differently.
  const version = decodeVersion(value.subarray(4));
  if (version !== expected) throw new ErrIncompatibleFormat(version, expected, path);
  unseal(key, value, 'version', null, path);
}

function unexpectedKey(key: Uint8Array, path: string): ErrCorruptRecord {
  const hex = Buffer.from(key.subarray(0, 18)).toString('hex');
  return new ErrCorruptRecord('unknown', null, path, `unexpected key ${hex}`);
}

/** The save journal: consecutive sequence numbers, one per synced batch. */
class JournalCheck {
  private lastSeq: number | null = null;
  constructor(private readonly path: string) {}

  take(key: Uint8Array, value: Uint8Array): void {
    const path = this.path;
    const seq = keyNumber(key);
    if (seq === null) throw new ErrCorruptRecord('journal', null, path, 'malformed key');
    unseal(key, value, 'journal', null, path);
    const last = this.lastSeq;
    if (last !== null && seq !== last + 1) {
      throw new ErrCorruptRecord(
        'journal',
        null,
        path,
        `save ${last + 1} is missing though save ${seq} is there: LevelDB lost part of its log`,
      );
    }
    this.lastSeq = seq;
  }

  get nextSeq(): number {
    return (this.lastSeq ?? 0) + 1;
  }
}

/**
 * One log's records, in key order: hard state, log start, snapshot, then the entries. Checks
 * every checksum, that entries run without a gap from the log start, and that the records
 * agree with each other.
 */
class LogLoader {
  private hardState = emptyHardState();
  private logStart: LogStart | null = null;
  private snapshot: SnapshotRecord | null = null;
  private log: MemLog | null = null;

  constructor(
    private readonly path: string,
    private readonly maxCachedBytes: number,
  ) {}

  /** Takes a record if it is one of the log's (`inner`: its key without the group prefix). */
  take(key: Uint8Array, inner: Uint8Array, value: Uint8Array): boolean {
    const path = this.path;
    if (inner.length === 1) {
      switch (inner[0]) {
        case 0x02:
          this.hardState = decodeHardStateBody(unseal(key, value, 'hardState', null, path), path);
          return true;
        case 0x03:
          this.logStart = decodeLogStart(unseal(key, value, 'logStart', null, path), path);
          this.log = new MemLog(this.logStart, this.maxCachedBytes);
          return true;
        case 0x04:
          this.snapshot = decodeSnapshotRecord(unseal(key, value, 'snapshot', null, path), path);
          return true;
      }
      return false;
    }
    if (inner[0] !== PREFIX_ENTRY) return false;
    const index = keyNumber(inner);
    if (index === null) throw new ErrCorruptRecord('entry', null, path, 'malformed key');
    const log = this.log;
    if (log === null) throw new ErrCorruptRecord('logStart', null, path, 'missing');
    const body = unseal(key, value, 'entry', index, path);
    const next = log.lastIndex() + 1;
    if (index < next) {
      throw new ErrCorruptRecord('entry', index, path, `below the log start ${next}`);
    }
    if (index > next) throw new ErrMissingEntry(next, path);
    log.append([decodeEntryBody(body, index, path)]);
    log.evict(this.hardState.commit);
    return true;
  }

  finish(): { hardState: HardState; snapshot: SnapshotRecord | null; log: MemLog } {
    const { log, logStart, snapshot, hardState, path } = this;
    if (log === null || logStart === null) {
      throw new ErrCorruptRecord('logStart', null, path, 'missing');
    }
    // A snapshot may be ahead of the log start (not yet compacted), never past its end.
    const snapIndex = snapshot === null ? 0 : snapshotIndex(snapshot);
    if (snapIndex > log.lastIndex()) {
      throw new ErrMissingEntry(
        log.lastIndex() + 1,
        path,
        `the snapshot is at ${snapIndex} but the log ends at ${log.lastIndex()}`,
      );
    }
    if (hardState.commit > log.lastIndex()) {
      throw new ErrMissingEntry(
        log.lastIndex() + 1,
        path,
        `the hard state's commit is ${hardState.commit} but the log ends at ${log.lastIndex()}`,
      );
    }
    return { hardState, snapshot, log };
  }
}

/** Whether a record is one this format writes: a known key whose checksum holds. */
function isOurs(key: Uint8Array, value: Uint8Array): boolean {
  const known =
    (key.length === 1 && key[0]! >= 0x02 && key[0]! <= 0x04) ||
    (key.length === 9 && (key[0] === PREFIX_ENTRY || key[0] === PREFIX_JOURNAL));
  if (!known) return false;
  try {
    unseal(key, value, 'version', null, '');
    return true;
  } catch {
    return false;
  }
}

export function snapshotIndex(r: SnapshotRecord): number {
  return r.where === 'inline' ? r.snapshot.metadata.index : r.metadata.index;
}
