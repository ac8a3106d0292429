// A fixed-size table of key heads (a key's numbers without its value) in typed arrays, off
// the V8 heap: a head there costs ~70 bytes, allocated once, where an object in a map cost
// ~190 bytes of heap, and every byte of live heap took ~3 of RSS once V8 let the heap grow
// past it (a 16 MiB LRU of heads raised members' RSS by ~50 MiB). Set-associative: a key
// hashes to a bucket of WAYS slots and evicts the bucket's least recently used. Keys longer
// than KEY_BYTES are not held.
import type { ByteString } from './bytes.js';
import type { KvHead } from './kv-cache.js';

/** The longest key held (bytes). */
export const KEY_BYTES = 32;
/** Slots per bucket. */
const WAYS = 8;
/** Bytes per slot: the key, its length, four numbers, a use stamp. */
export const SLOT_BYTES = KEY_BYTES + 1 + 4 * 8 + 4;

export class HeadTable {
  private readonly buckets: number;
  private readonly keyBytes: Uint8Array;
  /** 0: empty; else the key's length + 1. */
  private readonly keyLen: Uint8Array;
  /** createRevision, modRevision, version, lease per slot. */
  private readonly nums: Float64Array;
  private readonly stamps: Uint32Array;
  private clock = 0;

  /** @param bytes the table's size; under one bucket's worth it holds nothing. */
  constructor(bytes: number) {
    this.buckets = Math.floor(bytes / (SLOT_BYTES * WAYS));
    const slots = this.buckets * WAYS;
    this.keyBytes = new Uint8Array(slots * KEY_BYTES);
    this.keyLen = new Uint8Array(slots);
    this.nums = new Float64Array(slots * 4);
    this.stamps = new Uint32Array(slots);
  }

  get(key: ByteString): KvHead | undefined {
    const slot = this.find(key);
    if (slot < 0) return undefined;
    this.stamps[slot] = this.tick();
    const n = slot * 4;
    const nums = this.nums;
    return {
      createRevision: nums[n]!,
      modRevision: nums[n + 1]!,
      version: nums[n + 2]!,
      lease: nums[n + 3]!,
    };
  }

  set(key: ByteString, h: KvHead): void {
    if (this.buckets === 0 || key.length > KEY_BYTES) return;
    let slot = this.find(key);
    if (slot < 0) {
      slot = this.victim(key);
      const at = slot * KEY_BYTES;
      for (let i = 0; i < key.length; i++) this.keyBytes[at + i] = key.charCodeAt(i);
      this.keyLen[slot] = key.length + 1;
    }
    this.stamps[slot] = this.tick();
    const n = slot * 4;
    this.nums[n] = h.createRevision;
    this.nums[n + 1] = h.modRevision;
    this.nums[n + 2] = h.version;
    this.nums[n + 3] = h.lease;
  }

  delete(key: ByteString): void {
    const slot = this.find(key);
    if (slot >= 0) this.keyLen[slot] = 0;
  }

  clear(): void {
    this.keyLen.fill(0);
  }

  /** The key's slot, or -1. */
  private find(key: ByteString): number {
    if (this.buckets === 0 || key.length > KEY_BYTES) return -1;
    const first = this.bucketOf(key) * WAYS;
    const len = key.length + 1;
    for (let slot = first; slot < first + WAYS; slot++) {
      if (this.keyLen[slot] === len && this.holds(slot, key)) return slot;
    }
    return -1;
  }

  private holds(slot: number, key: ByteString): boolean {
    const at = slot * KEY_BYTES;
    for (let i = 0; i < key.length; i++) {
      if (this.keyBytes[at + i] !== key.charCodeAt(i)) return false;
    }
    return true;
  }

  /** An empty slot of the key's bucket, else its least recently used. */
  private victim(key: ByteString): number {
    const first = this.bucketOf(key) * WAYS;
    let oldest = first;
    for (let slot = first; slot < first + WAYS; slot++) {
      if (this.keyLen[slot] === 0) return slot;
      if (this.age(slot) > this.age(oldest)) oldest = slot;
    }
    return oldest;
  }

  private tick(): number {
    this.clock = (this.clock + 1) >>> 0;
    return this.clock;
  }

  /** Uses since the slot's last one (stamps wrap at 2^32: distances back from the clock). */
  private age(slot: number): number {
    return (this.clock - this.stamps[slot]!) >>> 0;
  }

  /** FNV-1a over the key's bytes. */
  private bucketOf(key: ByteString): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    return (h >>> 0) % this.buckets;
  }
}
