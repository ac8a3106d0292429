// The database's key space. One-byte keys for the singletons, then prefixed ranges whose
// 8-byte big-endian suffix makes LevelDB's byte order the numeric order:
//
//   0x01            format version
//   0x02            HardState
//   0x03            log start: index and term of the last compacted entry (firstIndex - 1)
//   0x04            snapshot (inline, or a reference to a snapshot file)
//   0x10 + u64 BE   entry at that index
//   0x20 + u64 BE   save journal: one key per synced batch, so a batch LevelDB dropped is noticed
//
// A database shared by many raft groups (LevelStore, format 2) has the version record and the
// journal as above, no singletons of its own, and per group:
//
//   0x30 + u64 BE gid                the group's registration (it exists: groupIds() lists it)
//   0x40 + u64 BE gid + <record key>  the group's records, laid out as above (0x02, 0x03,
//                                     0x04, 0x10 + u64 BE index): one contiguous range per
//                                     group, so a group is read with one scan and removed
//                                     by deleting its range
import type { Index } from '@tsraft/raft-core';

export const KEY_VERSION = Uint8Array.of(0x01);
export const KEY_HARD_STATE = Uint8Array.of(0x02);
export const KEY_LOG_START = Uint8Array.of(0x03);
export const KEY_SNAPSHOT = Uint8Array.of(0x04);
export const PREFIX_ENTRY = 0x10;
export const PREFIX_JOURNAL = 0x20;
export const PREFIX_GROUP_REGISTRY = 0x30;
export const PREFIX_GROUP = 0x40;

const TWO_32 = 2 ** 32;

/** `prefix` followed by `n` as an unsigned 64-bit big-endian integer. */
export function prefixedKey(prefix: number, n: number): Uint8Array {
  // Byte by byte rather than through a DataView: this runs once per entry saved.
  const k = new Uint8Array(9);
  const hi = Math.floor(n / TWO_32);
  const lo = n >>> 0;
  k[0] = prefix;
  k[1] = hi >>> 24;
  k[2] = hi >>> 16;
  k[3] = hi >>> 8;
  k[4] = hi;
  k[5] = lo >>> 24;
  k[6] = lo >>> 16;
  k[7] = lo >>> 8;
  k[8] = lo;
  return k;
}

export const entryKey = (i: Index): Uint8Array => prefixedKey(PREFIX_ENTRY, i);
export const journalKey = (seq: number): Uint8Array => prefixedKey(PREFIX_JOURNAL, seq);
export const groupRegistryKey = (gid: number): Uint8Array =>
  prefixedKey(PREFIX_GROUP_REGISTRY, gid);

/**
 * The keys of one log's records: the single-group layout (no prefix), or one group's range of
 * a shared database (prefix 0x40 + gid). Records are sealed with the whole key, prefix
 * included, so a record copied into another group's range fails its checksum.
 */
export class KeySpace {
  // Made when asked for, not kept: a host holds thousands of idle groups' key spaces, and a
  // key costs ~200 bytes of heap (typed array, buffer) against nanoseconds to make again.
  get hardState(): Uint8Array {
    return this.key(KEY_HARD_STATE);
  }
  get logStart(): Uint8Array {
    return this.key(KEY_LOG_START);
  }
  get snapshot(): Uint8Array {
    return this.key(KEY_SNAPSHOT);
  }
  /** The first key after the range ([0x41..] for group 0x40 + gid is gid + 1's prefix). */
  get end(): Uint8Array | null {
    const p = this.prefix;
    return p.length === 0 ? null : groupPrefix(keyNumber(p)! + 1);
  }

  private constructor(readonly prefix: Uint8Array) {}

  /** The layout of a database holding one log (LevelStorage.open). */
  static readonly single = new KeySpace(new Uint8Array(0));

  /** Group `gid`'s range of a shared database. */
  static group(gid: number): KeySpace {
    return new KeySpace(groupPrefix(gid));
  }

  entry(i: Index): Uint8Array {
    const n = this.prefix.length;
    if (n === 0) return prefixedKey(PREFIX_ENTRY, i);
    const k = new Uint8Array(n + 9);
    k.set(this.prefix);
    k.set(prefixedKey(PREFIX_ENTRY, i), n);
    return k;
  }

  /** A key of this range with the prefix taken off (a view). */
  inner(key: Uint8Array): Uint8Array {
    return this.prefix.length === 0 ? key : key.subarray(this.prefix.length);
  }

  private key(inner: Uint8Array): Uint8Array {
    const k = new Uint8Array(this.prefix.length + inner.length);
    k.set(this.prefix);
    k.set(inner, this.prefix.length);
    return k;
  }
}

function groupPrefix(gid: number): Uint8Array {
  return prefixedKey(PREFIX_GROUP, gid);
}

/** The number in a prefixed key, or null when the key is not 9 bytes or exceeds 2^53 - 1. */
export function keyNumber(key: Uint8Array): number | null {
  if (key.length !== 9) return null;
  const v = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const n = v.getUint32(1) * TWO_32 + v.getUint32(5);
  return Number.isSafeInteger(n) ? n : null;
}

export function writeU64(v: DataView, at: number, n: number): void {
  v.setUint32(at, Math.floor(n / TWO_32));
  v.setUint32(at + 4, n >>> 0);
}

/** Reads a u64 written by writeU64; NaN above 2^53 - 1, which callers treat as corrupt. */
export function readU64(v: DataView, at: number): number {
  const n = v.getUint32(at) * TWO_32 + v.getUint32(at + 4);
  return Number.isSafeInteger(n) ? n : Number.NaN;
}
