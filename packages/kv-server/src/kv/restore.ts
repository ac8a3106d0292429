// Fills an empty database from a snapshot stream, in batches of bounded size, checking every
// record as it arrives (snapshot-stream.ts); the last batch carries the meta record and is
// synced, so a database this resolves for is complete and durable.
//
// The history index ("h" records, by key then revision) is written in a second pass over the
// restored history, not beside it: the stream's keys and its history each arrive in key
// order, so LevelDB's tables of either do not overlap and move down the levels without being
// rewritten; index records interleaved with the history made every table span both ranges,
// and compaction rewrote them again and again.
import { REV_RANGE, encodeHistValue, histKey, parseRevKey, revKey } from './history.js';
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
  readVarint,
} from './records.js';
import { SnapshotDecoder, type SnapshotSummary } from './snapshot-stream.js';
import { KvSnapshotError } from './errors.js';

/** Bytes of records written per batch while restoring. */
const BATCH_BYTES = 4 << 20;
/** History records read per step of the index pass, and their bytes at most. */
const STEP = 4096;
const STEP_BYTES = 4 << 20;

type PutOp = { type: 'put'; key: Buffer; value: Buffer };

/** Writes batches of puts, one on LevelDB's thread while the next is put together. */
class BatchWriter {
  private ops: PutOp[] = [];
  private bytes = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly db: Db) {}

  put(key: Buffer, value: Buffer): void {
    this.ops.push({ type: 'put', key, value });
    this.bytes += key.length + value.length + 16;
  }

  /** Starts writing what is pending once it is a batch's worth (waits for the previous). */
  async maybeFlush(): Promise<void> {
    if (this.bytes >= BATCH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    const batch = this.ops;
    this.ops = [];
    this.bytes = 0;
    await this.writing;
    this.writing = this.db.batch(batch);
    this.writing.catch(() => {}); // awaited (and thrown) before the next batch or at the end
  }

  /** Writes what is pending, the last batch synced. */
  async end(sync: boolean): Promise<void> {
    await this.writing;
    await this.db.batch(this.ops, { sync });
    this.ops = [];
    this.bytes = 0;
  }
}

/** Resolves with the stream's header and counts once the database holds it durably. */
export async function restoreInto(
  db: Db,
  from: AsyncIterable<Uint8Array>,
): Promise<SnapshotSummary> {
  const w = new BatchWriter(db);
  const decoder = new SnapshotDecoder({
    kv(r) {
      const value = encodeKvRecordBytes(
        r.createRevision,
        r.modRevision,
        r.version,
        r.lease,
        r.value,
      );
      w.put(kvKeyFromBytes(r.key), value);
    },
    event(e) {
      w.put(revKey(e.main, e.sub), Buffer.from(e.value));
    },
    member(m) {
      w.put(memberKey(m.id), encodeMemberRecord(m));
    },
    lease(l) {
      w.put(leaseKey(l.id), encodeLeaseRecord(l));
    },
  });
  for await (const chunk of from) {
    decoder.push(chunk);
    await w.maybeFlush();
  }
  const s = decoder.finish();
  await w.end(false);
  await indexHistory(db, w);
  const meta = {
    appliedIndex: s.appliedIndex,
    revision: s.revision,
    keyCount: s.keyCount,
    compactRevision: s.compactRevision,
  };
  w.put(Buffer.from(META_KEY), encodeMeta(meta));
  await w.end(true);
  return s;
}

/** Writes the history index from the restored history (its records were checked in the stream). */
async function indexHistory(db: Db, w: BatchWriter): Promise<void> {
  const events = db.iterator({ ...REV_RANGE, highWaterMarkBytes: STEP_BYTES });
  try {
    for (;;) {
      const entries = await events.nextv(STEP);
      if (entries.length === 0) break;
      for (const [k, v] of entries) {
        const { main, sub } = parseRevKey(k);
        const kl = readVarint(v, 1, v.length);
        if (kl === null) throw new KvSnapshotError(`history record ${main}.${sub} lost its key`);
        w.put(histKey(v.subarray(kl[1], kl[1] + kl[0]), main), encodeHistValue(sub, v[0]!));
      }
      await w.maybeFlush();
    }
  } finally {
    await events.close();
  }
}
