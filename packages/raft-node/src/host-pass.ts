// One Ready pass per event-loop turn for all the groups of a RaftHost. A standalone RaftNode
// runs its Ready loop in a setImmediate of its own; a host's groups queue theirs here instead,
// and one setImmediate runs every group that has something to do, back to back. Everything the
// groups send during the pass leaves in one socket write per peer host (the transport flushes
// its queues in a microtask, after the pass), and the storage writes they start join one
// synced batch (LevelStore's committer). Groups with nothing to do cost nothing.

/** A group's Ready loop, as the pass runs it. */
export interface PassMember {
  /** Handles the group's Ready (see ReadyLoop). */
  process(): void;
}

export class ReadyPass {
  private queue: PassMember[] = [];
  private scheduled = false;
  private readonly runFn = (): void => this.run();
  /** Passes run, and group Ready loops they ran (host metrics). */
  passes = 0;
  processed = 0;

  /** Runs `m` in the next pass. The caller queues it once per pass (ReadyLoop.scheduled). */
  add(m: PassMember): void {
    this.queue.push(m);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.runFn);
  }

  private run(): void {
    this.scheduled = false;
    // A group queued again while the pass runs goes in the next one (as a setImmediate
    // scheduled from inside one runs in the next turn).
    const q = this.queue;
    this.queue = [];
    this.passes++;
    this.processed += q.length;
    for (let i = 0; i < q.length; i++) {
      try {
        q[i]!.process();
      } catch (err) {
        // As from a setImmediate of the group's own, but the other groups still run.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
