// The store's MVCC history on disk (layout in records.ts): "r" records, one per change, keyed
// by revision (main, sub) as etcd keys its backend; "h" records, one per change too, keyed by
// the key then main revision, so that a read at an old revision finds each key's state with
// a scan in key order instead of an index in memory. A change is one key's put or delete;
// one revision (a request or a transaction) may change many keys, numbered by `sub`.
import type { ByteString } from './bytes.js';
import { KvCorruptionError } from './errors.js';
import { type KvRecord, putVarint, readVarint, varintSize } from './records.js';

const REV_PREFIX = 0x72; // 'r'
const HIST_PREFIX = 0x68; // 'h'

export const EVENT_PUT = 1;
export const EVENT_DELETE = 2;

/** Every "r" record, and every "h" record. */
export const REV_RANGE = { gte: Buffer.of(REV_PREFIX), lt: Buffer.of(REV_PREFIX + 1) };
export const HIST_RANGE = { gte: Buffer.of(HIST_PREFIX), lt: Buffer.of(HIST_PREFIX + 1) };

/** One change: a put with the key's new record, or a delete (record null). */
export interface KvEvent {
  key: ByteString;
  main: number;
  sub: number;
  record: KvRecord | null;
}

function writeU64(buf: Buffer, pos: number, v: number): void {
  buf.writeUInt32BE(Math.floor(v / 0x1_0000_0000), pos);
  buf.writeUInt32BE(v % 0x1_0000_0000, pos + 4);
}

function readU64(buf: Uint8Array, pos: number): number {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  return b.readUInt32BE(pos) * 0x1_0000_0000 + b.readUInt32BE(pos + 4);
}

export function revKey(main: number, sub: number): Buffer {
  const out = Buffer.allocUnsafe(17);
  out[0] = REV_PREFIX;
  writeU64(out, 1, main);
  writeU64(out, 9, sub);
  return out;
}

/** The first "r" key at or after revision `main`. */
export function revKeyFrom(main: number): Buffer {
  return revKey(main, 0);
}

export function parseRevKey(k: Uint8Array): { main: number; sub: number } {
  return { main: readU64(k, 1), sub: readU64(k, 9) };
}

/** Doubles 0x00 bytes (0x00 0x01) so that 0x00 0x00 can end the key and order is kept. */
function escapedLength(key: Uint8Array): number {
  let n = key.length;
  for (const b of key) if (b === 0) n++;
  return n;
}

function writeEscaped(out: Buffer, pos: number, key: Uint8Array): number {
  for (const b of key) {
    out[pos++] = b;
    if (b === 0) out[pos++] = 1;
  }
  return pos;
}

/** "h" + esc(key) + 00 00 + u64be(main). */
export function histKey(key: Uint8Array, main: number): Buffer {
  const out = Buffer.allocUnsafe(1 + escapedLength(key) + 2 + 8);
  out[0] = HIST_PREFIX;
  let pos = writeEscaped(out, 1, key);
  out[pos++] = 0;
  out[pos++] = 0;
  writeU64(out, pos, main);
  return out;
}

/** "h" + esc(key): every "h" record of keys >= key sorts at or after it. */
export function histBound(key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + escapedLength(key));
  out[0] = HIST_PREFIX;
  writeEscaped(out, 1, key);
  return out;
}

/** [gte, lt) of the "h" records of keys in [start, end); end null: every key >= start. */
export function histSpanRange(
  start: Uint8Array,
  end: Uint8Array | null,
): { gte: Buffer; lt: Buffer } {
  return { gte: histBound(start), lt: end === null ? HIST_RANGE.lt : histBound(end) };
}

/** [gte, lt) of one key's "h" records. */
export function histKeyRange(key: Uint8Array): { gte: Buffer; lt: Buffer } {
  const gte = Buffer.concat([histBound(key), Buffer.of(0, 0)]);
  const lt = Buffer.concat([histBound(key), Buffer.of(0, 1)]);
  return { gte, lt };
}

