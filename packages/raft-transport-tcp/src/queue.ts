// The per-peer send queue: encoded frames wait here until the connection can take them.
// Two lanes, each bounded in bytes and FIFO: a control lane (heartbeats, votes, responses —
// small and latency-critical) that every write drains first, and a bulk lane (appends,
// forwarded proposals) that a write takes only up to a byte budget (the batch limit and the
// flow-control window, see peer.ts). So a heartbeat waits behind at most one window of
// appends, never behind megabytes of them. Snapshots have their own stream
// (snapshot.ts). When a lane is full, the new message is dropped: Raft tolerates loss, and a
// bounded queue keeps a dead or slow peer from eating the process's memory.
import { type Message, MessageType, encodeMessageInto } from '@tsraft/raft-core';
import { FRAME_HEADER, type FrameBatch, FrameKind } from './framing.js';
import { writeU64 } from './handshake.js';

/** A group id on the wire: u64 BE. */
export const GROUP_ID_BYTES = 8;

export const Lane = { Control: 0, Bulk: 1 } as const;
export type Lane = (typeof Lane)[keyof typeof Lane];

/** Which lane a message type travels in. MsgSnap never gets here (it is streamed). */
export function laneOf(type: MessageType): Lane {
  switch (type) {
    case MessageType.MsgApp:
    case MessageType.MsgProp:
    case MessageType.MsgSnap:
      return Lane.Bulk;
    default:
      return Lane.Control;
  }
}

/** An array-backed FIFO whose shift is O(1) (amortised): no Array.prototype.shift copying. */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items.length = 0;
    this.head = 0;
  }
}

/**
 * A slab of frames written back to back. Append-only: a region handed to the socket is never
 * written again (the socket may still hold it), so a slab is dropped, not reused, once read.
 */
interface Slab {
  readonly buf: Buffer;
  /** Bytes written so far. */
  end: number;
}

/**
 * Slab sizes: hundreds of small frames per allocation, and a batch of appends (maxBatchBytes,
 * 256 KiB by default) is mostly one view. 256 KiB bulk slabs moved 16 KiB appends ~25% faster
 * than 64 KiB ones on loopback (fewer ArrayBuffers for the GC, less room wasted per slab).
 */
const CONTROL_SLAB_BYTES = 64 << 10;
const BULK_SLAB_BYTES = 256 << 10;

/**
 * One lane: frames (header included) encoded straight into slabs at push time, so a flush hands
 * the socket views of the slabs (no per-message buffer, no copy into a batch buffer), and the
 * FIFO holds only frame sizes (numbers, no per-message object).
 */
class LaneQueue {
  private readonly sizes = new Fifo<number>();
  private readonly slabs = new Fifo<Slab>();
  /** The slab being appended to (the FIFO's last), or null. */
  private tail: Slab | null = null;
  /** Read offset in the FIFO's first slab. */
  private readPos = 0;
  bytes = 0;
  constructor(
    readonly limit: number,
    private readonly slabBytes: number,
  ) {}

  get length(): number {
    return this.sizes.length;
  }

  /** Room for a frame of `size` bytes at the end of the last slab, or false if the lane is full. */
  reserve(size: number): Slab | null {
    if (this.bytes + size > this.limit) return null;
    let t = this.tail;
    if (t === null || t.buf.length - t.end < size) {
      t = { buf: Buffer.allocUnsafe(Math.max(this.slabBytes, size)), end: 0 };
      this.slabs.push(t);
      this.tail = t;
    }
    return t;
  }

  /** Records a frame of `size` bytes just written at the end of `slab`. */
  commit(slab: Slab, size: number): void {
    slab.end += size;
    this.sizes.push(size);
    this.bytes += size;
  }

