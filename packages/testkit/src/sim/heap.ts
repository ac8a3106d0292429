// A binary min-heap ordered by (at, key): the harness's event queue.

export interface HeapItem {
  /** The tick at which the event is due. */
  at: number;
  /** Tie-breaker among events due at the same tick (a sequence number, or random to reorder). */
  key: number;
}

export class EventHeap<T extends HeapItem> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  private less(a: T, b: T): boolean {
    return a.at < b.at || (a.at === b.at && a.key < b.key);
  }

  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      const t = a[i]!;
      a[i] = a[p]!;
      a[p] = t;
      i = p;
    }
  }

  peek(): T | undefined {
    return this.items[0];
  }

  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        const t = a[i]!;
        a[i] = a[m]!;
        a[m] = t;
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }

  /** Removes every item for which `drop` returns true (rare: O(n log n)). */
  removeWhere(drop: (item: T) => boolean): void {
    const keep = this.items.filter((x) => !drop(x));
    this.items.length = 0;
    for (const x of keep) this.push(x);
  }
}
