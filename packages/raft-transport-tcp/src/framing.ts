// Frames after the handshake: [u32 BE length L][u8 kind][L-1 bytes body], 1 <= L <= maxFrameSize.
// FrameDecoder cuts a byte stream into frames without copying when a frame lies inside one
// socket chunk (the usual case for small messages); FrameBatch turns many frames into as few
// buffers as possible for one socket write.
import { TransportError, TransportErrorCode } from './errors.js';

export const FrameKind = {
  /** body: one raftpb.Message (protobuf). */
  Message: 1,
  /** body: u32 stream id, raftpb.Message (MsgSnap; snapshot.data empty when it is streamed). */
  SnapBegin: 2,
  /** body: u32 stream id, u32 CRC-32 of the data, then the next bytes of the snapshot. */
  SnapChunk: 3,
  /** body: u32 stream id, u8 status (0 delivered, 1 failed). Receiver -> sender. */
  SnapAck: 4,
  /** body: empty. Probes a connection that may be stale; answered with Pong. */
  Ping: 5,
  /** body: u32 bytes of data frames consumed since the last Window frame (flow control). */
  Window: 6,
  /** body: empty. The answer to a Ping. */
  Pong: 7,
  /** body: u32 stream id, u8 status (0 complete, 1 aborted), u64 bytes, u32 chunks. */
  SnapEnd: 8,
  /** body: u64 group id, one raftpb.Message of that group (Message is group 0's). Since v3. */
  GroupMessage: 9,
  /** body: u32 stream id, u64 group id, raftpb.Message (SnapBegin is group 0's). Since v3. */
  GroupSnapBegin: 10,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export const FRAME_HEADER = 5;
const MAX_KIND = FrameKind.GroupSnapBegin;

export type FrameSink = (kind: FrameKind, body: Buffer) => void;
/** Takes a Message frame lying whole in one chunk as `buf[start, end)`: no view is made. */
export type MessageRangeSink = (buf: Buffer, start: number, end: number) => void;

export class FrameDecoder {
  private readonly header = Buffer.alloc(FRAME_HEADER);
  private headerFill = 0;
  /** The frame being assembled across chunks (length and kind known), or null. */
  private frame: Buffer | null = null;
  private frameKind: FrameKind = FrameKind.Message;
  private frameFill = 0;
  private halted = false;

  constructor(private readonly maxFrameSize: number) {}

  /** Stop delivering frames (the connection closed inside the sink). */
  halt(): void {
    this.halted = true;
  }

  /** Bytes of an unfinished frame: non-zero at end of stream means a truncated frame. */
  get pending(): number {
    return this.headerFill + this.frameFill;
  }

  /**
   * Feeds one chunk; calls `sink` per complete frame, or `onMessage` (when given) for a Message
   * frame inside the chunk. Throws TransportError on bad input.
   */
  push(chunk: Buffer, sink: FrameSink, onMessage?: MessageRangeSink): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end && !this.halted) {
      if (this.frame !== null) {
        const n = Math.min(this.frame.length - this.frameFill, end - pos);
        chunk.copy(this.frame, this.frameFill, pos, pos + n);
        this.frameFill += n;
        pos += n;
        if (this.frameFill === this.frame.length) {
          const body = this.frame;
          this.frame = null;
          this.frameFill = 0;
          sink(this.frameKind, body);
        }
        continue;
      }
      let len: number;
      let kind: number;
      if (this.headerFill === 0 && end - pos >= FRAME_HEADER) {
        len = chunk.readUInt32BE(pos);
        kind = chunk[pos + 4]!;
        pos += FRAME_HEADER;
      } else {
        const n = Math.min(FRAME_HEADER - this.headerFill, end - pos);
        chunk.copy(this.header, this.headerFill, pos, pos + n);
        this.headerFill += n;
        pos += n;
        // Check the length as soon as it is known, before the kind byte arrives.
        if (this.headerFill >= 4) this.checkLength(this.header.readUInt32BE(0));
        if (this.headerFill < FRAME_HEADER) return;
        this.headerFill = 0;
        len = this.header.readUInt32BE(0);
        kind = this.header[4]!;
      }
      this.checkLength(len);
      if (kind < 1 || kind > MAX_KIND) {
        throw new TransportError(TransportErrorCode.BadFrame, `unknown frame kind ${kind}`);
      }
      const bodyLen = len - 1;
      if (end - pos >= bodyLen) {
        const start = pos;
        pos += bodyLen;
        if (kind === FrameKind.Message && onMessage !== undefined) onMessage(chunk, start, pos);
        else sink(kind as FrameKind, chunk.subarray(start, pos));
      } else {
        this.frame = Buffer.allocUnsafe(bodyLen);
        this.frameKind = kind as FrameKind;
        this.frameFill = 0;
      }
    }
  }

  private checkLength(len: number): void {
    if (len === 0 || len > this.maxFrameSize) {
      throw new TransportError(
        TransportErrorCode.FrameTooLarge,
        `frame length ${len} outside 1..${this.maxFrameSize}`,
      );
    }
  }
}

