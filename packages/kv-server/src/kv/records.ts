// The on-disk layout of the KV store: LevelDB keys and the records under them.
//
//   "!"                      meta: layout version, applied index, store revision, key count.
//                            Rewritten by every apply batch, so the applied index is always
//                            the one of the data beside it.
//   "k" + key               the key's head: createRevision, modRevision, version, value.
//                            A current read is one point get; a prefix range is one scan.
//   "m" + u64be(id)          a member record (client and peer URL).
//   "l" + u64be(id)          a lease (etcd's Lease): varint TTL in seconds, as granted. Which
//                            keys it holds is in their heads; when it expires is the leader's
//                            business (lease-keeper.ts), not the store's.
//
//   "r" + u64be(main) + u64be(sub)   the change made at that revision (history.ts): a put's
//                                    whole record or a delete's tombstone, as etcd's key
//                                    bucket. Watch replays and snapshots scan it.
//   "h" + esc(key) + 0x00 0x00 + u64be(main)   the key's revisions, in key then revision order
//                                    (esc doubles 0x00 bytes as 0x00 0x01), pointing at "r": a
//                                    read at an old revision seeks the greatest main <= rev;
//                                    compaction walks it key by key.
//
// Why heads keyed by key and not etcd's layout: etcd keys its backend by revision
// (main, sub) and keeps an in-memory B-tree from key to revisions (keyIndex) that is rebuilt
// by scanning everything at start, so its memory grows with keys × uncompacted revisions.
// Here the head record is that index's newest generation, on disk, with the value inline,
// and "h" is the rest of the index, on disk too: current reads and the apply path's
// "previous value" lookups are one point get, a range is a contiguous scan, and nothing in
// memory grows with the number of keys or revisions.
// Keys and values are bytes (byte strings in memory, bytes.ts); keys sort bytewise, as etcd's.
import type { ByteString } from './bytes.js';
import { KvCorruptionError } from './errors.js';

/**
 * 2: heads carry a lease, history under "r" and "h", the compacted revision in the meta.
 * 3: keys and values may be any bytes (2 held only UTF-8; its records read the same, so a
 * store of layout 2 is opened and written as 3 from its first batch on; a version that reads
 * only 2 refuses a store of 3 instead of misreading its bytes as text).
 */
export const LAYOUT_VERSION = 3;
const READABLE_LAYOUTS = [2, 3];

const META_PREFIX = 0x21; // '!'
const KV_PREFIX = 0x6b; // 'k'
const MEMBER_PREFIX = 0x6d; // 'm'
const LEASE_PREFIX = 0x6c; // 'l'

export const META_KEY = Uint8Array.of(META_PREFIX);

/** A key's current state, as the store holds it (the key is beside it). */
export interface KvRecord {
  value: ByteString;
  createRevision: number;
  modRevision: number;
  version: number;
  /** The lease the key is attached to; 0 for none. */
  lease: number;
}

export interface MemberRecord {
  id: number;
  clientUrl: string;
  peerUrl: string;
}

export interface Meta {
  appliedIndex: number;
  revision: number;
  keyCount: number;
  /** Reads below this revision are refused; history at or below it is pruned. */
  compactRevision: number;
}

export function kvKey(key: ByteString): Buffer {
  const n = key.length;
  const out = Buffer.allocUnsafe(1 + n);
  out[0] = KV_PREFIX;
  out.write(key, 1, n, 'latin1');
  return out;
}

/** The user key of a "k" record's LevelDB key. */
export function userKeyOf(dbKey: Uint8Array): ByteString {
  return Buffer.from(dbKey.buffer, dbKey.byteOffset, dbKey.length).toString('latin1', 1);
}

/** [gte, lt) of the "k" records of a byte range of keys; `end` null: every key >= `start`. */
export function kvSpanRange(
  start: Uint8Array,
  end: Uint8Array | null,
): { gte: Buffer; lt: Buffer } {
  return {
    gte: kvKeyFromBytes(start),
    lt: end === null ? Buffer.of(KV_PREFIX + 1) : kvKeyFromBytes(end),
  };
}

