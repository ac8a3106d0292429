// Snapshot streaming. A MsgSnap travels as one SnapBegin frame (the message with snapshot.data
// emptied, plus the data's total length) and then SnapChunk frames of at most chunkSize bytes,
// one per socket write, so ordinary traffic keeps flowing between chunks. The receiver
// reassembles, delivers the whole MsgSnap, and answers SnapAck; the sender turns the ack (or
// the loss of the connection before it) into onSnapshotStatus.
import {
  EMPTY_BYTES,
  ErrCodec,
  type Message,
  MessageType,
  decodeMessageAt,
  encodeMessage,
} from '@tsraft/raft-core';
import { TransportError, TransportErrorCode } from './errors.js';
import { type FrameBatch, FrameKind } from './framing.js';
import { readU64, writeU64 } from './handshake.js';

/** How a snapshot send ended. Maps to raft-core's SnapshotStatus.Finish / .Failure. */
export type SnapshotStatus = 'finish' | 'failure';

export const SnapAckStatus = { Delivered: 0, Failed: 1 } as const;

const BEGIN_HEAD = 12;
const CHUNK_HEAD = 4;

export class OutgoingSnapshot {
  private readonly data: Uint8Array;
  private readonly header: Uint8Array;
  private offset = 0;
  private begun = false;

  constructor(
    readonly streamId: number,
    readonly message: Message,
    private readonly chunkSize: number,
  ) {
    const snap = message.snapshot!;
    this.data = snap.data;
    // The header is the message itself with the data left out; encoded once, up front, so an
    // unencodable message fails at send() time.
    this.header = encodeMessage({ ...message, snapshot: { ...snap, data: EMPTY_BYTES } });
  }

  get headerBytes(): number {
    return this.header.length;
  }

  /** Every frame has been handed to the socket; what remains is waiting for the ack. */
  get allSent(): boolean {
    return this.begun && this.offset >= this.data.length;
  }

  /** Adds the next frame (the begin frame, then one chunk per call) to `batch`. */
  addNextFrame(batch: FrameBatch): void {
    if (!this.begun) {
      const head = Buffer.allocUnsafe(BEGIN_HEAD);
      head.writeUInt32BE(this.streamId, 0);
      writeU64(head, this.data.length, 4);
      batch.add(FrameKind.SnapBegin, head, this.header);
      this.begun = true;
      return;
    }
    if (this.offset >= this.data.length) return;
    const end = Math.min(this.data.length, this.offset + this.chunkSize);
    const head = Buffer.allocUnsafe(CHUNK_HEAD);
    head.writeUInt32BE(this.streamId, 0);
    batch.add(FrameKind.SnapChunk, head, this.data.subarray(this.offset, end));
    this.offset = end;
  }
}

export class IncomingSnapshot {
  private readonly parts: Buffer[] = [];
  private received = 0;

  private constructor(
    readonly streamId: number,
    readonly total: number,
    readonly message: Message,
  ) {}

  /** Parses a SnapBegin body. Throws TransportError on a bad frame or an oversized snapshot. */
  static begin(body: Buffer, maxSnapshotSize: number): IncomingSnapshot {
    if (body.length < BEGIN_HEAD) {
      throw new TransportError(TransportErrorCode.BadFrame, 'short snapshot begin frame');
    }
    const streamId = body.readUInt32BE(0);
    const total = readU64(body, 4);
    if (total < 0 || total > maxSnapshotSize) {
      throw new TransportError(
        TransportErrorCode.SnapshotTooLarge,
        `snapshot of ${total < 0 ? 'over 2^53' : total} bytes exceeds maxSnapshotSize ${maxSnapshotSize}`,
      );
    }
    const message = decodeFrameMessage(body.subarray(BEGIN_HEAD));
    if (message.type !== MessageType.MsgSnap || message.snapshot === null) {
      throw new TransportError(TransportErrorCode.BadFrame, 'snapshot stream without a MsgSnap');
    }
    return new IncomingSnapshot(streamId, total, message);
  }

  get complete(): boolean {
    return this.received === this.total;
  }

  /** Adds a SnapChunk body. Throws TransportError when it does not belong or overflows. */
  addChunk(body: Buffer): void {
    if (body.length < CHUNK_HEAD || body.readUInt32BE(0) !== this.streamId) {
      throw new TransportError(TransportErrorCode.BadFrame, 'snapshot chunk for another stream');
    }
    const data = body.subarray(CHUNK_HEAD);
    if (this.received + data.length > this.total) {
      throw new TransportError(
        TransportErrorCode.BadFrame,
        'snapshot chunks exceed announced size',
      );
    }
    this.parts.push(data);
    this.received += data.length;
  }

  /** The reassembled MsgSnap (call once complete). */
  finish(): Message {
    const snap = this.message.snapshot!;
    snap.data = plain(
      this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.total),
    );
    this.parts.length = 0;
    return this.message;
  }
}

/** decodeMessage of `body[start, end)` with its ErrCodec turned into this package's error. */
export function decodeFrameMessage(body: Uint8Array, start = 0, end = body.length): Message {
  try {
    // Decoded byte fields are plain Uint8Array views (not Buffers), as raft-core's types say;
    // they still share the socket's memory (no copy).
    return decodeMessageAt(body, start, end);
  } catch (err) {
    if (err instanceof ErrCodec) {
      throw new TransportError(TransportErrorCode.Codec, err.message, { cause: err });
    }
    throw new TransportError(TransportErrorCode.Codec, String(err), { cause: err });
  }
}

export function encodeSnapAck(streamId: number, status: number): Buffer {
  const b = Buffer.allocUnsafe(5);
  b.writeUInt32BE(streamId, 0);
  b[4] = status;
  return b;
}

export function decodeSnapAck(body: Buffer): { streamId: number; status: number } {
  if (body.length !== 5) throw new TransportError(TransportErrorCode.BadFrame, 'bad snapshot ack');
  return { streamId: body.readUInt32BE(0), status: body[4]! };
}

function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}
