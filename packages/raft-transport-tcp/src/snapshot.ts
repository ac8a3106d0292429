// Snapshot streaming. A MsgSnap travels as one SnapBegin frame (the message), SnapChunk frames
// of at most chunkSize bytes each carrying a CRC-32 of its data, and one SnapEnd frame (byte
// and chunk counts, or "aborted"). Neither side holds the snapshot whole: the sender pulls the
// next chunk from a SnapshotSource only once the previous one is framed, and the receiver
// writes each chunk to a SnapshotSink and credits it back (flow control) only once written.
// The receiver then delivers the message its sink returns and answers SnapAck; the sender
// turns the ack (or the loss of the connection before it) into onSnapshotStatus.
//
// Without `snapshots` hooks in the options, the data is `snapshot.data` itself: streamed from
// the message and reassembled into it on the other side.
import { crc32 } from 'node:zlib';
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
import { GROUP_ID_BYTES } from './queue.js';

/** A group id read at `at`; a group frame naming group 0 or above 2^53 - 1 is malformed. */
export function readGroupId(body: Buffer, at: number): number {
  const g = readU64(body, at);
  if (g <= 0) throw new TransportError(TransportErrorCode.BadFrame, 'bad group id');
  return g;
}

/** How a snapshot send ended. Maps to raft-core's SnapshotStatus.Finish / .Failure. */
export type SnapshotStatus = 'finish' | 'failure';

/** Bytes that follow a MsgSnap, read once; `close()` releases them (also after a failure). */
export type SnapshotSource = AsyncIterable<Uint8Array> & { close?(): void };

/** Where an incoming stream goes. Chunks arrive in order, checked; then finish or abort. */
export interface SnapshotSink {
  write(chunk: Uint8Array): void | Promise<void>;
  /** The stream is complete: resolves with the message to deliver to onMessage. */
  finish(): Message | Promise<Message>;
  /** The stream failed (connection lost, bad chunk, refused): discard what was written. */
  abort(reason: Error): void;
}

/**
 * Lets the application stream snapshot data from and to disk instead of `snapshot.data`.
 * `group` is the raft group the MsgSnap belongs to (0 unless sent with one, see send()).
 */
export interface SnapshotStreams {
  /** The data to stream after the MsgSnap, which travels as it is (its data included). */
  open(m: Message, group: number): SnapshotSource | Promise<SnapshotSource>;
  /** A sink for the data that follows `m`. Throwing refuses the snapshot. */
  receive(m: Message, group: number): SnapshotSink;
}

export const SnapAckStatus = { Delivered: 0, Failed: 1 } as const;
const EndStatus = { Complete: 0, Aborted: 1 } as const;

const ID_HEAD = 4;
/** Bytes read from a snapshot source ahead of the socket (see OutgoingSnapshot.chunks). */
export const PREFETCH_BYTES = 1 << 20;
const CHUNK_HEAD = 8;
const END_BODY = 17;

/** The default: the data is the message's own snapshot.data. */
export const inlineSnapshots: SnapshotStreams = {
  open(m) {
    const data = m.snapshot!.data;
    return {
      async *[Symbol.asyncIterator]() {
        if (data.length > 0) yield data;
      },
    };
  },
  receive(m) {
    const parts: Uint8Array[] = [];
    return {
      write: (c) => void parts.push(c),
      finish: () => {
        // A plain Uint8Array view, as raft-core's types say (not a Buffer).
        const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        m.snapshot!.data = new Uint8Array(all.buffer, all.byteOffset, all.length);
        return m;
      },
      abort: () => {
        parts.length = 0;
      },
    };
  },
};

export class OutgoingSnapshot {
  private readonly header: Uint8Array;
  private source: AsyncIterator<Uint8Array> | null = null;
  private closeSource: (() => void) | undefined;
  /**
   * Chunks pulled from the source ahead of the socket (the first framed up to `offset`), at
   * most PREFETCH_BYTES: a flush can then fill its batch with several frames instead of one
   * per turn of the event loop, and the next read of the source overlaps the socket writes.
   */
  private readonly chunks: Uint8Array[] = [];
  private queuedBytes = 0;
  private offset = 0;
  private pulling = false;
  private ended = false;
  private failed = false;
  private begun = false;
  private finished = false;
  private bytes = 0;
  private frames = 0;

