// What RaftNode adds around the application's bytes, so that requests can be matched to log
// entries whoever appended them, and membership travels with the log and with snapshots.
//
// Normal entry:   [0xA1][proposer id u64][session 8 bytes][seq u32][application data]
// Read context:   [session 8 bytes][seq u32]   (unique across the cluster: the session is random)
// Conf context:   JSON {"addr"?, "addrs"?, "proposer"?, "session"?, "seq"?}
// Snapshot data:  ["TSRN"][version u8][meta JSON {"members", "removed"?, "smIndex"?}]
//                 (the state machine's data is in snapshot files or in the state machine)
import { randomBytes } from 'node:crypto';
import { ErrCodec } from '@tsraft/raft-core';

const ENTRY_TAG = 0xa1;
export const ENTRY_HEADER = 21;

/** A process-lifetime random id, so request ids never collide with an earlier incarnation's. */
export class Session {
  readonly bytes: Uint8Array = randomBytes(8);
  readonly hex = Buffer.from(this.bytes).toString('hex');
  private readonly hi: number;
  private readonly lo: number;

  constructor() {
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset, 8);
    this.hi = v.getUint32(0);
    this.lo = v.getUint32(4);
  }

  /** Whether the 8 bytes at `off` of `v` are this session. */
  matches(v: DataView, off: number): boolean {
    return v.getUint32(off) === this.hi && v.getUint32(off + 4) === this.lo;
  }
}

export function encodeEntryData(
  proposer: number,
  session: Session,
  seq: number,
  data: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(ENTRY_HEADER + data.length);
  const v = new DataView(out.buffer);
  out[0] = ENTRY_TAG;
  writeU64(v, 1, proposer);
  out.set(session.bytes, 9);
  v.setUint32(17, seq >>> 0);
  out.set(data, ENTRY_HEADER);
  return out;
}

/** The parts of a normal entry's data; null for entries RaftNode did not propose (no-ops). */
export interface EntryEnvelope {
  proposer: number;
  /** The request sequence number; only meaningful together with the session. */
  seq: number;
  view: DataView;
  payload: Uint8Array;
}

export function decodeEntryData(data: Uint8Array): EntryEnvelope | null {
  if (data.length < ENTRY_HEADER || data[0] !== ENTRY_TAG) return null;
  const view = new DataView(data.buffer, data.byteOffset, ENTRY_HEADER);
  return {
    proposer: readU64(view, 1),
    seq: view.getUint32(17),
    view,
    payload: data.subarray(ENTRY_HEADER),
  };
}

/** The sequence number of one of our own session's entries, or -1 (the hot-path check). */
export function ownSeq(data: Uint8Array, session: Session): number {
  if (data.length < ENTRY_HEADER || data[0] !== ENTRY_TAG) return -1;
  const v = new DataView(data.buffer, data.byteOffset, ENTRY_HEADER);
  return session.matches(v, 9) ? v.getUint32(17) : -1;
}

export function encodeReadContext(session: Session, seq: number): Uint8Array {
  const out = new Uint8Array(12);
  out.set(session.bytes, 0);
  new DataView(out.buffer).setUint32(8, seq >>> 0);
  return out;
}

/** The sequence number of one of our own read contexts, or -1. */
export function readContextSeq(ctx: Uint8Array, session: Session): number {
  if (ctx.length !== 12) return -1;
  const v = new DataView(ctx.buffer, ctx.byteOffset, 12);
  return session.matches(v, 0) ? v.getUint32(8) : -1;
}

/** The context RaftNode puts in conf changes: addresses, and who asked (to answer them). */
export interface ConfContext {
  /** The raft address of the node a single change adds or updates. */
  addr?: string;
  /** Addresses by node id, for ConfChangeV2 with several changes. */
  addrs?: Record<string, string>;
  proposer?: number;
  session?: string;
  seq?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeConfContext(c: ConfContext): Uint8Array {
  return enc.encode(JSON.stringify(c));
}

/** Conf contexts written by someone else (or empty) decode as {}. */
export function decodeConfContext(b: Uint8Array): ConfContext {
  if (b.length === 0 || b[0] !== 0x7b /* { */) return {};
  try {
    const v = JSON.parse(dec.decode(b)) as unknown;
    return v !== null && typeof v === 'object' ? (v as ConfContext) : {};
  } catch {
    return {};
  }
}

const SNAP_MAGIC = [0x54, 0x53, 0x52, 0x4e]; // "TSRN"
// 2: the state machine's data is no longer inline but in a snapshot file (snapshot-files.ts)
// or, for an on-disk state machine, in the state machine itself.
const SNAP_VERSION = 2;

/** What RaftNode keeps in raft's snapshot: the address book, not the state machine's data. */
export interface SnapshotMeta {
  /** Raft addresses of the members, by id. */
  members: Record<string, string>;
  /** Ids removed from the cluster (and not added again). */
  removed?: number[];
  /**
   * An on-disk state machine's applied index when the snapshot was taken: the last normal
   * entry it covers (raft's index may be higher by no-ops and conf changes). A state machine
   * at or beyond it holds everything the snapshot does.
   */
  smIndex?: number;
}

export function encodeSnapshotData(meta: SnapshotMeta): Uint8Array {
  const m = enc.encode(JSON.stringify(meta));
  const out = new Uint8Array(5 + m.length);
  out.set(SNAP_MAGIC, 0);
  out[4] = SNAP_VERSION;
  out.set(m, 5);
  return out;
}

export function decodeSnapshotData(b: Uint8Array): SnapshotMeta {
  if (b.length < 5 || SNAP_MAGIC.some((x, i) => b[i] !== x)) {
    throw new ErrCodec('snapshot data was not written by raft-node (bad magic)');
  }
  if (b[4] !== SNAP_VERSION) throw new ErrCodec(`unknown raft-node snapshot version ${b[4]}`);
  let meta: SnapshotMeta;
  try {
    meta = JSON.parse(dec.decode(b.subarray(5))) as SnapshotMeta;
  } catch (err) {
    throw new ErrCodec(`bad raft-node snapshot metadata: ${(err as Error).message}`);
  }
  if (meta === null || typeof meta.members !== 'object' || meta.members === null) {
    throw new ErrCodec('raft-node snapshot metadata without members');
  }
  return meta;
}

function writeU64(v: DataView, off: number, n: number): void {
  v.setUint32(off, Math.floor(n / 0x1_0000_0000));
  v.setUint32(off + 4, n >>> 0);
}

function readU64(v: DataView, off: number): number {
  return v.getUint32(off) * 0x1_0000_0000 + v.getUint32(off + 4);
}
