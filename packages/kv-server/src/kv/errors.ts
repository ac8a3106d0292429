// Typed errors of the on-disk store. Each has a stable `code`; callers switch on the class or
// the code, never on the message.

/** Base of the store's errors. */
export class KvStoreError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A snapshot stream was refused: bad magic or format, a truncated stream, a malformed or
 * out-of-order record, counts or checksum that do not match. Nothing was changed.
 */
export class KvSnapshotError extends KvStoreError {
  constructor(why: string) {
    super('KV_SNAPSHOT_INVALID', `kv snapshot refused: ${why}`);
  }
}

/** A record on disk does not decode, or the data directory is not one this version reads. */
export class KvCorruptionError extends KvStoreError {
  constructor(path: string, why: string) {
    super('KV_STORE_CORRUPT', `kv store at ${path}: ${why}`);
  }
}

/**
 * The store was used before open(), after close() or after a failed write (whose outcome is
 * unknown: reopen to learn what is durable), concurrently with itself, or is held open by
 * another process.
 */
export class KvStoreStateError extends KvStoreError {
  constructor(
    code: 'KV_STORE_NOT_OPEN' | 'KV_STORE_FAILED' | 'KV_STORE_BUSY' | 'KV_STORE_LOCKED',
    message: string,
  ) {
    super(code, message);
  }
}

/** apply() got entries at or below the applied index, or out of order (a driver bug). */
export class KvApplyOrderError extends KvStoreError {
  constructor(index: number, applied: number) {
    super(
      'KV_APPLY_ORDER',
      `entry ${index} applied after ${applied}: entries must follow the applied index in order`,
    );
  }
}
