// Coalesces linearizable reads: one ReadIndex barrier serves every read that arrived before
// it was requested (as etcd's linearizableReadLoop does). At most one barrier is in flight;
// reads arriving meanwhile wait for the next one, which starts when the current one settles.
// A read never joins a barrier requested before it arrived: that barrier's read index could
// predate a write acknowledged before the read began.
import { ConsensusError } from './consensus.js';

interface Batch {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Waiters may all have given up; an unobserved rejection must not crash the process.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

export class ReadBatcher {
  private inflight = false;
  private next: Batch | null = null;
  /** Barriers requested so far (for tests and metrics). */
  barriers = 0;

  /**
   * @param barrier one ReadIndex round trip; resolves once this node applied the read index.
   * @param timeoutMs deadline of one barrier (a waiter's own signal can end its wait sooner).
   */
  constructor(
    private readonly barrier: (signal: AbortSignal) => Promise<void>,
    private readonly timeoutMs: number,
  ) {}

  read(signal: AbortSignal): Promise<void> {
    if (signal.aborted) {
      return Promise.reject(new ConsensusError('aborted', 'the read was aborted before it began'));
    }
    if (this.next === null) this.next = newBatch();
    const batch = this.next;
    if (!this.inflight) this.flush();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(new ConsensusError('aborted', 'deadline exceeded'));
      signal.addEventListener('abort', onAbort, { once: true });
      batch.promise.then(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  private flush(): void {
    const batch = this.next;
    if (batch === null) return;
    this.next = null;
    this.inflight = true;
    this.barriers++;
    this.barrier(AbortSignal.timeout(this.timeoutMs))
      .then(
        () => batch.resolve(),
        (err: unknown) => batch.reject(err),
      )
      .finally(() => {
        this.inflight = false;
        this.flush();
      });
  }
}
