// Ranges over the store: the current state from the key heads, an old revision from the
// history index (history.ts), and etcd's Range semantics over either (limit, count, sort,
// keys_only, count_only, revision filters). Keys come in ascending byte order.
import { type KeyValue, toKv } from './apply-batch.js';
import { type ByteString, bytesOf, latin1 } from './bytes.js';
import { KvStoreError } from './errors.js';
import {
  EVENT_PUT,
  decodeEvent,
  decodeHistValue,
  histSpanRange,
  parseHistKey,
  revKey,
} from './history.js';
import type { Db } from './level-handle.js';
import { type KvRecord, decodeKvRecord, kvSpanRange } from './records.js';
import type { ByteRange, RangeOp, RangeResponse, TxnErrorCode } from './txn.js';
import { TXN_ERROR_MESSAGES } from './txn.js';

/** One key's state as a range sees it. */
export interface RangeEntry {
  /** The key's bytes. */
  bytes: Buffer;
  key: ByteString;
  record: KvRecord;
}

/** A read at a revision the store no longer has, or does not have yet. */
export class KvRevisionError extends KvStoreError {
  constructor(
    readonly reason: Extract<TxnErrorCode, 'compacted' | 'futureRev'>,
    readonly revision: number,
  ) {
    super(
      reason === 'compacted' ? 'KV_COMPACTED' : 'KV_FUTURE_REVISION',
      `${TXN_ERROR_MESSAGES[reason]} (revision ${revision})`,
    );
  }
}

type ReadOptions = { snapshot?: unknown };

/** Entries read from LevelDB per iterator step. */
const STEP = 256;

/** The current state of the keys in `range`, from their heads. */
export async function* scanHeads(
  db: Db,
  range: ByteRange,
  where: string,
  opts: ReadOptions = {},
): AsyncGenerator<RangeEntry> {
  const it = db.iterator({ ...kvSpanRange(range.start, range.end), ...opts } as never);
  try {
    for (;;) {
      const entries = (await it.nextv(STEP)) as [Buffer, Buffer][];
      if (entries.length === 0) return;
      for (const [k, v] of entries) {
        const bytes = k.subarray(1);
        yield { bytes, key: latin1(bytes), record: decodeKvRecord(v, where) };
      }
    }
  } finally {
    await it.close();
  }
}

/**
 * The state of the keys in `range` at revision `rev` (above the compacted revision), from the
 * history index: for each key its last change at or before `rev`, when that was a put.
 */
export async function* scanAt(
  db: Db,
  range: ByteRange,
  rev: number,
  where: string,
  opts: ReadOptions = {},
): AsyncGenerator<RangeEntry> {
  const it = db.iterator({ ...histSpanRange(range.start, range.end), ...opts } as never);
  let current: Buffer | null = null;
  let best: { main: number; sub: number; type: number } | null = null;
  let found: { main: number; sub: number }[] = [];
  const fetch = async function* (): AsyncGenerator<RangeEntry> {
    if (found.length === 0) return;
    const values = (await db.getMany(
      found.map((f) => revKey(f.main, f.sub)),
      opts as never,
    )) as (Buffer | undefined)[];
    for (let i = 0; i < found.length; i++) {
      const f = found[i]!;
      const v = values[i];
      if (v === undefined)
        throw new KvStoreError(
          'KV_STORE_CORRUPT',
          `${where}: history record ${f.main}.${f.sub} is missing`,
        );
      const ev = decodeEvent(revKey(f.main, f.sub), v, where);
      if (ev.record === null) continue;
      yield { bytes: bytesOf(ev.key), key: ev.key, record: ev.record };
    }
    found = [];
  };
  try {
    for (;;) {
      const entries = (await it.nextv(STEP)) as [Buffer, Buffer][];
      for (const [k, v] of entries) {
        const { key, main } = parseHistKey(k, where);
        if (current === null || !key.equals(current)) {
          if (best !== null && best.type === EVENT_PUT) found.push(best);
          current = key;
          best = null;
        }
        if (main <= rev) best = { main, ...decodeHistValue(v, where) };
      }
      if (entries.length === 0) {
        if (best !== null && best.type === EVENT_PUT) found.push(best);
        yield* fetch();
        return;
      }
      if (found.length >= STEP) yield* fetch();
    }
  } finally {
    await it.close();
  }
}

/** etcd's Range over entries of one revision, in key order. */
export async function runRange(
  entries: AsyncIterable<RangeEntry> | Iterable<RangeEntry>,
  o: RangeOp,
): Promise<RangeResponse> {
  let order = o.sortOrder;
  // As etcd: a target other than the key sorts ascending by default; key ascending is the
  // order entries already come in.
  if (o.sortTarget !== 'key' && order === 'none') order = 'ascend';
  else if (o.sortTarget === 'key' && order === 'ascend') order = 'none';
  const filtered =
    o.minModRevision > 0 ||
    o.maxModRevision > 0 ||
    o.minCreateRevision > 0 ||
    o.maxCreateRevision > 0;
  const takeAll = order !== 'none' || filtered;
  let count = 0;
  let kvs: KeyValue[] = [];
  for await (const e of entries) {
    count++;
    if (o.countOnly) continue;
    if (!takeAll && o.limit > 0 && kvs.length >= o.limit) continue; // counted, not kept
    const r = e.record;
    if (o.minModRevision > 0 && r.modRevision < o.minModRevision) continue;
    if (o.maxModRevision > 0 && r.modRevision > o.maxModRevision) continue;
    if (o.minCreateRevision > 0 && r.createRevision < o.minCreateRevision) continue;
    if (o.maxCreateRevision > 0 && r.createRevision > o.maxCreateRevision) continue;
    kvs.push(toKv(e.key, r));
  }
  if (o.countOnly) return { op: 'range', kvs: [], more: false, count };
  if (order !== 'none') {
    const cmp = comparator(o.sortTarget);
    kvs.sort(order === 'ascend' ? cmp : (a, b) => cmp(b, a));
  }
  let more = !takeAll && o.limit > 0 && count > kvs.length;
  if (o.limit > 0 && kvs.length > o.limit) {
    kvs = kvs.slice(0, o.limit);
    more = true;
  }
  // As etcd: values are dropped after the sort, which may be by value.
  if (o.keysOnly) for (const kv of kvs) kv.value = '';
  return { op: 'range', kvs, more, count };
}

function comparator(target: RangeOp['sortTarget']): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    // Byte strings compare bytewise with < (etcd sorts keys and values by their bytes).
    case 'key':
      return (a, b) => byteOrder(a.key, b.key);
    case 'value':
      return (a, b) => byteOrder(a.value, b.value);
    case 'version':
      return (a, b) => a.version - b.version;
    case 'create':
      return (a, b) => a.createRevision - b.createRevision;
    case 'mod':
      return (a, b) => a.modRevision - b.modRevision;
  }
}

function byteOrder(a: ByteString, b: ByteString): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
