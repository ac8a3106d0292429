// etcd's Maintenance.Hash and HashKV over the store's records: CRC-32 (zlib's, native) of
// LevelDB keys and values in key order, read from one point-in-time view. etcd hashes its
// bolt pages (Hash) and its key bucket (HashKV) with CRC-32C; the numbers here are not
// comparable with etcd's, only between members: members that applied the same log agree,
// whatever their batching, compactions of LevelDB or restores, as their records are equal.
import { crc32 } from 'node:zlib';
import { REV_RANGE, revKey } from './history.js';
import type { Db } from './level-handle.js';
import { META_KEY } from './records.js';

type ReadOptions = { snapshot?: unknown };

/** Entries read per iterator step. */
const STEP = 1024;

async function hashRange(
  db: Db,
  range: { gte?: Uint8Array; lt?: Uint8Array },
  opts: ReadOptions,
  skip?: (key: Buffer) => boolean,
): Promise<number> {
  let h = 0;
  const it = db.iterator({ ...range, ...opts } as never);
  try {
    for (;;) {
      const entries = (await it.nextv(STEP)) as [Buffer, Buffer][];
      if (entries.length === 0) return h;
      for (const [k, v] of entries) {
        if (skip?.(k)) continue;
        h = crc32(v, crc32(k, h));
      }
    }
  } finally {
    await it.close();
  }
}

/**
 * etcd's HashKV: the history up to revision `rev` — every "r" record at or below it (those
 * at or below the compacted revision are the ones compaction kept, as etcd keeps them).
 */
export function hashHistory(db: Db, rev: number, opts: ReadOptions = {}): Promise<number> {
  return hashRange(db, { gte: REV_RANGE.gte, lt: revKey(rev + 1, 0) }, opts);
}

/**
 * etcd's Hash: every record of the store but the meta record (which holds the applied
 * index, which differs between members that hold the same data).
 */
export function hashStore(db: Db, opts: ReadOptions = {}): Promise<number> {
  const isMeta = (k: Buffer) => k.length === 1 && k[0] === META_KEY[0];
  return hashRange(db, {}, opts, isMeta);
}
