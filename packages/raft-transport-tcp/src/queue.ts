// The per-peer send queue: encoded messages wait here until the connection can take them.
// Two lanes, each bounded in bytes and FIFO: a control lane (heartbeats, votes, responses —
// small and latency-critical) that every write drains first, and a bulk lane (appends,
// forwarded proposals) that a write takes only up to a byte budget (the batch limit and the
// flow-control window, see peer.ts). So a heartbeat waits behind at most one window of
// appends, never behind megabytes of them. Snapshots have their own stream
// (snapshot.ts). When a lane is full, the new message is dropped: Raft tolerates loss, and a
// bounded queue keeps a dead or slow peer from eating the process's memory.
import { MessageType } from '@tsraft/raft-core';
import { FRAME_HEADER, type FrameBatch, FrameKind } from './framing.js';

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

class LaneQueue {
  readonly fifo = new Fifo<Uint8Array>();
  bytes = 0;
  constructor(readonly limit: number) {}
}

export class SendQueue {
  private readonly lanes: [LaneQueue, LaneQueue];

  constructor(maxControlBytes: number, maxBulkBytes: number) {
    this.lanes = [new LaneQueue(maxControlBytes), new LaneQueue(maxBulkBytes)];
  }

  /** Queues an encoded message; false (and nothing queued) when the lane has no room. */
  push(lane: Lane, body: Uint8Array): boolean {
    const q = this.lanes[lane];
    const size = body.length + FRAME_HEADER;
    if (q.bytes + size > q.limit) return false;
    q.fifo.push(body);
    q.bytes += size;
    return true;
  }

  get bytes(): number {
    return this.lanes[0].bytes + this.lanes[1].bytes;
  }

  get length(): number {
    return this.lanes[0].fifo.length + this.lanes[1].fifo.length;
  }

  /** Moves the whole control lane into `batch`; returns how many messages moved. */
  fillControl(batch: FrameBatch): number {
    const control = this.lanes[Lane.Control];
    let moved = 0;
    for (let body = control.fifo.shift(); body !== undefined; body = control.fifo.shift()) {
      batch.add(FrameKind.Message, null, body);
      moved++;
    }
    control.bytes = 0;
    return moved;
  }

  /**
   * Moves bulk messages into `batch` while it stays within `budget` more bytes (always at
   * least one, so an append larger than the budget still goes). Returns how many moved.
   */
  fillBulk(batch: FrameBatch, budget: number): number {
    const bulk = this.lanes[Lane.Bulk];
    let taken = 0;
    let moved = 0;
    for (let body = bulk.fifo.peek(); body !== undefined; body = bulk.fifo.peek()) {
      const size = body.length + FRAME_HEADER;
      if (moved > 0 && taken + size > budget) break;
      bulk.fifo.shift();
      bulk.bytes -= size;
      batch.add(FrameKind.Message, null, body);
      taken += size;
      moved++;
    }
    return moved;
  }

  get bulkLength(): number {
    return this.lanes[Lane.Bulk].fifo.length;
  }

  /** Empties both lanes; returns how many messages were discarded. */
  clear(): number {
    const n = this.length;
    for (const q of this.lanes) {
      q.fifo.clear();
      q.bytes = 0;
    }
    return n;
  }
}
