// Record values: a CRC-32 of (key, body) followed by the body. Covering the key too means a
// record that a damaged key moved to another index fails its check instead of being served
// as that index. Bodies use proto/raftpb.proto (the project's wire and storage format)
// where a raftpb type exists.
import {
  type Entry,
  type HardState,
  type Index,
  type Snapshot,
  type SnapshotMetadata,
  type Term,
  EMPTY_BYTES,
  decodeEntry,
  decodeHardState,
  decodeSnapshot,
  encodeEntry,
  encodeHardState,
  encodeSnapshot,
  newConfState,
  newEntry,
} from '@tsraft/raft-core';
import { crc32 } from './crc32.js';
import { ErrCorruptRecord, type RecordKind } from './errors.js';
import { readU64, writeU64 } from './keys.js';

/** The on-disk format this code writes and reads; bump on any incompatible change. */
export const FORMAT_VERSION = 1;
const VERSION_MAGIC = [0x54, 0x53, 0x52, 0x4c]; // "TSRL"

export function seal(key: Uint8Array, body: Uint8Array): Uint8Array {
  const value = new Uint8Array(4 + body.length);
  const crc = crc32(body, crc32(key));
  value[0] = crc >>> 24;
  value[1] = crc >>> 16;
  value[2] = crc >>> 8;
  value[3] = crc;
  value.set(body, 4);
  return value;
}

/** The body of a sealed record, or ErrCorruptRecord if it is short or fails its checksum. */
export function unseal(
  key: Uint8Array,
  value: Uint8Array,
  kind: RecordKind,
  index: number | null,
  path: string,
): Uint8Array {
  if (value.length < 4)
    throw new ErrCorruptRecord(kind, index, path, 'record shorter than its checksum');
  const stored = new DataView(value.buffer, value.byteOffset, 4).getUint32(0);
  const body = value.subarray(4);
  if (crc32(body, crc32(key)) !== stored) {
    throw new ErrCorruptRecord(kind, index, path, 'checksum mismatch');
  }
  return body;
}

/** Runs a decoder, turning any failure into ErrCorruptRecord. */
function decodeOr<T>(kind: RecordKind, index: number | null, path: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new ErrCorruptRecord(kind, index, path, (err as Error).message);
  }
}

export function encodeVersion(version = FORMAT_VERSION): Uint8Array {
  const b = new Uint8Array(8);
  b.set(VERSION_MAGIC);
  new DataView(b.buffer).setUint32(4, version);
  return b;
}

/** The format version in a version body, or null if the body is not ours at all. */
export function decodeVersion(body: Uint8Array): number | null {
  if (body.length !== 8 || VERSION_MAGIC.some((b, i) => body[i] !== b)) return null;
  return new DataView(body.buffer, body.byteOffset, 8).getUint32(4);
}

export const encodeHardStateBody = (hs: HardState): Uint8Array => encodeHardState(hs);

export function decodeHardStateBody(body: Uint8Array, path: string): HardState {
  const hs = decodeOr('hardState', null, path, () => decodeHardState(body));
  return { term: hs.term, vote: hs.vote, commit: hs.commit };
}

/** Where the log starts: the index and term of the entry just before the first one. */
export interface LogStart {
  index: Index;
  term: Term;
}

export function encodeLogStart(s: LogStart): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  writeU64(v, 0, s.index);
  writeU64(v, 8, s.term);
  return b;
}

export function decodeLogStart(body: Uint8Array, path: string): LogStart {
  if (body.length !== 16) throw new ErrCorruptRecord('logStart', null, path, 'wrong length');
  const v = new DataView(body.buffer, body.byteOffset, 16);
  const s = { index: readU64(v, 0), term: readU64(v, 8) };
  if (Number.isNaN(s.index) || Number.isNaN(s.term)) {
    throw new ErrCorruptRecord('logStart', null, path, 'number above 2^53 - 1');
  }
  return s;
}

export const encodeEntryBody = (e: Entry): Uint8Array => encodeEntry(e);

/** Decodes entry `index`, checking that the record holds that index. */
export function decodeEntryBody(body: Uint8Array, index: Index, path: string): Entry {
  const e = decodeOr('entry', index, path, () => decodeEntry(body));
  if (e.index !== index) {
    throw new ErrCorruptRecord('entry', index, path, `record holds index ${e.index}`);
  }
  // A plain object of raft-core's shape, not protobufjs' message with prototype defaults.
  return newEntry({ term: e.term, index: e.index, type: e.type, data: plainBytes(e.data) });
}

/**
 * A plain Uint8Array view of the same bytes: LevelDB and fs hand out Buffers, and raft-core's
 * types (and deep equality in users' tests) expect Uint8Array itself.
 */
export function plainBytes(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** A snapshot as its database record describes it. */
export type SnapshotRecord =
  | { where: 'inline'; snapshot: Snapshot }
  | { where: 'file'; metadata: SnapshotMetadata; crc: number; size: number };

export function encodeSnapshotRecord(r: SnapshotRecord): Uint8Array {
  if (r.where === 'inline') {
    const snap = encodeSnapshot(r.snapshot);
    const b = new Uint8Array(1 + snap.length);
    b[0] = 0;
    b.set(snap, 1);
    return b;
  }
  const meta = encodeSnapshotMetadata(r.metadata);
  const b = new Uint8Array(13 + meta.length);
  const v = new DataView(b.buffer);
  b[0] = 1;
  v.setUint32(1, r.crc);
  writeU64(v, 5, r.size);
  b.set(meta, 13);
  return b;
}

export function decodeSnapshotRecord(body: Uint8Array, path: string): SnapshotRecord {
  const where = body[0];
  if (where === 0) {
    const s = decodeOr('snapshot', null, path, () => decodeSnapshot(body.subarray(1)));
    return {
      where: 'inline',
      snapshot: { data: plainBytes(s.data), metadata: plainMetadata(s.metadata) },
    };
  }
  if (where === 1 && body.length >= 13) {
    const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const size = readU64(v, 5);
    if (Number.isNaN(size)) throw new ErrCorruptRecord('snapshot', null, path, 'bad file size');
    const metadata = decodeOr('snapshot', null, path, () =>
      decodeSnapshotMetadata(body.subarray(13)),
    );
    return { where: 'file', metadata, crc: v.getUint32(1), size };
  }
  throw new ErrCorruptRecord('snapshot', null, path, `unknown snapshot location ${where}`);
}

/** Metadata alone, as a raftpb Snapshot with empty data (no type of its own in the proto). */
export const encodeSnapshotMetadata = (metadata: SnapshotMetadata): Uint8Array =>
  encodeSnapshot({ data: EMPTY_BYTES, metadata });

export function decodeSnapshotMetadata(bytes: Uint8Array): SnapshotMetadata {
  return plainMetadata(decodeSnapshot(bytes).metadata);
}

function plainMetadata(m: SnapshotMetadata): SnapshotMetadata {
  const cs = m.confState;
  return {
    index: m.index,
    term: m.term,
    confState: newConfState({
      voters: [...cs.voters],
      learners: [...cs.learners],
      votersOutgoing: [...cs.votersOutgoing],
      learnersNext: [...cs.learnersNext],
      autoLeave: cs.autoLeave,
    }),
  };
}