  /**
   * Moves frames into `batch`, as views of the slabs, while they stay within `budget` bytes
   * (always at least one). Returns how many moved.
   */
  take(batch: FrameBatch, budget: number): number {
    let moved = 0;
    let taken = 0;
    while (true) {
      const slab = this.slabs.peek();
      if (slab === undefined) break;
      if (this.readPos === slab.end && slab !== this.tail) {
        this.slabs.shift();
        this.readPos = 0;
        continue;
      }
      // Frames of this slab that fit: one contiguous view.
      const start = this.readPos;
      let pos = start;
      let n = 0;
      for (let size = this.sizes.peek(); size !== undefined; size = this.sizes.peek()) {
        if (pos + size > slab.end) break; // in the next slab
        if (moved + n > 0 && taken + size > budget) break;
        this.sizes.shift();
        pos += size;
        taken += size;
        n++;
      }
      if (n === 0) break;
      batch.addFrames(slab.buf.subarray(start, pos), n);
      this.readPos = pos;
      this.bytes -= pos - start;
      moved += n;
      if (pos < slab.end) break; // out of budget
    }
    return moved;
  }

  clear(): void {
    this.sizes.clear();
    this.slabs.clear();
    this.tail = null;
    this.readPos = 0;
    this.bytes = 0;
  }
}

export class SendQueue {
  private readonly lanes: [LaneQueue, LaneQueue];

  constructor(maxControlBytes: number, maxBulkBytes: number) {
    this.lanes = [
      new LaneQueue(maxControlBytes, CONTROL_SLAB_BYTES),
      new LaneQueue(maxBulkBytes, BULK_SLAB_BYTES),
    ];
  }

  /** Queues an encoded message body; false (and nothing queued) when the lane has no room. */
  push(lane: Lane, body: Uint8Array): boolean {
    const q = this.lanes[lane];
    const size = body.length + FRAME_HEADER;
    const slab = q.reserve(size);
    if (slab === null) return false;
    writeHeader(slab.buf, slab.end, body.length);
    slab.buf.set(body, slab.end + FRAME_HEADER);
    q.commit(slab, size);
    return true;
  }

  /**
   * Queues `m` of raft group `group`, encoding it straight into the lane's slab; `bodySize`
   * is encodedMessageSize(m) (the caller has validated it). Group 0's messages go as Message
   * frames, others' as GroupMessage frames. False when the lane has no room.
   */
  pushMessage(lane: Lane, m: Message, bodySize: number, group = 0): boolean {
    const q = this.lanes[lane];
    const head = group === 0 ? 0 : GROUP_ID_BYTES;
    const size = bodySize + head + FRAME_HEADER;
    const slab = q.reserve(size);
    if (slab === null) return false;
    const at = slab.end;
    writeHeader(slab.buf, at, bodySize + head);
    if (head !== 0) {
      slab.buf[at + 4] = FrameKind.GroupMessage;
      writeU64(slab.buf, group, at + FRAME_HEADER);
    }
    encodeMessageInto(m, slab.buf, at + FRAME_HEADER + head);
    q.commit(slab, size);
    return true;
  }

  get bytes(): number {
    return this.lanes[0].bytes + this.lanes[1].bytes;
  }

  get length(): number {
    return this.lanes[0].length + this.lanes[1].length;
  }

  /** Moves the whole control lane into `batch`; returns how many messages moved. */
  fillControl(batch: FrameBatch): number {
    return this.lanes[Lane.Control].take(batch, Number.POSITIVE_INFINITY);
  }

  /**
   * Moves bulk messages into `batch` while it stays within `budget` more bytes (always at
   * least one, so an append larger than the budget still goes). Returns how many moved.
   */
  fillBulk(batch: FrameBatch, budget: number): number {
    return this.lanes[Lane.Bulk].take(batch, budget);
  }

  get bulkLength(): number {
    return this.lanes[Lane.Bulk].length;
  }

  /** Empties both lanes; returns how many messages were discarded. */
  clear(): number {
    const n = this.length;
    for (const q of this.lanes) q.clear();
    return n;
  }
}

function writeHeader(buf: Buffer, pos: number, bodySize: number): void {
  buf.writeUInt32BE(bodySize + 1, pos);
  buf[pos + 4] = FrameKind.Message;
}