  constructor(
    readonly streamId: number,
    readonly message: Message,
    private readonly chunkSize: number,
    private readonly streams: SnapshotStreams,
    inline: boolean,
    /** A pulled chunk is ready (or the source ended or failed): flush again. */
    private readonly onReady: () => void,
    /** The raft group of the message (0: sent as a plain SnapBegin). */
    readonly group = 0,
  ) {
    const snap = message.snapshot!;
    // Encoded once, up front, so an unencodable message fails at send() time. Inline data is
    // streamed, so the header leaves it out.
    this.header = encodeMessage(
      inline ? { ...message, snapshot: { ...snap, data: EMPTY_BYTES } } : message,
    );
  }

  get headerBytes(): number {
    return this.header.length;
  }

  /** Every frame has been handed to the socket; what remains is waiting for the ack. */
  get allSent(): boolean {
    return this.finished;
  }

  /** Whether addNextFrame would add a frame now (false while the source is being read). */
  get ready(): boolean {
    if (this.finished) return false;
    return !this.begun || this.chunks.length > 0 || this.ended || this.failed;
  }

  /** Adds the next frame (begin, a chunk, or end) to `batch` if one is ready. */
  addNextFrame(batch: FrameBatch): void {
    if (!this.begun) {
      const grouped = this.group !== 0;
      const head = Buffer.allocUnsafe(ID_HEAD + (grouped ? GROUP_ID_BYTES : 0));
      head.writeUInt32BE(this.streamId, 0);
      if (grouped) writeU64(head, this.group, ID_HEAD);
      batch.add(grouped ? FrameKind.GroupSnapBegin : FrameKind.SnapBegin, head, this.header);
      this.begun = true;
      this.pull();
      return;
    }
    if (this.finished) return;
    const c = this.chunks[0];
    if (c !== undefined) {
      const end = Math.min(c.length, this.offset + this.chunkSize);
      const data = c.subarray(this.offset, end);
      const head = Buffer.allocUnsafe(CHUNK_HEAD);
      head.writeUInt32BE(this.streamId, 0);
      head.writeUInt32BE(crc32(data), 4);
      batch.add(FrameKind.SnapChunk, head, data);
      this.bytes += data.length;
      this.frames++;
      this.queuedBytes -= end - this.offset;
      this.offset = end;
      if (end >= c.length) {
        this.chunks.shift();
        this.offset = 0;
        this.pull();
      }
      return;
    }
    if (this.ended || this.failed) {
      batch.add(
        FrameKind.SnapEnd,
        null,
        encodeEnd(this.streamId, this.failed, this.bytes, this.frames),
      );
      this.finished = true;
      this.close();
    }
  }

  /** Releases the source (after the end frame, or when the stream is abandoned). */
  close(): void {
    const close = this.closeSource;
    this.closeSource = undefined;
    this.source = null;
    this.chunks.length = 0;
    this.queuedBytes = 0;
    try {
      close?.();
    } catch {
      // Releasing is best effort.
    }
  }

  private pull(): void {
    if (this.pulling || this.ended || this.failed || this.queuedBytes >= PREFETCH_BYTES) return;
    this.pulling = true;
    void this.next().then(
      (c) => {
        this.pulling = false;
        if (c === null) this.ended = true;
        else {
          this.chunks.push(c);
          this.queuedBytes += c.length;
          this.pull();
        }
        this.onReady();
      },
      () => {
        this.pulling = false;
        this.failed = true;
        this.onReady();
      },
    );
  }

  /** The next non-empty chunk, or null at the end. */
  private async next(): Promise<Uint8Array | null> {
    if (this.source === null) {
      const src = await this.streams.open(this.message, this.group);
      this.closeSource = src.close?.bind(src);
      this.source = src[Symbol.asyncIterator]();
    }
    for (;;) {
      const src = this.source;
      if (src === null) return null; // closed meanwhile
      const r = await src.next();
      if (r.done === true) return null;
      if (r.value.length > 0) return r.value;
    }
  }
}

export class IncomingSnapshot {
  private bytes = 0;
  private chunks = 0;
  private writes: Promise<void> = Promise.resolve();
  private error: Error | null = null;

  private constructor(
    readonly streamId: number,
    readonly message: Message,
    private readonly sink: SnapshotSink,
    private readonly maxBytes: number,
    readonly group: number,
  ) {}

  /**
   * Parses a SnapBegin body (group 0), or with `grouped` a GroupSnapBegin body. Throws
   * TransportError on a bad frame.
   */
  static parseBegin(
    body: Buffer,
    grouped = false,
  ): { streamId: number; group: number; message: Message } {
    const head = ID_HEAD + (grouped ? GROUP_ID_BYTES : 0);
    if (body.length < head) {
      throw new TransportError(TransportErrorCode.BadFrame, 'short snapshot begin frame');
    }
    const group = grouped ? readGroupId(body, ID_HEAD) : 0;
    const message = decodeFrameMessage(body, head);
    if (message.type !== MessageType.MsgSnap || message.snapshot === null) {
      throw new TransportError(TransportErrorCode.BadFrame, 'snapshot stream without a MsgSnap');
    }
    return { streamId: body.readUInt32BE(0), group, message };
  }

