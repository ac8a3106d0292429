// etcd's v3 requests as replicated commands: Put, DeleteRange and Txn (compares, then the
// success or failure requests, nested transactions included) travel as one Txn command, and
// their results as one TxnResult; Range requests appear inside transactions. Keys of ranges
// and compares are bytes (etcd's range_end may be any bytes, e.g. a prefix's successor);
// keys that are written and every value are byte strings (bytes.ts), as the store keeps them.
import {
  type ByteReader,
  type ByteString,
  type ByteWriter,
  KvCodecError,
  bytesOf,
} from './bytes.js';
import type { KeyValue } from './apply-batch.js';

export type CompareTarget = 'version' | 'create' | 'mod' | 'value' | 'lease';
export type CompareResult = 'equal' | 'greater' | 'less' | 'notEqual';
export type SortOrder = 'none' | 'ascend' | 'descend';
export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';

/**
 * A key or a range, as etcd spells it: `rangeEnd` empty is the key alone, a single 0x00 byte
 * is every key >= `key`, anything else the keys in [key, rangeEnd).
 */
export interface KeySpan {
  key: Uint8Array;
  rangeEnd: Uint8Array;
}

export interface Compare extends KeySpan {
  target: CompareTarget;
  result: CompareResult;
  /** What `value` targets compare with. */
  value: ByteString;
  /** What version, create, mod and lease targets compare with. */
  number: number;
}

export interface RangeOp extends KeySpan {
  op: 'range';
  /** 0: no limit. */
  limit: number;
  /** 0: the current revision. */
  revision: number;
  sortOrder: SortOrder;
  sortTarget: SortTarget;
  keysOnly: boolean;
  countOnly: boolean;
  minModRevision: number;
  maxModRevision: number;
  minCreateRevision: number;
  maxCreateRevision: number;
}

export interface PutOp {
  op: 'put';
  key: ByteString;
  value: ByteString;
  lease: number;
  prevKv: boolean;
  ignoreValue: boolean;
  ignoreLease: boolean;
}

export interface DeleteRangeOp extends KeySpan {
  op: 'deleteRange';
  prevKv: boolean;
}

export interface TxnOp {
  op: 'txn';
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export type RequestOp = RangeOp | PutOp | DeleteRangeOp | TxnOp;

export interface RangeResponse {
  op: 'range';
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export type ResponseOp =
  | RangeResponse
  | { op: 'put'; prevKv?: KeyValue }
  | { op: 'deleteRange'; deleted: number; prevKvs: KeyValue[] }
  | { op: 'txn'; succeeded: boolean; responses: ResponseOp[] };

/**
 * Why a request changed nothing, decided when it was applied (so the same on every member).
 * The codes are etcd's errors (api/v3rpc/rpctypes): the gRPC layer maps them.
 */
export type TxnErrorCode =
  | 'compacted'
  | 'futureRev'
  | 'leaseNotFound'
  | 'leaseExists'
  | 'keyNotFound'
  | 'duplicateKey';

export type TxnResult =
  | { op: 'txn'; revision: number; succeeded: boolean; responses: ResponseOp[] }
  | { op: 'txnError'; revision: number; code: TxnErrorCode; message: string };

/** etcd's messages, which clients match. */
export const TXN_ERROR_MESSAGES: Record<TxnErrorCode, string> = {
  compacted: 'mvcc: required revision has been compacted',
  futureRev: 'mvcc: required revision is a future revision',
  leaseNotFound: 'requested lease not found',
  leaseExists: 'lease already exists',
  keyNotFound: 'key not found',
  duplicateKey: 'duplicate key given in txn request',
};

/** etcd's default --max-txn-ops. */
export const MAX_TXN_OPS = 128;

// ---- spans ----

const EMPTY = new Uint8Array(0);

/** A span as a byte range [start, end); end null: no upper bound. */
export interface ByteRange {
  start: Buffer;
  end: Buffer | null;
}

export function toByteRange(s: KeySpan): ByteRange {
  const start = Buffer.from(s.key);
  if (s.rangeEnd.length === 0) return { start, end: Buffer.concat([start, Buffer.of(0)]) };
  if (s.rangeEnd.length === 1 && s.rangeEnd[0] === 0) return { start, end: null };
  return { start, end: Buffer.from(s.rangeEnd) };
}

export function inRange(r: ByteRange, key: Uint8Array): boolean {
  return Buffer.compare(key, r.start) >= 0 && (r.end === null || Buffer.compare(key, r.end) < 0);
}

export function rangesOverlap(a: ByteRange, b: ByteRange): boolean {
  const aBeforeB = a.end !== null && Buffer.compare(a.end, b.start) <= 0;
  const bBeforeA = b.end !== null && Buffer.compare(b.end, a.start) <= 0;
  return !aBeforeB && !bBeforeA;
}

/** etcd's Range of `span` with its defaults (current revision, no limit, key order), and `o`. */
export function rangeOp(span: KeySpan, o: Partial<Omit<RangeOp, 'op'>> = {}): RangeOp {
  return {
    op: 'range',
    key: span.key,
    rangeEnd: span.rangeEnd,
    limit: 0,
    revision: 0,
    sortOrder: 'none',
    sortTarget: 'key',
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
    ...o,
  };
}

/** A span that names one key. */
export function keySpan(key: ByteString | Uint8Array): KeySpan {
  return { key: typeof key === 'string' ? bytesOf(key) : key, rangeEnd: EMPTY };
}

/** The span of every key starting with `prefix` (etcd's prefix end: last byte + 1). */
export function prefixSpan(prefix: Uint8Array): KeySpan {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return { key: prefix, rangeEnd: end.subarray(0, i + 1) };
    }
  }
  // No successor (empty or all 0xff): every key from `prefix` on.
  return { key: prefix.length === 0 ? Uint8Array.of(0) : prefix, rangeEnd: Uint8Array.of(0) };
}

