// The database's key space. One-byte keys for the singletons, then prefixed ranges whose
// 8-byte big-endian suffix makes LevelDB's byte order the numeric order:
//
//   0x01            format version
//   0x02            HardState
//   0x03            log start: index and term of the last compacted entry (firstIndex - 1)
//   0x04            snapshot (inline, or a reference to a snapshot file)
//   0x10 + u64 BE   entry at that index
//   0x20 + u64 BE   save journal: one key per save, so a save LevelDB dropped is noticed
import type { Index } from '@tsraft/raft-core';

export const KEY_VERSION = Uint8Array.of(0x01);
export const KEY_HARD_STATE = Uint8Array.of(0x02);
export const KEY_LOG_START = Uint8Array.of(0x03);
export const KEY_SNAPSHOT = Uint8Array.of(0x04);
export const PREFIX_ENTRY = 0x10;
export const PREFIX_JOURNAL = 0x20;

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
