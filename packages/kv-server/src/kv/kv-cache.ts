// The store's bounded caches of keys' current records: whole records (value included) for
// reads, and heads (the numbers without the value) for puts that do not want the previous
// value. A head takes ~180 bytes of heap against ~400 for a record of a 256-byte value. A
// LevelDB get on the apply path costs the event loop a table lookup, and charges LevelDB's
// seek statistics, which then compact tables early: at 256 clients putting over 100k keys,
// puts ran 14-42% faster with every key's head held (none with half of them held).
import type { ByteString } from './bytes.js';
import { LruCache } from './lru-cache.js';
import type { KvRecord } from './records.js';

/** A key's record without its value. */
export interface KvHead {
  createRevision: number;
  modRevision: number;
  version: number;
  lease: number;
}

/** Estimated bytes of a cached entry besides its key and value (its list node, map entry). */
const RECORD_ENTRY_BYTES = 100;
/** The same for a head, its object of four numbers included. */
const HEAD_ENTRY_BYTES = 176;

export class KvCache {
  private readonly records: LruCache<KvRecord>;
  private readonly heads: LruCache<KvHead>;

  constructor(recordBytes: number, headBytes: number) {
    this.records = new LruCache<KvRecord>(
      recordBytes,
      (key, r) => key.length + r.value.length + RECORD_ENTRY_BYTES,
    );
    this.heads = new LruCache<KvHead>(headBytes, (key) => key.length + HEAD_ENTRY_BYTES);
  }

  /** The key's whole record, if cached. */
  record(key: ByteString): KvRecord | undefined {
    return this.records.get(key);
  }

  /** The key's record or at least its head, if cached. */
  head(key: ByteString): KvRecord | KvHead | undefined {
    return this.records.get(key) ?? this.heads.get(key);
  }

  /** A record read from the store (nothing changed since it was read). */
  set(key: ByteString, r: KvRecord): void {
    this.records.set(key, r);
    this.heads.set(key, {
      createRevision: r.createRevision,
      modRevision: r.modRevision,
      version: r.version,
      lease: r.lease,
    });
  }

  delete(key: ByteString): void {
    this.records.delete(key);
    this.heads.delete(key);
  }

  deleteWhere(pred: (key: ByteString) => boolean): void {
    this.records.deleteWhere(pred);
    this.heads.deleteWhere(pred);
  }

  clear(): void {
    this.records.clear();
    this.heads.clear();
  }
}
