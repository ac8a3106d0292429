// A bounded hand-over from the transport's snapshot sink (push) to a state machine's restore
// (an async iterable it pulls): the receiver restores while the stream is still arriving. A
// write resolves once the chunks waiting to be taken are below `maxBytes`, so a slow restore
// holds the transport (and, through its flow control, the sender) back instead of filling
// memory. fail() makes the reader throw: a damaged or cut transfer is never restored whole.

/** Bytes waiting for the reader before write() makes the writer wait. */
export const CHANNEL_BYTES = 4 << 20;

export class SnapshotChannel implements AsyncIterable<Uint8Array> {
  private readonly chunks: Uint8Array[] = [];
  private bytes = 0;
  private ended = false;
  private error: Error | null = null;
  /** The reader waiting for a chunk, the end or a failure. */
  private wakeReader: (() => void) | null = null;
  /** The writer waiting for room. */
  private wakeWriter: (() => void) | null = null;
  private read = false;

  constructor(private readonly maxBytes = CHANNEL_BYTES) {}

  /** Queues `chunk`; resolves once there is room for more (rejects once failed). */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.error !== null) throw this.error;
    if (this.ended) throw new Error('snapshot channel: write after end');
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    this.wake();
    while (this.bytes >= this.maxBytes && this.error === null) {
      await new Promise<void>((resolve) => {
        this.wakeWriter = resolve;
      });
    }
    if (this.error !== null) throw this.error;
  }

  /** No more chunks: the reader sees the end once it has taken what is queued. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** The transfer failed: the reader throws `err` at its next step; queued chunks are dropped. */
  fail(err: Error): void {
    if (this.error !== null) return;
    this.error = err;
    this.chunks.length = 0;
    this.bytes = 0;
    this.wake();
    this.wakeWriter?.();
    this.wakeWriter = null;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.read) throw new Error('a snapshot channel is read once');
    this.read = true;
    for (;;) {
      if (this.error !== null) throw this.error;
      const c = this.chunks.shift();
      if (c !== undefined) {
        this.bytes -= c.length;
        if (this.bytes < this.maxBytes) {
          this.wakeWriter?.();
          this.wakeWriter = null;
        }
        yield c;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wakeReader = resolve;
      });
    }
  }

  private wake(): void {
    const w = this.wakeReader;
    this.wakeReader = null;
    w?.();
  }
}