/**
 * etcd's duplicate check over the requests of one path: a key may be put once, and not inside
 * a range the same transaction deletes. Returns false when they collide.
 */
export function writesAreDisjoint(ops: readonly RequestOp[]): boolean {
  const puts = new Set<string>();
  const dels: ByteRange[] = [];
  const collect = (list: readonly RequestOp[]): boolean => {
    for (const o of list) {
      if (o.op === 'put') {
        if (puts.has(o.key)) return false;
        puts.add(o.key);
      } else if (o.op === 'deleteRange') dels.push(toByteRange(o));
      else if (o.op === 'txn' && !(collect(o.success) && collect(o.failure))) return false;
    }
    return true;
  };
  if (!collect(ops)) return false;
  for (const k of puts) {
    const b = bytesOf(k);
    if (dels.some((d) => inRange(d, b))) return false;
  }
  return true;
}

// ---- encoding (inside command.ts's format) ----

const TARGETS: CompareTarget[] = ['version', 'create', 'mod', 'value', 'lease'];
const RESULTS: CompareResult[] = ['equal', 'greater', 'less', 'notEqual'];
const ORDERS: SortOrder[] = ['none', 'ascend', 'descend'];
const SORT_TARGETS: SortTarget[] = ['key', 'version', 'create', 'mod', 'value'];

const OP_RANGE = 1;
const OP_PUT = 2;
const OP_DELETE = 3;
const OP_TXN = 4;

const FLAG_PREV = 1;
const FLAG_IGNORE_VALUE = 2;
const FLAG_IGNORE_LEASE = 4;
const FLAG_KEYS_ONLY = 1;
const FLAG_COUNT_ONLY = 2;

/** Nesting deeper than this is refused when decoding (etcd has no limit; its size limit binds). */
const MAX_DEPTH = 32;

function enumIndex<T>(list: readonly T[], v: T, what: string): number {
  const i = list.indexOf(v);
  if (i < 0) throw new KvCodecError(`unknown ${what} ${String(v)}`);
  return i;
}

function enumAt<T>(list: readonly T[], i: number, what: string): T {
  const v = list[i];
  if (v === undefined) throw new KvCodecError(`unknown ${what} ${i}`);
  return v;
}

export function writeTxn(w: ByteWriter, t: TxnOp): void {
  w.uvarint(t.compare.length);
  for (const c of t.compare) {
    w.u8(enumIndex(TARGETS, c.target, 'compare target'));
    w.u8(enumIndex(RESULTS, c.result, 'compare result'));
    w.bytes(c.key).bytes(c.rangeEnd);
    if (c.target === 'value') w.bstr(c.value);
    else w.uvarint(c.number);
  }
  writeOps(w, t.success);
  writeOps(w, t.failure);
}

