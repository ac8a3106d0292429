// Group commit: the writes of every log sharing one database (the groups of a LevelStore, or
// a LevelStorage's own) that arrive during one turn of the event loop, and while the previous
// batch is being written, go out together as one atomic LevelDB batch written with
// sync: true: one fsync for all of them. Each batch carries a journal key, so a batch LevelDB
// dropped while replaying its own log is noticed at open (recover.ts).
import { ErrStorageFailed } from './errors.js';
import { journalKey } from './keys.js';
import { asStorageError, type Db } from './recover.js';
import { seal } from './records.js';

export type BatchOp =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'del'; key: Uint8Array };

/** Batches whose journal keys are kept; a batch dropped within this many is detected at open. */
const JOURNAL_WINDOW = 16384;

interface Waiter {
  ops: BatchOp[];
  resolve(): void;
  reject(err: unknown): void;
}

export interface CommitterStats {
  /** Synced batches written. */
  batches: number;
  /** write() calls they carried. */
  writes: number;
}

export class Committer {
  private pending: Waiter[] = [];
  private scheduled = false;
  private writing = false;
  private failed: ErrStorageFailed | null = null;
  private readonly s: CommitterStats = { batches: 0, writes: 0 };

  constructor(
    private readonly db: Db,
    private readonly dbPath: string,
    /** The journal sequence number the next batch uses. */
    private nextSeq: number,
  ) {}

  /**
   * Queues `ops` for the next batch; resolves once that batch is durable. After a failed
   * batch every write fails with the same ErrStorageFailed: the database's state is unknown.
   */
  write(ops: BatchOp[]): Promise<void> {
    if (this.failed !== null) return Promise.reject(this.failed);
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ ops, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once every write queued so far has been written (or failed). */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.writing || this.scheduled) {
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  stats(): CommitterStats {
    return { ...this.s };
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    // The rest of this turn's writes join the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batchOf = this.pending;
    if (batchOf.length === 0) return;
    this.pending = [];
    this.writing = true;
    const seq = this.nextSeq;
    // A chained batch: the same single atomic WriteBatch as db.batch(array), but abstract-level
    // clones and transcodes each op of an array (~10 us per op), which dominated large saves.
    let batch: ReturnType<Db['batch']> | null = null;
    let error: ErrStorageFailed | null = null;
    try {
      batch = this.db.batch();
      for (const w of batchOf) {
        for (const op of w.ops) {
          if (op.type === 'put') batch.put(op.key, op.value);
          else batch.del(op.key);
        }
      }
      const jk = journalKey(seq);
      batch.put(jk, seal(jk, new Uint8Array(0)));
      if (seq > JOURNAL_WINDOW) batch.del(journalKey(seq - JOURNAL_WINDOW));
      await batch.write({ sync: true });
      this.nextSeq = seq + 1;
      this.s.batches++;
      this.s.writes += batchOf.length;
    } catch (err) {
      await batch?.close().catch(() => {});
      const e = asStorageError(err, this.dbPath);
      error = e instanceof ErrStorageFailed ? e : new ErrStorageFailed(this.dbPath, e);
      this.failed = error;
    }
    this.writing = false;
    for (const w of batchOf) {
      if (error === null) w.resolve();
      else w.reject(error);
    }
    if (this.failed !== null) {
      const rest = this.pending;
      this.pending = [];
      for (const w of rest) w.reject(this.failed);
      return;
    }
    if (this.pending.length > 0) this.schedule();
  }
}
