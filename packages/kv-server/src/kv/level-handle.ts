// One open LevelDB of the store and the readers using it. A restore swaps in a new database
// while reads and snapshot streams may still be running on the old one: the old one is
// closed once the last of them lets go, never under them.
import { Level } from 'level';
import { KvStoreStateError } from './errors.js';

export type Db = Level<Buffer, Buffer>;

export interface LevelTuning {
  /** LevelDB's block cache, bytes (LevelDB's default: 8 MiB). */
  blockCacheBytes: number;
  /** LevelDB's memtable, bytes; flushed to a table when full. */
  writeBufferBytes: number;
}

export async function openLevel(path: string, t: LevelTuning): Promise<Db> {
  const db: Db = new Level<Buffer, Buffer>(path, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
    cacheSize: t.blockCacheBytes,
    writeBufferSize: t.writeBufferBytes,
    // LevelDB maps every table it has open into memory, and the pages it touches count in the
    // RSS: a snapshot stream or a compaction touches them all. Its fewest open files (74, of
    // which 64 tables) and tables of 1 MiB bound that to ~64 MiB whatever the data's size.
    maxOpenFiles: 74,
    maxFileSize: 1 << 20,
  });
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new KvStoreStateError('KV_STORE_LOCKED', `${path} is held open by another process`);
    }
    throw err;
  }
  return db;
}

export class DbHandle {
  private refs = 0;
  private idle: (() => void) | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    readonly db: Db,
    readonly path: string,
  ) {}

  acquire(): void {
    this.refs++;
  }

  release(): void {
    this.refs--;
    if (this.refs === 0 && this.idle !== null) this.idle();
  }

  /** Closes the database once no reader holds it; resolves when it is closed. */
  retire(): Promise<void> {
    if (this.closing === null) {
      const idle =
        this.refs === 0
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              this.idle = resolve;
            });
      this.closing = idle.then(() => this.db.close());
    }
    return this.closing;
  }
}

/**
 * LevelDB's compaction of the keys in [start, end]: ClassicLevel's, which `level` is on
 * Node.js (its type, for browsers too, does not declare it).
 */
export function compactRange(db: Db, start: Buffer, end: Buffer): Promise<void> {
  return (db as unknown as { compactRange(s: Buffer, e: Buffer): Promise<void> }).compactRange(
    start,
    end,
  );
}
