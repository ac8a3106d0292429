// Typed errors of the durable store. Each has a stable `code`; callers switch on the class or
// the code, never on the message. They extend raft-core's RaftError, so one `instanceof
// RaftError` check covers both packages.
import { RaftError } from '@tsraft/raft-core';

/** Base of every error this package throws; `path` is the file or directory concerned. */
export class StorageError extends RaftError {
  readonly path: string;
  constructor(code: string, message: string, path: string, cause?: unknown) {
    super(code, message);
    this.path = path;
    if (cause !== undefined) this.cause = cause;
  }
}

/**
 * Base of the errors that mean the data on disk is damaged: catch this one to tell "the
 * store is broken, restore this node from a peer" apart from usage or I/O errors.
 */
export class StorageCorruptionError extends StorageError {}

/** The kinds of records the store keeps in its database. */
export type RecordKind =
  | 'version'
  | 'hardState'
  | 'logStart'
  | 'snapshot'
  | 'entry'
  | 'journal'
  | 'group';

/**
 * A record failed its checksum, could not be decoded, or contradicts where it is stored.
 * `index` is the entry's index for entry records, the group id for a group's registration
 * (LevelStore), `null` for the others.
 */
export class ErrCorruptRecord extends StorageCorruptionError {
  readonly record: RecordKind | 'unknown';
  readonly index: number | null;
  constructor(record: RecordKind | 'unknown', index: number | null, path: string, why: string) {
    const at = index === null ? record : `${record} ${index}`;
    super('RAFT_STORAGE_CORRUPT_RECORD', `corrupt ${at} in ${path}: ${why}`, path);
    this.record = record;
    this.index = index;
  }
}

/** An entry inside the log's range [firstIndex, lastIndex] is not in the database. */
export class ErrMissingEntry extends StorageCorruptionError {
  readonly index: number;
  constructor(index: number, path: string, why = 'not found inside the log range') {
    super('RAFT_STORAGE_MISSING_ENTRY', `missing entry ${index} in ${path}: ${why}`, path);
    this.index = index;
  }
}

/** A snapshot file failed its checksum, is truncated, or does not match its record. */
export class ErrCorruptSnapshot extends StorageCorruptionError {
  /** The snapshot's index, as the database records it. */
  readonly index: number;
  constructor(index: number, path: string, why: string) {
    super('RAFT_STORAGE_CORRUPT_SNAPSHOT', `corrupt snapshot ${index} at ${path}: ${why}`, path);
    this.index = index;
  }
}

/** LevelDB itself reported corruption (a damaged table, manifest or block). */
export class ErrCorruptDatabase extends StorageCorruptionError {
  constructor(path: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      'RAFT_STORAGE_CORRUPT_DATABASE',
      `LevelDB reports corruption in ${path}: ${why}`,
      path,
      cause,
    );
  }
}

/**
 * The database was written by an incompatible version of this package, or is not one of
 * ours at all (`found` is null when it has no version record).
 */
export class ErrIncompatibleFormat extends StorageError {
  readonly found: number | null;
  readonly expected: number;
  constructor(found: number | null, expected: number, path: string) {
    const what = found === null ? 'no tsraft format record' : `format version ${found}`;
    super(
      'RAFT_STORAGE_INCOMPATIBLE_FORMAT',
      `${path} has ${what}; this version reads format ${expected}`,
      path,
    );
    this.found = found;
    this.expected = expected;
  }
}

/** Another process (or another LevelStorage in this one) holds the directory open. */
export class ErrStorageLocked extends StorageError {
  constructor(path: string, cause: unknown) {
    super(
      'RAFT_STORAGE_LOCKED',
      `${path} is held open by another process or instance`,
      path,
      cause,
    );
  }
}

/** The storage was used after `close()`. */
export class ErrStorageClosed extends StorageError {
  constructor(path: string) {
    super('RAFT_STORAGE_CLOSED', `storage at ${path} is closed`, path);
  }
}

/**
 * A write failed (I/O error, disk full). Whether it reached the disk is unknown, so every
 * later write is refused with this error too: reopen the storage to learn what is durable.
 */
export class ErrStorageFailed extends StorageError {
  constructor(path: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super('RAFT_STORAGE_FAILED', `write to ${path} failed: ${why}`, path, cause);
  }
}
