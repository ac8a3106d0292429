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
import { PREFIX_ENTRY, PREFIX_JOURNAL, keyNumber } from './keys.js';
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
  let version: number | null = null;
  let hardState = emptyHardState();
  let logStart: LogStart | null = null;
  let snapshot: SnapshotRecord | null = null;
  let log: MemLog | null = null;
  let lastSeq: number | null = null;

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
          // Its layout never changes, so the version is read before the checksum is checked:
          // a future format may seal records differently.
          version = decodeVersion(value.subarray(4));
          if (version !== FORMAT_VERSION) {
            throw new ErrIncompatibleFormat(version, FORMAT_VERSION, path);
          }
          unseal(key, value, 'version', null, path);
          continue;
        }
        if (key.length === 1) {
          switch (key[0]) {
            case 0x02:
              hardState = decodeHardStateBody(unseal(key, value, 'hardState', null, path), path);
              continue;
            case 0x03:
              logStart = decodeLogStart(unseal(key, value, 'logStart', null, path), path);
              log = new MemLog(logStart, maxCachedBytes);
              continue;
            case 0x04:
              snapshot = decodeSnapshotRecord(unseal(key, value, 'snapshot', null, path), path);
              continue;
          }
        } else if (key[0] === PREFIX_ENTRY) {
          const index = keyNumber(key);
          if (index === null) throw new ErrCorruptRecord('entry', null, path, 'malformed key');
          if (log === null) throw new ErrCorruptRecord('logStart', null, path, 'missing');
          const body = unseal(key, value, 'entry', index, path);
          const next = log.lastIndex() + 1;
          if (index < next) {
            throw new ErrCorruptRecord('entry', index, path, `below the log start ${next}`);
          }
          if (index > next) throw new ErrMissingEntry(next, path);
          log.append([decodeEntryBody(body, index, path)]);
          log.evict(hardState.commit);
          continue;
        } else if (key[0] === PREFIX_JOURNAL) {
          const seq = keyNumber(key);
          if (seq === null) throw new ErrCorruptRecord('journal', null, path, 'malformed key');
          unseal(key, value, 'journal', null, path);
          if (lastSeq !== null && seq !== lastSeq + 1) {
            throw new ErrCorruptRecord(
              'journal',
              null,
              path,
              `save ${lastSeq + 1} is missing though save ${seq} is there: LevelDB lost part of its log`,
            );
          }
          lastSeq = seq;
          continue;
        }
        const hex = Buffer.from(key.subarray(0, 9)).toString('hex');
        throw new ErrCorruptRecord('unknown', null, path, `unexpected key ${hex}`);
      }
    }
  } finally {
    await it.close();
  }

  if (!seenAny) {
    const start = { index: 0, term: 0 };
    return {
      fresh: true,
      hardState,
      snapshot: null,
      log: new MemLog(start, maxCachedBytes),
      nextSeq: 1,
    };
  }
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
  return { fresh: false, hardState, snapshot, log, nextSeq: (lastSeq ?? 0) + 1 };
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