/** The key (its bytes) and main revision of an "h" record's LevelDB key. */
export function parseHistKey(k: Uint8Array, where: string): { key: Buffer; main: number } {
  const end = k.length - 10;
  if (end < 1 || k[end] !== 0 || k[end + 1] !== 0) {
    throw new KvCorruptionError(where, 'a history index key does not decode');
  }
  const key = Buffer.allocUnsafe(end - 1);
  let n = 0;
  for (let i = 1; i < end; i++) {
    key[n++] = k[i]!;
    if (k[i] === 0) i++; // the escape's 0x01
  }
  return { key: key.subarray(0, n), main: readU64(k, end + 2) };
}

/** An "h" record's value: varint sub, u8 event type. */
export function encodeHistValue(sub: number, type: number): Buffer {
  const out = Buffer.allocUnsafe(varintSize(sub) + 1);
  const pos = putVarint(out, 0, sub);
  out[pos] = type;
  return out;
}

export function decodeHistValue(v: Uint8Array, where: string): { sub: number; type: number } {
  const s = readVarint(v, 0, v.length);
  if (s === null || Number.isNaN(s[0]) || s[1] + 1 !== v.length) {
    throw new KvCorruptionError(where, 'a history index record does not decode');
  }
  return { sub: s[0], type: v[s[1]]! };
}

/**
 * An "r" record's value: u8 type, varint key length, key; for a put then varint
 * createRevision, version, lease, and the value's bytes (its modRevision is the main
 * revision in the LevelDB key).
 */
export function encodeEvent(key: ByteString, record: KvRecord | null): Buffer {
  const k = key.length;
  if (record === null) {
    const out = Buffer.allocUnsafe(1 + varintSize(k) + k);
    out[0] = EVENT_DELETE;
    const pos = putVarint(out, 1, k);
    out.write(key, pos, k, 'latin1');
    return out;
  }
  const v = record.value.length;
  const out = Buffer.allocUnsafe(
    1 +
      varintSize(k) +
      k +
      varintSize(record.createRevision) +
      varintSize(record.version) +
      varintSize(record.lease) +
      v,
  );
  out[0] = EVENT_PUT;
  let pos = putVarint(out, 1, k);
  pos += out.write(key, pos, k, 'latin1');
  pos = putVarint(out, pos, record.createRevision);
  pos = putVarint(out, pos, record.version);
  pos = putVarint(out, pos, record.lease);
  out.write(record.value, pos, v, 'latin1');
  return out;
}

/** Decodes an "r" record (its LevelDB key and value). */
export function decodeEvent(dbKey: Uint8Array, v: Uint8Array, where: string): KvEvent {
  const { main, sub } = parseRevKey(dbKey);
  const bad = (): never => {
    throw new KvCorruptionError(
      where,
      `the history record of revision ${main}.${sub} does not decode`,
    );
  };
  const type = v[0];
  const kl = readVarint(v, 1, v.length);
  if (kl === null || Number.isNaN(kl[0]) || kl[1] + kl[0] > v.length) return bad();
  const b = Buffer.from(v.buffer, v.byteOffset, v.length);
  const key = b.toString('latin1', kl[1], kl[1] + kl[0]);
  let pos = kl[1] + kl[0];
  if (type === EVENT_DELETE) {
    if (pos !== v.length) bad();
    return { key, main, sub, record: null };
  }
  if (type !== EVENT_PUT) return bad();
  const nums: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = readVarint(v, pos, v.length);
    if (r === null || Number.isNaN(r[0])) return bad();
    nums.push(r[0]);
    pos = r[1];
  }
  return {
    key,
    main,
    sub,
    record: {
      value: b.toString('latin1', pos),
      createRevision: nums[0]!,
      modRevision: main,
      version: nums[1]!,
      lease: nums[2]!,
    },
  };
}
