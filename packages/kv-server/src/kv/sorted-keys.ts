// The keys in order, for prefix ranges and snapshots. New and deleted keys are noted in two
// sets (O(1) per write) and merged into the sorted array when an ordered walk needs it
// (O(n + k log k) for k changes), so a write-heavy load that creates keys does not pay a
// memmove of the whole array per new key. Lookups by key go through the store's Map.
export class SortedKeys {
  /** Ascending and distinct; may still hold keys in `removed`. */
  private sorted: string[] = [];
  /** Keys not in `sorted`. */
  private readonly added = new Set<string>();
  /** Keys of `sorted` that were deleted. Invariant: added ∩ removed = ∅. */
  private readonly removed = new Set<string>();

  get length(): number {
    return this.sorted.length + this.added.size - this.removed.size;
  }

  /** Notes a key that is not present (the store checks). */
  insert(key: string): void {
    if (!this.removed.delete(key)) this.added.add(key);
  }

  /** Notes the deletion of a present key. */
  remove(key: string): void {
    if (!this.added.delete(key)) this.removed.add(key);
  }

  private settle(): void {
    if (this.added.size === 0 && this.removed.size === 0) return;
    const add = [...this.added].sort();
    const old = this.sorted;
    const out: string[] = new Array(old.length + add.length - this.removed.size);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < old.length || j < add.length) {
      if (j >= add.length || (i < old.length && old[i]! < add[j]!)) {
        const key = old[i++]!;
        if (!this.removed.has(key)) out[k++] = key;
      } else {
        out[k++] = add[j++]!;
      }
    }
    out.length = k;
    this.sorted = out;
    this.added.clear();
    this.removed.clear();
  }

  /** The first position whose key is >= `key` (after settle()). */
  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  *withPrefix(prefix: string): IterableIterator<string> {
    this.settle();
    const keys = this.sorted;
    for (let i = this.lowerBound(prefix); i < keys.length; i++) {
      const k = keys[i]!;
      if (!k.startsWith(prefix)) return;
      yield k;
    }
  }

  /** Every key in order. The array is the live one: do not change the store while using it. */
  all(): readonly string[] {
    this.settle();
    return this.sorted;
  }

  /** Replaces the content; `sorted` must be ascending and distinct (checked). */
  reset(sorted: string[]): void {
    for (let i = 1; i < sorted.length; i++) {
      if (!(sorted[i - 1]! < sorted[i]!)) throw new Error('keys are not sorted and distinct');
    }
    this.sorted = sorted;
    this.added.clear();
    this.removed.clear();
  }
}
