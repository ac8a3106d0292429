// A sorted array of distinct strings with binary-search insert and remove: prefix ranges walk
// it in order. Insert and remove move O(n) references (a memmove; ~50 µs at 1M keys), which
// is cheap beside a raft round trip; lookups by key go through the store's Map, not here.
export class SortedKeys {
  private keys: string[] = [];

  get length(): number {
    return this.keys.length;
  }

  /** The first position whose key is >= `key`. */
  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(key: string): void {
    const i = this.lowerBound(key);
    if (this.keys[i] !== key) this.keys.splice(i, 0, key);
  }

  remove(key: string): void {
    const i = this.lowerBound(key);
    if (this.keys[i] === key) this.keys.splice(i, 1);
  }

  *withPrefix(prefix: string): IterableIterator<string> {
    for (let i = this.lowerBound(prefix); i < this.keys.length; i++) {
      const k = this.keys[i]!;
      if (!k.startsWith(prefix)) return;
      yield k;
    }
  }

  all(): IterableIterator<string> {
    return this.keys[Symbol.iterator]();
  }

  /** Replaces the content; `sorted` must be ascending and distinct (checked). */
  reset(sorted: string[]): void {
    for (let i = 1; i < sorted.length; i++) {
      if (!(sorted[i - 1]! < sorted[i]!)) throw new Error('keys are not sorted and distinct');
    }
    this.keys = sorted;
  }
}