export function memberKey(id: number): Buffer {
  const out = Buffer.allocUnsafe(9);
  out[0] = MEMBER_PREFIX;
  out.writeBigUInt64BE(BigInt(id), 1);
  return out;
}

export function leaseKey(id: number): Buffer {
  const out = Buffer.allocUnsafe(9);
  out[0] = LEASE_PREFIX;
  out.writeBigUInt64BE(BigInt(id), 1);
  return out;
}

export const LEASE_RANGE = {
  gte: Uint8Array.of(LEASE_PREFIX),
  lt: Uint8Array.of(LEASE_PREFIX + 1),
};

/** A lease as the store holds it: its id and the TTL it was granted, in seconds. */
export interface LeaseRecord {
  id: number;
  ttl: number;
}

export function encodeLeaseRecord(l: LeaseRecord): Buffer {
  const out = Buffer.allocUnsafe(varintSize(l.ttl));
  putVarint(out, 0, l.ttl);
  return out;
}

export function decodeLeaseRecord(key: Uint8Array, buf: Uint8Array, where: string): LeaseRecord {
  const t = readVarint(buf, 0, buf.length);
  if (key.length !== 9 || t === null || Number.isNaN(t[0]) || t[1] !== buf.length) {
    throw new KvCorruptionError(where, 'a lease record does not decode');
  }
  const k = Buffer.from(key.buffer, key.byteOffset, key.length);
  return { id: Number(k.readBigUInt64BE(1)), ttl: t[0] };
}

/** Every "k" record. */
export const KV_RANGE = { gte: Uint8Array.of(KV_PREFIX), lt: Uint8Array.of(KV_PREFIX + 1) };

export const MEMBER_RANGE = {
  gte: Uint8Array.of(MEMBER_PREFIX),
  lt: Uint8Array.of(MEMBER_PREFIX + 1),
};

// ---- varints on Buffers (unsigned, up to 2^53 - 1) ----

export function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

export function putVarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

/** Reads a varint at `pos`: [value, next position], or null when it runs past `end`. */
export function readVarint(buf: Uint8Array, pos: number, end: number): [number, number] | null {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= end) return null;
    const b = buf[pos++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) return [result, pos];
    mul *= 0x80;
  }
  return [Number.NaN, pos]; // too long: the caller reports it as malformed
}

// ---- "k" records: varint createRevision, modRevision, version, lease; then the value ----

export function encodeKvRecord(r: KvRecord): Buffer {
  const head =
    varintSize(r.createRevision) +
    varintSize(r.modRevision) +
    varintSize(r.version) +
    varintSize(r.lease);
  const n = r.value.length;
  const out = Buffer.allocUnsafe(head + n);
  let pos = putVarint(out, 0, r.createRevision);
  pos = putVarint(out, pos, r.modRevision);
  pos = putVarint(out, pos, r.version);
  pos = putVarint(out, pos, r.lease);
  out.write(r.value, pos, n, 'latin1');
  return out;
}

export interface KvRecordHead {
  createRevision: number;
  modRevision: number;
  version: number;
  lease: number;
  /** Where the value's bytes start. */
  valueAt: number;
}

/** The numbers of a "k" record and where its value starts; null when malformed. */
export function kvRecordHead(buf: Uint8Array): KvRecordHead | null {
  const c = readVarint(buf, 0, buf.length);
  if (c === null || Number.isNaN(c[0])) return null;
  const m = readVarint(buf, c[1], buf.length);
  if (m === null || Number.isNaN(m[0])) return null;
  const v = readVarint(buf, m[1], buf.length);
  if (v === null || Number.isNaN(v[0])) return null;
  const l = readVarint(buf, v[1], buf.length);
  if (l === null || Number.isNaN(l[0])) return null;
  return {
    createRevision: c[0],
    modRevision: m[0],
    version: v[0],
    lease: l[0],
    valueAt: l[1],
  };
}

