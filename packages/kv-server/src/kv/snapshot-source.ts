// The snapshot stream of one point-in-time view: an explicit LevelDB snapshot taken when the
// source is made (between two applies), read with iterators while applies go on.
import { REV_RANGE, revKeyFrom } from './history.js';
import type { DbHandle } from './level-handle.js';
import {
  KV_RANGE,
  LEASE_RANGE,
  MEMBER_RANGE,
  decodeLeaseRecord,
  decodeMemberRecord,
} from './records.js';
import { SnapshotEncoder, type SnapshotHeader } from './snapshot-stream.js';

/** raft-node's SnapshotSource shape: chunks, and close() to release the view early. */
export type SnapshotSource = AsyncIterable<Uint8Array> & { close(): void };

/**
 * Entries read from LevelDB per iterator step, and their bytes at most: several chunks per
 * thread-pool round trip. classic-level stops a step at 16 KiB by default (16 entries of 1
 * KiB): on a loaded leader each of those round trips waited behind the log's writes, and a
 * 200 MB stream took 34 s. Not much more than 1 MiB either: a step's entries are made into
 * JS objects on the main thread in one go, a stall for the leader's other work. The next
 * step is read while one is encoded and sent.
 */
const STEP = 1024;
const STEP_BYTES = 1 << 20;

/** Takes the view now (synchronously); `handle` must be acquired for it, and is released. */
export function snapshotSource(handle: DbHandle, header: SnapshotHeader): SnapshotSource {
  const snapshot = handle.db.snapshot();
  /** The iterator being read, closed early by close(). */
  let iterator: { close(): Promise<void> } | null = null;
  let released = false;
  let started = false;
  const release = (): void => {
    if (released) return;
    released = true;
    const it = iterator;
    iterator = null;
    void (async () => {
      await it?.close().catch(() => {});
      await snapshot.close().catch(() => {});
      handle.release();
    })();
  };

  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      const enc = new SnapshotEncoder(header);
      const keys = handle.db.iterator({ ...KV_RANGE, snapshot, highWaterMarkBytes: STEP_BYTES });
      iterator = keys;
      for (let step = keys.nextv(STEP); ; ) {
        const entries = await step;
        if (entries.length === 0) break;
        step = keys.nextv(STEP); // read ahead
        step.catch(() => {}); // not awaited if the stream is closed early
        for (const [k, v] of entries) {
          enc.kv(k, v, handle.path);
          const chunk = enc.take();
          if (chunk !== null) yield chunk;
        }
      }
      await keys.close();
      // Not above the revision: a large delete's tombstones are written ahead of its commit.
      const events = handle.db.iterator({
        gte: REV_RANGE.gte,
        lt: revKeyFrom(header.revision + 1),
        snapshot,
        highWaterMarkBytes: STEP_BYTES,
      });
      iterator = events;
      for (let step = events.nextv(STEP); ; ) {
        const entries = await step;
        if (entries.length === 0) break;
        step = events.nextv(STEP);
        step.catch(() => {});
        for (const [k, v] of entries) {
          enc.event(k, v);
          const chunk = enc.take();
          if (chunk !== null) yield chunk;
        }
      }
      await events.close();
      const members = handle.db.iterator({ ...MEMBER_RANGE, snapshot });
      iterator = members;
      for (const [k, v] of await members.all()) enc.member(decodeMemberRecord(k, v, handle.path));
      const leases = handle.db.iterator({ ...LEASE_RANGE, snapshot });
      iterator = leases;
      for (const [k, v] of await leases.all()) enc.lease(decodeLeaseRecord(k, v, handle.path));
      iterator = null;
      yield enc.end();
    } finally {
      release();
    }
  }

  return {
    [Symbol.asyncIterator]() {
      if (started) throw new Error('a snapshot source is read once');
      started = true;
      return chunks();
    },
    close: release,
  };
}

/**
 * A source whose view is taken later, when `view` resolves (the batch being written landed):
 * its chunks once it is there; close() before that closes it as soon as it comes.
 */
export function laterSource(view: Promise<SnapshotSource>): SnapshotSource {
  view.catch(() => {}); // a failure is the reader's, when it reads
  let closed = false;
  return {
    async *[Symbol.asyncIterator]() {
      const source = await view;
      if (closed) return source.close();
      try {
        yield* source;
      } finally {
        source.close();
      }
    },
    close() {
      if (closed) return;
      closed = true;
      view.then((s) => s.close()).catch(() => {});
    },
  };
}
