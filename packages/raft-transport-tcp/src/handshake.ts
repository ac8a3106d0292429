// The handshake record: the first bytes each side sends on a new connection (see README,
// "Wire format"). The dialer sends HELLO; the acceptor answers ACCEPT or REJECT (with a reason)
// and closes on REJECT. Only after ACCEPT do frames flow, in both directions.
//
//   offset size
//   0      4    magic "TSRF"
//   4      2    protocol version, u16 BE
//   6      1    kind: 1 HELLO, 2 ACCEPT, 3 REJECT
//   7      1    reject reason (REJECT only, else 0; see RejectReason, an unknown one reads as
//               BAD_HANDSHAKE, so reasons can be added within a version)
//   8      8    sender node id, u64 BE
//   16     8    receiver node id (who the sender believes it talks to), u64 BE
//   24     1    cluster id length n (0..255)
//   25     n    cluster id, UTF-8
//
// The first 8 bytes keep this layout in every future version, so a mismatch is always
// readable and reported as such.
import type { NodeId } from '@tsraft/raft-core';
import { TransportError, TransportErrorCode } from './errors.js';

// 2: snapshot chunks carry a CRC-32 and streams end with a SnapEnd frame.
// 3: frames carry a raft group id (GroupMessage, GroupSnapBegin): many groups share a connection.
export const PROTOCOL_VERSION = 3;
export const MAGIC = Buffer.from('TSRF', 'latin1');
export const HANDSHAKE_FIXED = 25;
export const MAX_CLUSTER_ID_BYTES = 255;

export const HandshakeKind = { Hello: 1, Accept: 2, Reject: 3 } as const;
export type HandshakeKind = (typeof HandshakeKind)[keyof typeof HandshakeKind];

export interface HandshakeRecord {
  version: number;
  kind: HandshakeKind;
  reason: number;
  from: NodeId;
  to: NodeId;
  clusterId: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const TWO_32 = 2 ** 32;
/** Largest high word of a u64 that is still a safe integer. */
const MAX_SAFE_HI = 0x1fffff;

export function writeU64(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_32), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

/** Reads a u64 BE, or returns -1 when it is not a safe integer. */
export function readU64(buf: Buffer, offset: number): number {
  const hi = buf.readUInt32BE(offset);
  if (hi > MAX_SAFE_HI) return -1;
  return hi * TWO_32 + buf.readUInt32BE(offset + 4);
}

export function encodeHandshake(rec: Omit<HandshakeRecord, 'version'>, version = PROTOCOL_VERSION) {
  const cid = Buffer.from(rec.clusterId, 'utf8');
  if (cid.length > MAX_CLUSTER_ID_BYTES) {
    throw new TransportError(TransportErrorCode.InvalidConfig, 'cluster id longer than 255 bytes');
  }
  const buf = Buffer.alloc(HANDSHAKE_FIXED + cid.length);
  MAGIC.copy(buf, 0);
  buf.writeUInt16BE(version, 4);
  buf[6] = rec.kind;
  buf[7] = rec.reason;
  writeU64(buf, rec.from, 8);
  writeU64(buf, rec.to, 16);
  buf[24] = cid.length;
  cid.copy(buf, HANDSHAKE_FIXED);
  return buf;
}

/**
 * Accumulates the bytes of one handshake record. `push` returns the record and whatever bytes
 * followed it (the start of the frame stream), or null while more bytes are needed. Garbage is
 * refused as soon as the first bytes differ from the magic, without waiting for 25 bytes.
 */
export class HandshakeReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { record: HandshakeRecord; rest: Buffer } | null {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const b = this.buf;
    const magicLen = Math.min(b.length, MAGIC.length);
    if (b.compare(MAGIC, 0, magicLen, 0, magicLen) !== 0) {
      throw new TransportError(TransportErrorCode.BadMagic, 'not a tsraft handshake');
    }
    if (b.length < HANDSHAKE_FIXED) return null;
    const n = b[24]!;
    if (b.length < HANDSHAKE_FIXED + n) return null;
    const kind = b[6]!;
    if (
      kind !== HandshakeKind.Hello &&
      kind !== HandshakeKind.Accept &&
      kind !== HandshakeKind.Reject
    ) {
      throw new TransportError(TransportErrorCode.BadHandshake, `unknown handshake kind ${kind}`);
    }
    const from = readU64(b, 8);
    const to = readU64(b, 16);
    if (from < 0 || to < 0) {
      throw new TransportError(TransportErrorCode.BadHandshake, 'node id above MAX_SAFE_INTEGER');
    }
    const cidBytes = b.subarray(HANDSHAKE_FIXED, HANDSHAKE_FIXED + n);
    let clusterId: string;
    try {
      clusterId = utf8.decode(cidBytes);
    } catch {
      throw new TransportError(TransportErrorCode.BadHandshake, 'cluster id is not UTF-8');
    }
    const record: HandshakeRecord = {
      version: b.readUInt16BE(4),
      kind,
      reason: b[7]!,
      from,
      to,
      clusterId,
    };
    const rest = b.subarray(HANDSHAKE_FIXED + n);
    this.buf = Buffer.alloc(0);
    return { record, rest };
  }
}
