// A fixed-size table of key heads (a key's numbers without its value) in typed arrays, off
// the V8 heap: a head there costs ~70 bytes, allocated once, where an object in a map cost
// ~190 bytes of heap, and every byte of live heap took ~3 of RSS once V8 let the heap grow
// past it (a 16 MiB LRU of heads raised members' RSS by ~50 MiB). Set-associative: a key
// hashes to a bucket of WAYS slots and evicts the bucket's least recently used. Keys longer
// than KEY_BYTES are not held. It starts small and doubles while more than 3/4 full, up to
// its bound: a store of a few keys does not pay for a table of many (a hash touches every
// page of the arrays).
import type { ByteString } from './bytes.js';
import type { KvHead } from './kv-cache.js';

/** The longest key held (bytes). */
export const KEY_BYTES = 32;
/** Slots per bucket. */
const WAYS = 8;
/** Bytes per slot: the key, its length, four numbers, a use stamp. */
export const SLOT_BYTES = KEY_BYTES + 1 + 4 * 8 + 4;
/** Buckets of a new (or cleared) table, at most. */
const FIRST_BUCKETS = 64;

export class HeadTable {
  private readonly maxBuckets: number;
  private buckets = 0;
  private keyBytes = new Uint8Array(0);
  /** 0: empty; else the key's length + 1. */
  private keyLen = new Uint8Array(0);
  /** createRevision, modRevision, version, lease per slot. */
  private nums = new Float64Array(0);
  private stamps = new Uint32Array(0);
  /** Slots in use. */
  private used = 0;
  private clock = 0;

  /** @param bytes the table's bound; under one bucket's worth it holds nothing. */
  constructor(bytes: number) {
    this.maxBuckets = Math.floor(bytes / (SLOT_BYTES * WAYS));
    this.allocate(Math.min(FIRST_BUCKETS, this.maxBuckets));
  }

  /** The table's arrays' bytes now. */
  get bytes(): number {
    return this.buckets * WAYS * SLOT_BYTES;
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
      if (this.used >= this.buckets * WAYS * 0.75 && this.buckets < this.maxBuckets) {
        this.grow();
      }
      slot = this.victim(key);
      if (this.keyLen[slot] === 0) this.used++;
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
    if (slot < 0) return;
    this.keyLen[slot] = 0;
    this.used--;
  }

  /** Forgets every head, and the memory of a grown table. */
  clear(): void {
    this.allocate(Math.min(FIRST_BUCKETS, this.maxBuckets));
  }

  private allocate(buckets: number): void {
    const slots = buckets * WAYS;
    this.buckets = buckets;
    this.keyBytes = new Uint8Array(slots * KEY_BYTES);
    this.keyLen = new Uint8Array(slots);
    this.nums = new Float64Array(slots * 4);
    this.stamps = new Uint32Array(slots);
    this.used = 0;
  }

  /** Doubles the buckets (up to the bound) and puts every head back, stamps kept. */
  private grow(): void {
    const old = {
      keyBytes: this.keyBytes,
      keyLen: this.keyLen,
      nums: this.nums,
      stamps: this.stamps,
    };
    this.allocate(Math.min(this.buckets * 2, this.maxBuckets));
    for (let from = 0; from < old.keyLen.length; from++) {
      const len = old.keyLen[from]!;
      if (len === 0) continue;
      const key = String.fromCharCode(
        ...old.keyBytes.subarray(from * KEY_BYTES, from * KEY_BYTES + len - 1),
      );
      const slot = this.victim(key);
      if (this.keyLen[slot] === 0) this.used++;
      this.keyBytes.set(
        old.keyBytes.subarray(from * KEY_BYTES, (from + 1) * KEY_BYTES),
        slot * KEY_BYTES,
      );
      this.keyLen[slot] = len;
      this.nums.set(old.nums.subarray(from * 4, from * 4 + 4), slot * 4);
      this.stamps[slot] = old.stamps[from]!;
    }
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
