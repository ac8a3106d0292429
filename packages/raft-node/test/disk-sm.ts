// An on-disk state machine for tests: every applied number in order, and the applied index,
// kept in one JSON file replaced atomically (temp file + rename) with each batch, so a crash
// leaves either the whole batch or none of it. Small by design: its snapshot is one buffer.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type AppliedEntry,
  type OnDiskStateMachine,
  type PreparedRestore,
  type SnapshotSource,
  readAll,
  snapshotOf,
} from '../src/index.js';

interface State {
  applied: number;
  values: number[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class DiskRecorder implements OnDiskStateMachine<number> {
  values: number[] = [];
  private applied = 0;
  /** The first index of every apply call since open (to show what was replayed). */
  readonly applyStarts: number[] = [];
  restores = 0;
  /** The index open() returned. */
  openedAt = 0;
  private readonly file: string;

  /**
   * With `slowMs`, its snapshot streams in 20 pieces, `slowMs` apart (a long transfer); with
   * `restoreMs`, a restore takes that long after reading the stream (a large state to write).
   */
  constructor(
    readonly dir: string,
    private readonly slowMs = 0,
    private readonly restoreMs = 0,
  ) {
    this.file = path.join(dir, 'state.json');
  }

  async open(): Promise<number> {
    await mkdir(this.dir, { recursive: true });
    try {
      const s = JSON.parse(await readFile(this.file, 'utf8')) as State;
      this.values = s.values;
      this.applied = s.applied;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.openedAt = this.applied;
    return this.applied;
  }

  async apply(entries: readonly AppliedEntry[]): Promise<number[]> {
    this.applyStarts.push(entries[0]!.index);
    const values = [...this.values];
    for (const e of entries) values.push(Number(dec.decode(e.data)));
    const applied = entries[entries.length - 1]!.index;
    await this.save({ applied, values });
    this.values = values;
    this.applied = applied;
    return entries.map((_, i) => values.length - entries.length + i + 1);
  }

  snapshot(): SnapshotSource {
    const bytes = enc.encode(JSON.stringify({ applied: this.applied, values: this.values }));
    const slowMs = this.slowMs;
    if (slowMs === 0) return snapshotOf(bytes);
    return {
      async *[Symbol.asyncIterator]() {
        const step = Math.ceil(bytes.length / 20);
        for (let off = 0; off < bytes.length; off += step) {
          await new Promise((r) => setTimeout(r, slowMs));
          yield bytes.subarray(off, off + step);
        }
      },
    };
  }

  async restore(from: AsyncIterable<Uint8Array>): Promise<void> {
    const s = JSON.parse(dec.decode(await readAll(from))) as State;
    if (this.restoreMs > 0) await new Promise((r) => setTimeout(r, this.restoreMs));
    await this.save(s);
    this.adopt(s);
  }

  /** Takes a restored state as its own. */
  protected adopt(s: State): void {
    this.values = s.values;
    this.applied = s.applied;
    this.restores++;
  }

  appliedIndex(): number {
    return this.applied;
  }

  async sync(): Promise<void> {}

  async close(): Promise<void> {}

  private async save(s: State): Promise<void> {
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, JSON.stringify(s));
    await rename(tmp, this.file);
  }
}

/**
 * A DiskRecorder that restores while the stream arrives (prepareRestore): into a temp file,
 * renamed over the live one at install. `pieceMs` slows the reading of each received piece.
 */
export class PreparingDiskRecorder extends DiskRecorder {
  prepared = 0;
  installs = 0;
  discards = 0;

  constructor(
    dir: string,
    private readonly pieceMs = 0,
  ) {
    super(dir);
  }

  async prepareRestore(from: AsyncIterable<Uint8Array>): Promise<PreparedRestore> {
    const parts: Uint8Array[] = [];
    for await (const c of from) {
      if (this.pieceMs > 0) await new Promise((r) => setTimeout(r, this.pieceMs));
      parts.push(c);
    }
    const s = JSON.parse(dec.decode(Buffer.concat(parts))) as State;
    const tmp = path.join(this.dir, 'prepared.json');
    await writeFile(tmp, JSON.stringify(s));
    this.prepared++;
    let done = false;
    return {
      appliedIndex: s.applied,
      install: async () => {
        if (done) throw new Error('already installed or discarded');
        done = true;
        await rename(tmp, path.join(this.dir, 'state.json'));
        this.adopt(s);
        this.installs++;
      },
      discard: async () => {
        if (done) return;
        done = true;
        await rm(tmp, { force: true });
        this.discards++;
      },
    };
  }
}
