// CRC-32 (IEEE 802.3, the zlib/PNG polynomial) of byte ranges, chained through `seed`.
// Node >= 20.15 has a native zlib.crc32; older Node 20 releases use the table below, which
// computes the same function, so files written by either read back on the other.
import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, seed?: number) => number;

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The table-driven fallback; exported so tests can check it against the native one. */
export function crc32Table(data: Uint8Array, seed = 0): number {
  let c = (seed ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native = (zlib as { crc32?: Crc32 }).crc32;

/** CRC-32 of `data`, continuing from `seed` (the CRC of the bytes before it). */
export const crc32: Crc32 = native ?? crc32Table;
