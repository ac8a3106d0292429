// CRC-32 (IEEE, zlib's polynomial) chained through `seed`: zlib.crc32 where Node has it
// (20.15+), else the same function from a table, so either side reads what the other wrote.
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

export function crc32Table(data: Uint8Array, seed = 0): number {
  let c = (seed ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export const crc32: Crc32 = (zlib as { crc32?: Crc32 }).crc32 ?? crc32Table;
