// Fills an empty database from a snapshot stream, in batches of bounded size, checking every
// record as it arrives (snapshot-stream.ts); the last batch carries the meta record and is
// synced, so a database this resolves for is complete and durable.
//
// The history index is written beside the history, not in a second pass after it: a second
// pass (tried) left the tables of the keys and of the history unrewritten by compaction, at
// the memtable's size (then 4 MiB) rather than maxFileSize (1 MiB), so reading them mapped 4x the
// bytes level-handle.ts bounds (64 open tables): a member restoring 1M keys of 1 KiB peaked
// at 532 MiB, for ~10% of restore time.
import { encodeHistValue, histKey, revKey } from './history.js';
import type { Db } from './level-handle.js';
import {
  META_KEY,
  encodeKvRecordBytes,
  encodeLeaseRecord,
  encodeMemberRecord,
  encodeMeta,
  kvKeyFromBytes,
  leaseKey,
  memberKey,
} from './records.js';
import { SnapshotDecoder, type SnapshotSummary } from './snapshot-stream.js';

/**
 * Bytes of records written per batch while restoring. Two are in memory at once (one written,
 * one decoded), each also copied into a LevelDB WriteBatch: at 4 MiB a joining member peaked
 * ~40 MiB higher (233 against 191 MiB restoring 200k keys of 1 KiB), no faster.
 */
const BATCH_BYTES = 1 << 20;

type PutOp = { type: 'put'; key: Buffer; value: Buffer };

/** Resolves with the stream's header and counts once the database holds it durably. */
export async function restoreInto(
  db: Db,
  from: AsyncIterable<Uint8Array>,
): Promise<SnapshotSummary> {
  let ops: PutOp[] = [];
  let bytes = 0;
  const decoder = new SnapshotDecoder({
    kv(r) {
      const value = encodeKvRecordBytes(
        r.createRevision,
        r.modRevision,
        r.version,
        r.lease,
        r.value,
      );
      ops.push({ type: 'put', key: kvKeyFromBytes(r.key), value });
      bytes += r.key.length + value.length + 16;
    },
    event(e) {
      // The history index is rebuilt from the history itself.
      ops.push({ type: 'put', key: revKey(e.main, e.sub), value: Buffer.from(e.value) });
      ops.push({ type: 'put', key: histKey(e.key, e.main), value: encodeHistValue(e.sub, e.type) });
      bytes += e.value.length + e.key.length + 48;
    },
    member(m) {
      ops.push({ type: 'put', key: memberKey(m.id), value: encodeMemberRecord(m) });
    },
    lease(l) {
      ops.push({ type: 'put', key: leaseKey(l.id), value: encodeLeaseRecord(l) });
    },
  });
  // One batch is written (on LevelDB's thread) while the next is decoded.
  let writing: Promise<void> = Promise.resolve();
  for await (const chunk of from) {
    decoder.push(chunk);
    if (bytes >= BATCH_BYTES) {
      const batch = ops;
      ops = [];
      bytes = 0;
      await writing;
      writing = db.batch(batch);
      writing.catch(() => {}); // awaited (and thrown) before the next batch or at the end
    }
  }
  await writing;
  const s = decoder.finish();
  const meta = {
    appliedIndex: s.appliedIndex,
    revision: s.revision,
    keyCount: s.keyCount,
    compactRevision: s.compactRevision,
  };
  ops.push({ type: 'put', key: Buffer.from(META_KEY), value: encodeMeta(meta) });
  await db.batch(ops, { sync: true });
  return s;
}
