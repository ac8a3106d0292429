// A least-recently-used cache bounded by an estimate of the bytes it holds: a map to nodes of
// a doubly linked list, most recently used last. (Evicting through a Map's insertion order
// instead is quadratic in V8: the deleted entries at its front are skipped by every scan
// until the table is rehashed.)

interface Node<V> {
  key: string;
  value: V;
  size: number;
  prev: Node<V> | null;
  next: Node<V> | null;
}

export class LruCache<V> {
  private readonly map = new Map<string, Node<V>>();
  /** Least recently used. */
  private head: Node<V> | null = null;
  /** Most recently used. */
  private tail: Node<V> | null = null;
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
    const n = this.map.get(key);
    if (n === undefined) return undefined;
    if (n !== this.tail) {
      this.unlink(n);
      this.append(n);
    }
    return n.value;
  }

  set(key: string, value: V): void {
    this.delete(key);
    const size = this.sizeOf(key, value);
    if (size > this.maxBytes) return;
    const n: Node<V> = { key, value, size, prev: null, next: null };
    this.map.set(key, n);
    this.append(n);
    this.used += size;
    while (this.used > this.maxBytes && this.head !== null) this.delete(this.head.key);
  }

  delete(key: string): void {
    const n = this.map.get(key);
    if (n === undefined) return;
    this.map.delete(key);
    this.unlink(n);
    this.used -= n.size;
  }

  /** Removes every entry whose key satisfies `pred` (a scan of the whole cache). */
  deleteWhere(pred: (key: string) => boolean): void {
    for (let n = this.head; n !== null; ) {
      const next = n.next;
      if (pred(n.key)) this.delete(n.key);
      n = next;
    }
  }

  clear(): void {
    this.map.clear();
    this.head = null;
    this.tail = null;
    this.used = 0;
  }

  private append(n: Node<V>): void {
    n.prev = this.tail;
    n.next = null;
    if (this.tail === null) this.head = n;
    else this.tail.next = n;
    this.tail = n;
  }

  private unlink(n: Node<V>): void {
    if (n.prev === null) this.head = n.next;
    else n.prev.next = n.next;
    if (n.next === null) this.tail = n.prev;
    else n.next.prev = n.prev;
    n.prev = null;
    n.next = null;
  }
}