export function decodeKvRecord(buf: Uint8Array, where: string): KvRecord {
  const head = kvRecordHead(buf);
  if (head === null) throw new KvCorruptionError(where, 'a key record does not decode');
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  return {
    value: b.toString('latin1', head.valueAt),
    createRevision: head.createRevision,
    modRevision: head.modRevision,
    version: head.version,
    lease: head.lease,
  };
}

// ---- "m" records: varint length + client URL, then the peer URL ----

export function encodeMemberRecord(m: MemberRecord): Buffer {
  const c = Buffer.byteLength(m.clientUrl, 'utf8');
  const p = Buffer.byteLength(m.peerUrl, 'utf8');
  const out = Buffer.allocUnsafe(varintSize(c) + c + p);
  const pos = putVarint(out, 0, c);
  out.write(m.clientUrl, pos, c, 'utf8');
  out.write(m.peerUrl, pos + c, p, 'utf8');
  return out;
}

export function decodeMemberRecord(key: Uint8Array, buf: Uint8Array, where: string): MemberRecord {
  const c = readVarint(buf, 0, buf.length);
  if (key.length !== 9 || c === null || Number.isNaN(c[0]) || c[1] + c[0] > buf.length) {
    throw new KvCorruptionError(where, 'a member record does not decode');
  }
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const k = Buffer.from(key.buffer, key.byteOffset, key.length);
  return {
    id: Number(k.readBigUInt64BE(1)),
    clientUrl: b.toString('utf8', c[1], c[1] + c[0]),
    peerUrl: b.toString('utf8', c[1] + c[0]),
  };
}

// ---- the meta record: u8 layout version, varint appliedIndex, revision, keyCount, compact ----

export function encodeMeta(m: Meta): Buffer {
  const out = Buffer.allocUnsafe(1 + 4 * 8);
  out[0] = LAYOUT_VERSION;
  let pos = putVarint(out, 1, m.appliedIndex);
  pos = putVarint(out, pos, m.revision);
  pos = putVarint(out, pos, m.keyCount);
  pos = putVarint(out, pos, m.compactRevision);
  return out.subarray(0, pos);
}

export function decodeMeta(buf: Uint8Array, where: string): Meta {
  if (buf.length < 1 || !READABLE_LAYOUTS.includes(buf[0]!)) {
    throw new KvCorruptionError(
      where,
      `layout version ${buf[0]}; this version reads ${READABLE_LAYOUTS.join(' and ')}`,
    );
  }
  const a = readVarint(buf, 1, buf.length);
  const r = a && readVarint(buf, a[1], buf.length);
  const k = r && readVarint(buf, r[1], buf.length);
  const c = k && readVarint(buf, k[1], buf.length);
  if (!a || !r || !k || !c || c[1] !== buf.length || [a[0], r[0], k[0], c[0]].some(Number.isNaN)) {
    throw new KvCorruptionError(where, 'the meta record does not decode');
  }
  return { appliedIndex: a[0], revision: r[0], keyCount: k[0], compactRevision: c[0] };
}

/** A "k" record from its parts as a snapshot stream carries them (the value's bytes). */
export function encodeKvRecordBytes(
  createRevision: number,
  modRevision: number,
  version: number,
  lease: number,
  value: Uint8Array,
): Buffer {
  const head =
    varintSize(createRevision) + varintSize(modRevision) + varintSize(version) + varintSize(lease);
  const out = Buffer.allocUnsafe(head + value.length);
  let pos = putVarint(out, 0, createRevision);
  pos = putVarint(out, pos, modRevision);
  pos = putVarint(out, pos, version);
  pos = putVarint(out, pos, lease);
  out.set(value, pos);
  return out;
}

/** The LevelDB key of a "k" record from the key's bytes. */
export function kvKeyFromBytes(key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + key.length);
  out[0] = KV_PREFIX;
  out.set(key, 1);
  return out;
}