function writeOps(w: ByteWriter, ops: readonly RequestOp[]): void {
  w.uvarint(ops.length);
  for (const o of ops) {
    switch (o.op) {
      case 'range':
        w.u8(OP_RANGE).bytes(o.key).bytes(o.rangeEnd).uvarint(o.limit).uvarint(o.revision);
        w.u8(enumIndex(ORDERS, o.sortOrder, 'sort order'));
        w.u8(enumIndex(SORT_TARGETS, o.sortTarget, 'sort target'));
        w.u8((o.keysOnly ? FLAG_KEYS_ONLY : 0) | (o.countOnly ? FLAG_COUNT_ONLY : 0));
        w.uvarint(o.minModRevision).uvarint(o.maxModRevision);
        w.uvarint(o.minCreateRevision).uvarint(o.maxCreateRevision);
        break;
      case 'put':
        w.u8(OP_PUT).bstr(o.key).bstr(o.value).uvarint(o.lease);
        w.u8(
          (o.prevKv ? FLAG_PREV : 0) |
            (o.ignoreValue ? FLAG_IGNORE_VALUE : 0) |
            (o.ignoreLease ? FLAG_IGNORE_LEASE : 0),
        );
        break;
      case 'deleteRange':
        w.u8(OP_DELETE)
          .bytes(o.key)
          .bytes(o.rangeEnd)
          .u8(o.prevKv ? FLAG_PREV : 0);
        break;
      case 'txn':
        w.u8(OP_TXN);
        writeTxn(w, o);
        break;
    }
  }
}

export function readTxn(r: ByteReader, depth = 0): TxnOp {
  if (depth > MAX_DEPTH) throw new KvCodecError(`transactions nested deeper than ${MAX_DEPTH}`);
  const n = r.uvarint();
  const compare: Compare[] = [];
  for (let i = 0; i < n; i++) {
    const target = enumAt(TARGETS, r.u8(), 'compare target');
    const result = enumAt(RESULTS, r.u8(), 'compare result');
    const key = r.bytes();
    const rangeEnd = r.bytes();
    const c: Compare = { target, result, key, rangeEnd, value: '', number: 0 };
    if (target === 'value') c.value = r.bstr();
    else c.number = r.uvarint();
    compare.push(c);
  }
  const success = readOps(r, depth);
  const failure = readOps(r, depth);
  return { op: 'txn', compare, success, failure };
}

function readOps(r: ByteReader, depth: number): RequestOp[] {
  const n = r.uvarint();
  const ops: RequestOp[] = [];
  for (let i = 0; i < n; i++) {
    const tag = r.u8();
    if (tag === OP_RANGE) {
      const key = r.bytes();
      const rangeEnd = r.bytes();
      const limit = r.uvarint();
      const revision = r.uvarint();
      const sortOrder = enumAt(ORDERS, r.u8(), 'sort order');
      const sortTarget = enumAt(SORT_TARGETS, r.u8(), 'sort target');
      const flags = r.u8();
      if (flags & ~(FLAG_KEYS_ONLY | FLAG_COUNT_ONLY))
        throw new KvCodecError(`range flags ${flags}`);
      ops.push({
        op: 'range',
        key,
        rangeEnd,
        limit,
        revision,
        sortOrder,
        sortTarget,
        keysOnly: (flags & FLAG_KEYS_ONLY) !== 0,
        countOnly: (flags & FLAG_COUNT_ONLY) !== 0,
        minModRevision: r.uvarint(),
        maxModRevision: r.uvarint(),
        minCreateRevision: r.uvarint(),
        maxCreateRevision: r.uvarint(),
      });
    } else if (tag === OP_PUT) {
      const key = r.bstr();
      const value = r.bstr();
      const lease = r.uvarint();
      const flags = r.u8();
      if (flags & ~(FLAG_PREV | FLAG_IGNORE_VALUE | FLAG_IGNORE_LEASE)) {
        throw new KvCodecError(`put flags ${flags}`);
      }
      ops.push({
        op: 'put',
        key,
        value,
        lease,
        prevKv: (flags & FLAG_PREV) !== 0,
        ignoreValue: (flags & FLAG_IGNORE_VALUE) !== 0,
        ignoreLease: (flags & FLAG_IGNORE_LEASE) !== 0,
      });
    } else if (tag === OP_DELETE) {
      const key = r.bytes();
      const rangeEnd = r.bytes();
      const flags = r.u8();
      if (flags & ~FLAG_PREV) throw new KvCodecError(`delete flags ${flags}`);
      ops.push({ op: 'deleteRange', key, rangeEnd, prevKv: flags === FLAG_PREV });
    } else if (tag === OP_TXN) {
      ops.push(readTxn(r, depth + 1));
    } else {
      throw new KvCodecError(`unknown request op ${tag}`);
    }
  }
  return ops;
}
