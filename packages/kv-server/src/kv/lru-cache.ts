// A least-recently-used cache bounded by an estimate of the bytes it holds. Map keeps
// insertion order, so the first entry is the least recently used one: a hit re-inserts.

export class LruCache<V> {
  private readonly map = new Map<string, { value: V; size: number }>();
  private used = 0;

  /**
   * @param maxBytes the bound; an entry larger than it is not cached.
   * @param sizeOf estimated bytes of an entry (key included).
   */
  constructor(
    readonly maxBytes: number,
    private readonly sizeOf: (key: string, value: V) => number,
  ) {}

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  set(key: string, value: V): void {
    this.delete(key);
    const size = this.sizeOf(key, value);
    if (size > this.maxBytes) return;
    this.map.set(key, { value, size });
    this.used += size;
    if (this.used <= this.maxBytes) return;
    for (const [k, e] of this.map) {
      this.map.delete(k);
      this.used -= e.size;
      if (this.used <= this.maxBytes) break;
    }
  }

  delete(key: string): void {
    const e = this.map.get(key);
    if (e === undefined) return;
    this.map.delete(key);
    this.used -= e.size;
  }

  clear(): void {
    this.map.clear();
    this.used = 0;
  }
}
