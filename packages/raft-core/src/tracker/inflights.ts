// Flow control for one follower in StateReplicate: the MsgApps sent but not yet acknowledged,
// each remembered by its last entry index and payload bytes, in a ring buffer.
import type { Index } from '../raftpb.js';

export class Inflights {
  /** Ring buffer slots; grows on demand up to `size`. Invariant: count <= size. */
  private indexes: number[] = [];
  private sizes: number[] = [];
  private start = 0;
  private _count = 0;
  private _bytes = 0;

  constructor(
    /** The most messages in flight (MaxInflightMsgs). */
    readonly size: number,
    /** The most payload bytes in flight (MaxInflightBytes); Infinity for no limit. */
    readonly maxBytes: number = Number.POSITIVE_INFINITY,
  ) {}

  get count(): number {
    return this._count;
  }

  get bytes(): number {
    return this._bytes;
  }

  clone(): Inflights {
    const c = new Inflights(this.size, this.maxBytes);
    for (let i = 0; i < this._count; i++) {
      const slot = (this.start + i) % this.size;
      c.add(this.indexes[slot]!, this.sizes[slot]!);
    }
    return c;
  }

  /** Records a MsgApp whose last entry is `index`, carrying `bytes` of payload. */
  add(index: Index, bytes: number): void {
    if (this.full()) throw new Error('cannot add into a full inflights');
    let next = this.start + this._count;
    if (next >= this.size) next -= this.size;
    this.indexes[next] = index;
    this.sizes[next] = bytes;
    this._count++;
    this._bytes += bytes;
  }

  /**
   * Grows the newest in-flight message to end at `index` with `bytes` more payload: the
   * leader merged more entries into a MsgApp it had not sent yet.
   */
  extendLast(index: Index, bytes: number): void {
    if (this._count === 0) throw new Error('no inflight message to extend');
    let last = this.start + this._count - 1;
    if (last >= this.size) last -= this.size;
    this.indexes[last] = index;
    this.sizes[last] = this.sizes[last]! + bytes;
    this._bytes += bytes;
  }

  /** Frees every in-flight message whose last index is <= `to` (they were acknowledged). */
  freeLE(to: Index): void {
    if (this._count === 0 || to < this.indexes[this.start]!) return;
    let idx = this.start;
    let i = 0;
    let freedBytes = 0;
    for (; i < this._count; i++) {
      if (to < this.indexes[idx]!) break;
      freedBytes += this.sizes[idx]!;
      if (++idx >= this.size) idx -= this.size;
    }
    this._count -= i;
    this._bytes -= freedBytes;
    this.start = idx;
    if (this._count === 0) this.start = 0;
  }

  /** Whether no more messages may be sent: the count or the byte budget is exhausted. */
  full(): boolean {
    return this._count === this.size || (this.maxBytes !== 0 && this._bytes >= this.maxBytes);
  }

  reset(): void {
    this._count = 0;
    this.start = 0;
    this._bytes = 0;
  }
}
