// What the append and apply workers share: a queue of storage-thread messages drained by one
// async worker at a time, started on demand by kick(). A failure fails the whole node.
import type { Message } from '@tsraft/raft-core';
import type { NodeContext } from './context.js';

export abstract class QueueWorker {
  protected readonly queue: Message[] = [];
  /** The worker, while `running` (a flag: a worker may finish synchronously). */
  private work: Promise<void> = Promise.resolve();
  private running = false;

  constructor(
    protected readonly ctx: NodeContext,
    /** Steps the responses of a finished write or apply back into raft. */
    protected readonly deliver: (responses: readonly Message[]) => void,
  ) {}

  push(m: Message): void {
    this.queue.push(m);
  }

  /** Starts the worker if there is work and none is running. */
  kick(): void {
    if (this.queue.length > 0 && !this.running) {
      this.running = true;
      this.work = this.loop();
    }
  }

  /** Work queued or running. */
  get busy(): boolean {
    return this.running || this.queue.length > 0;
  }

  /** The worker in flight (settled when none). */
  get current(): Promise<void> {
    return this.work;
  }

  /** Resolves once no worker is running. */
  async idle(): Promise<void> {
    while (this.running) await this.work;
  }

  /** Handles what is at the head of the queue (at least one message). */
  protected abstract drainOnce(): Promise<void>;

  private async loop(): Promise<void> {
    try {
      while (this.queue.length > 0 && this.ctx.running) await this.drainOnce();
    } catch (err) {
      this.ctx.fail(err);
    }
    // Same synchronous turn as the last queue check: a later push starts a new worker.
    this.running = false;
  }
}