/**
 * Bodies at least this long are handed to the socket as they are (one more iovec in the
 * writev) instead of being copied into the run: above ~2 KiB the copy costs more than the
 * iovec (16 KiB appends went ~1.5x faster on loopback than with a 64 KiB limit).
 */
const COPY_LIMIT = 2048;

/** `kinds` entry of bytes that are already whole frames (headers included). */
const FRAMED = 0;

/**
 * The frames of one socket write. Small frames are copied into one contiguous buffer; a large
 * body keeps its own buffer (its header still joins the contiguous run), and bytes already
 * framed (the send queue's slabs) go as they are, so the socket sees a handful of buffers (one
 * writev) however many messages there are.
 */
export class FrameBatch {
  private kinds: number[] = [];
  private heads: (Uint8Array | null)[] = [];
  private bodies: Uint8Array[] = [];
  private frames = 0;
  /** Wire bytes of the batch, headers included. */
  bytes = 0;

  /** Frames in the batch. */
  get count(): number {
    return this.frames;
  }

  add(kind: FrameKind, head: Uint8Array | null, body: Uint8Array): void {
    this.kinds.push(kind);
    this.heads.push(head);
    this.bodies.push(body);
    this.frames++;
    this.bytes += FRAME_HEADER + (head === null ? 0 : head.length) + body.length;
  }

  /** Adds `count` whole frames, headers included, written as they are (no copy). */
  addFrames(framed: Buffer, count: number): void {
    this.kinds.push(FRAMED);
    this.heads.push(null);
    this.bodies.push(framed);
    this.frames += count;
    this.bytes += framed.length;
  }

  /** The buffers to write, in order; resets the batch. */
  take(): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    const n = this.kinds.length;
    while (i < n) {
      if (this.kinds[i] === FRAMED) {
        out.push(this.bodies[i] as Buffer);
        i++;
        continue;
      }
      // One contiguous run: headers and small bodies up to (and including) the next large
      // body's header, or up to already-framed bytes.
      let runBytes = 0;
      let j = i;
      let large = false;
      for (; j < n && this.kinds[j] !== FRAMED; j++) {
        const head = this.heads[j];
        runBytes += FRAME_HEADER + (head === null ? 0 : head.length);
        const bl = this.bodies[j]!.length;
        if (bl >= COPY_LIMIT) {
          large = true;
          break;
        }
        runBytes += bl;
      }
      const last = large ? j : j - 1;
      const run = Buffer.allocUnsafe(runBytes);
      let off = 0;
      for (let k = i; k <= last; k++) {
        const head = this.heads[k] ?? null;
        const body = this.bodies[k]!;
        const hl = head === null ? 0 : head.length;
        run.writeUInt32BE(1 + hl + body.length, off);
        run[off + 4] = this.kinds[k]!;
        off += FRAME_HEADER;
        if (head !== null) {
          run.set(head, off);
          off += hl;
        }
        if (k === last && large) break;
        run.set(body, off);
        off += body.length;
      }
      out.push(run);
      if (large) out.push(toBuffer(this.bodies[last]!));
      i = last + 1;
    }
    this.kinds.length = 0;
    this.heads.length = 0;
    this.bodies.length = 0;
    this.frames = 0;
    this.bytes = 0;
    return out;
  }
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
}
