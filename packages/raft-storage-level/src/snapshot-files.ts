// Snapshots too large for a database record live in files beside the database:
//
//   <dir>/snap/<term:016x>-<index:016x>.snap
//   header (24 bytes): "TSRS" | u32 file version | u32 CRC-32 of (metadata, data)
//                      | u32 metadata length | u64 data length
//   metadata (a raftpb Snapshot with empty data), then the data itself
//
// A file is written to `<name>.tmp`, fsynced, renamed into place and the directory fsynced,
// so after a crash a name either holds a whole file or does not exist. The database record
// that points at the file also carries its CRC and size, and a file that disagrees with either
// is refused with ErrCorruptSnapshot.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Snapshot, SnapshotMetadata } from '@tsraft/raft-core';
import { crc32 } from './crc32.js';
import { ErrCorruptSnapshot } from './errors.js';
import { readU64, writeU64 } from './keys.js';
import { decodeSnapshotMetadata, encodeSnapshotMetadata, plainBytes } from './records.js';

const MAGIC = [0x54, 0x53, 0x52, 0x53]; // "TSRS"
const FILE_VERSION = 1;
const HEADER = 24;
const CHUNK = 1 << 20;

/** What the database records about a snapshot file. */
export interface SnapshotFileInfo {
  crc: number;
  /** The whole file's size in bytes. */
  size: number;
}

export function snapshotFileName(m: SnapshotMetadata): string {
  const hex = (n: number) => n.toString(16).padStart(16, '0');
  return `${hex(m.term)}-${hex(m.index)}.snap`;
}

/** Writes `snap` durably (temp name, fsync, rename, directory fsync) and describes the file. */
export async function writeSnapshotFile(
  snapDir: string,
  snap: Snapshot,
): Promise<SnapshotFileInfo> {
  const meta = encodeSnapshotMetadata(snap.metadata);
  const crc = crc32(snap.data, crc32(meta));
  const header = new Uint8Array(HEADER);
  const v = new DataView(header.buffer);
  header.set(MAGIC);
  v.setUint32(4, FILE_VERSION);
  v.setUint32(8, crc);
  v.setUint32(12, meta.length);
  writeU64(v, 16, snap.data.length);

  const final = path.join(snapDir, snapshotFileName(snap.metadata));
  const tmp = `${final}.tmp`;
  const fh = await fsp.open(tmp, 'w');
  try {
    for (const buf of [header, meta, snap.data]) {
      for (let off = 0; off < buf.length; ) {
        const { bytesWritten } = await fh.write(buf, off, buf.length - off);
        off += bytesWritten;
      }
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, final);
  await fsyncDir(snapDir);
  return { crc, size: HEADER + meta.length + snap.data.length };
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Checks a parsed header against the record; returns [metadata length, data length]. */
function checkHeader(
  header: Uint8Array,
  fileSize: number,
  info: SnapshotFileInfo,
  bad: (why: string) => ErrCorruptSnapshot,
): [number, number] {
  if (fileSize !== info.size) throw bad(`size ${fileSize}, expected ${info.size}`);
  if (header.length < HEADER || MAGIC.some((b, i) => header[i] !== b)) throw bad('bad header');
  const v = new DataView(header.buffer, header.byteOffset, HEADER);
  if (v.getUint32(4) !== FILE_VERSION) throw bad(`unknown file version ${v.getUint32(4)}`);
  if (v.getUint32(8) !== info.crc) throw bad('header checksum differs from the database record');
  const metaLen = v.getUint32(12);
  const dataLen = readU64(v, 16);
  if (HEADER + metaLen + dataLen !== fileSize) throw bad('lengths do not add up to the file size');
  return [metaLen, dataLen];
}

function checkMetadata(
  metaBytes: Uint8Array,
  expected: SnapshotMetadata,
  bad: (why: string) => ErrCorruptSnapshot,
): void {
  let m: SnapshotMetadata;
  try {
    m = decodeSnapshotMetadata(metaBytes);
  } catch (err) {
    throw bad(`metadata: ${(err as Error).message}`);
  }
  if (m.index !== expected.index || m.term !== expected.term) {
    throw bad(`holds snapshot ${m.index}@${m.term}, expected ${expected.index}@${expected.term}`);
  }
}

function badFor(file: string, index: number) {
  return (why: string) => new ErrCorruptSnapshot(index, file, why);
}

/** Reads a snapshot file synchronously (Storage.snapshot() is synchronous), verified. */
export function readSnapshotFile(
  snapDir: string,
  metadata: SnapshotMetadata,
  info: SnapshotFileInfo,
): Snapshot {
  const file = path.join(snapDir, snapshotFileName(metadata));
  const bad = badFor(file, metadata.index);
  let bytes: Uint8Array;
  try {
    bytes = plainBytes(fs.readFileSync(file));
  } catch (err) {
    throw bad(`cannot read: ${(err as Error).message}`);
  }
  const [metaLen] = checkHeader(bytes, bytes.length, info, bad);
  const meta = bytes.subarray(HEADER, HEADER + metaLen);
  const data = bytes.subarray(HEADER + metaLen);
  if (crc32(data, crc32(meta)) !== info.crc) throw bad('checksum mismatch');
  checkMetadata(meta, metadata, bad);
  return { data, metadata };
}

/** Verifies a snapshot file in chunks, without holding it all in memory (used at open). */
export async function verifySnapshotFile(
  snapDir: string,
  metadata: SnapshotMetadata,
  info: SnapshotFileInfo,
): Promise<void> {
  const file = path.join(snapDir, snapshotFileName(metadata));
  const bad = badFor(file, metadata.index);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (err) {
    throw bad(`cannot open: ${(err as Error).message}`);
  }
  try {
    const { size } = await fh.stat();
    const header = new Uint8Array(HEADER);
    const { bytesRead } = await fh.read(header, 0, HEADER, 0);
    const [metaLen] = checkHeader(header.subarray(0, bytesRead), size, info, bad);
    const meta = new Uint8Array(metaLen);
    await fh.read(meta, 0, metaLen, HEADER);
    checkMetadata(meta, metadata, bad);
    let crc = crc32(meta);
    const buf = new Uint8Array(Math.min(CHUNK, Math.max(1, size)));
    for (let pos = HEADER + metaLen; pos < size; ) {
      const r = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
      if (r.bytesRead === 0) throw bad('file shorter than its header says');
      crc = crc32(buf.subarray(0, r.bytesRead), crc);
      pos += r.bytesRead;
    }
    if (crc !== info.crc) throw bad('checksum mismatch');
  } finally {
    await fh.close();
  }
}

/** Deletes temp files and snapshot files other than `keep` (leftovers of crashes). */
export async function removeStraySnapshotFiles(
  snapDir: string,
  keep: string | null,
): Promise<void> {
  for (const name of await fsp.readdir(snapDir)) {
    if (name === keep) continue;
    if (name.endsWith('.snap') || name.endsWith('.snap.tmp')) {
      await fsp.rm(path.join(snapDir, name), { force: true });
    }
  }
}