  static open(
    streamId: number,
    message: Message,
    sink: SnapshotSink,
    maxBytes: number,
    group = 0,
  ): IncomingSnapshot {
    return new IncomingSnapshot(streamId, message, sink, maxBytes, group);
  }

  /** The stream failed on our side (a bad chunk, a failed write): it will be refused. */
  get refused(): boolean {
    return this.error !== null;
  }

  /**
   * Adds a SnapChunk body; `written` runs once the sink took it (or it was discarded). Throws
   * TransportError when the frame does not belong or the snapshot outgrows maxBytes; a chunk
   * whose checksum fails refuses the stream (the sender retries later), it does not throw.
   */
  addChunk(body: Buffer, written: () => void): void {
    if (body.length < CHUNK_HEAD || body.readUInt32BE(0) !== this.streamId) {
      throw new TransportError(TransportErrorCode.BadFrame, 'snapshot chunk for another stream');
    }
    const data = body.subarray(CHUNK_HEAD);
    this.bytes += data.length;
    this.chunks++;
    if (this.bytes > this.maxBytes) {
      throw new TransportError(
        TransportErrorCode.SnapshotTooLarge,
        `snapshot exceeds maxSnapshotSize ${this.maxBytes}`,
      );
    }
    if (this.error === null && crc32(data) !== body.readUInt32BE(4)) {
      this.refuse(
        new TransportError(
          TransportErrorCode.BadFrame,
          `snapshot chunk ${this.chunks} fails its checksum`,
        ),
      );
    }
    if (this.error !== null) {
      written();
      return;
    }
    // The socket's buffer is reused: the sink gets its own copy.
    const copy = new Uint8Array(data);
    this.writes = this.writes
      .then(() => (this.error === null ? this.sink.write(copy) : undefined))
      .catch((err: unknown) => this.refuse(asError(err)))
      .finally(written);
  }

  /**
   * Handles the SnapEnd body: resolves with the message to deliver, or null when the stream
   * was aborted by the sender, damaged, short, or refused by the sink.
   */
  async end(body: Buffer): Promise<Message | null> {
    const e = decodeEnd(body);
    if (e.streamId !== this.streamId) {
      throw new TransportError(TransportErrorCode.BadFrame, 'snapshot end for another stream');
    }
    if (e.aborted)
      this.refuse(new TransportError(TransportErrorCode.Truncated, 'sender aborted the snapshot'));
    else if (e.bytes !== this.bytes || e.chunks !== this.chunks) {
      this.refuse(
        new TransportError(
          TransportErrorCode.Truncated,
          `snapshot of ${e.bytes} bytes in ${e.chunks} chunks arrived as ${this.bytes} in ${this.chunks}`,
        ),
      );
    }
    await this.writes;
    if (this.error !== null) return null;
    try {
      return await this.sink.finish();
    } catch (err) {
      this.refuse(asError(err));
      return null;
    }
  }

  /** The connection closed mid-stream, or the stream is refused: the sink discards it. */
  abort(reason: Error): void {
    this.refuse(reason);
  }

  /** Why the stream was refused, if it was. */
  get reason(): Error | null {
    return this.error;
  }

  private refuse(err: Error): void {
    if (this.error !== null) return;
    this.error = err;
    try {
      this.sink.abort(err);
    } catch {
      // Discarding is best effort.
    }
  }
}

function encodeEnd(streamId: number, aborted: boolean, bytes: number, chunks: number): Buffer {
  const b = Buffer.allocUnsafe(END_BODY);
  b.writeUInt32BE(streamId, 0);
  b[4] = aborted ? EndStatus.Aborted : EndStatus.Complete;
  writeU64(b, bytes, 5);
  b.writeUInt32BE(chunks >>> 0, 13);
  return b;
}

function decodeEnd(body: Buffer): {
  streamId: number;
  aborted: boolean;
  bytes: number;
  chunks: number;
} {
  if (body.length !== END_BODY || body[4]! > EndStatus.Aborted) {
    throw new TransportError(TransportErrorCode.BadFrame, 'bad snapshot end frame');
  }
  return {
    streamId: body.readUInt32BE(0),
    aborted: body[4] === EndStatus.Aborted,
    bytes: readU64(body, 5),
    chunks: body.readUInt32BE(13),
  };
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

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
