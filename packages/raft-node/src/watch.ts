// A value that changes over time and readers that must never miss its latest state. Readers
// that fall behind skip intermediate values (they are stale by then) but always see the newest.

export class Latest<T> {
  private version = 0;
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(private value: T) {}

  get(): T {
    return this.value;
  }

  set(value: T): void {
    this.value = value;
    this.version++;
    this.wake();
  }

  /** Ends every iterator (after it yields what it has not yet seen). */
  close(): void {
    this.closed = true;
    this.wake();
  }

  /** The current value at once, then each newer one; ends on close() or when `signal` aborts. */
  async *watch(signal?: AbortSignal): AsyncGenerator<T, void, undefined> {
    let seen = -1;
    while (true) {
      if (seen !== this.version) {
        seen = this.version;
        yield this.value;
        continue;
      }
      if (this.closed || signal?.aborted) return;
      await this.changed(signal);
    }
  }

  /** Resolves with the first value (the current one included) that satisfies `pred`. */
  async until(pred: (v: T) => boolean, signal?: AbortSignal): Promise<T | undefined> {
    for await (const v of this.watch(signal)) if (pred(v)) return v;
    return undefined;
  }

  private changed(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}
