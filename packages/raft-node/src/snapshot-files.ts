// State machine snapshots on disk, one file per snapshot index in dataDir/sm-snap: written from
// a stream (the state machine's own, or one received from the leader) to a temp name, fsynced
// and renamed; read back as a stream that checks every record. Never whole in memory.
//
// File: "TSSF" [version u8][3 zero bytes], then records [u32 length][u32 CRC-32][data] of at
// most RECORD_BYTES, then an end record [u32 0xFFFFFFFF][u32 records][u64 data bytes].
import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { SnapshotSource } from './state-machine.js';

const MAGIC = Buffer.from('TSSF');
const VERSION = 1;
const HEADER = 8;
const RECORD_HEAD = 8;
const END_MARK = 0xffffffff;
/** After the end mark and the record count: u64 data bytes. */
const END_BODY = 8;
/** Data per record: small chunks from a state machine are packed up to this. */
export const RECORD_BYTES = 256 << 10;
const SUFFIX = '.snap';

/** A snapshot file is damaged, truncated, or missing. */
export class ErrSnapshotFile extends Error {
  readonly code = 'RAFT_NODE_SNAPSHOT_FILE';
  constructor(
    readonly file: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`snapshot file ${file}: ${reason}`, options);
    this.name = 'ErrSnapshotFile';
  }
}

/** Receives a stream into a file; `finish()` makes it durable under its final name. */
export interface FileSink {
  write(chunk: Uint8Array): Promise<void>;
  finish(): Promise<void>;
  abort(): void;
}

export class SnapshotFiles {
  /**
   * The directory is known not to exist (until the first file is written): the groups of a
   * RaftHost open by the thousand, most of them never snapshotted yet, and then cost no
   * file system call here.
   */
  private missing = false;

  constructor(
    readonly dir: string,
    /** Make the directory with the first file rather than at init. */
    private readonly lazyDir = false,
    /** The directory is known not to exist: init need not look (the first file makes it). */
    private readonly knownMissing = false,
  ) {}

  /** Creates the directory (or, lazyDir, not yet) and removes temp files a crash left behind. */
  async init(): Promise<void> {
    if (this.knownMissing) {
      this.missing = true;
      return;
    }
    if (!this.lazyDir) await mkdir(this.dir, { recursive: true });
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT' || !this.lazyDir) throw err;
      this.missing = true;
      return;
    }
    for (const name of names) {
      if (name.endsWith('.tmp')) await rm(path.join(this.dir, name), { force: true });
    }
  }

  path(index: number): string {
    return path.join(this.dir, `${index.toString().padStart(16, '0')}${SUFFIX}`);
  }

  /** Indexes of the complete files here, ascending. */
  async list(): Promise<number[]> {
    const out: number[] = [];
    if (this.missing) return out;
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith(SUFFIX)) continue;
      const n = Number(name.slice(0, -SUFFIX.length));
      if (Number.isSafeInteger(n)) out.push(n);
    }
    return out.sort((a, b) => a - b);
  }

  /** Deletes the files of indexes below `index` (older snapshots nobody will read again). */
  async removeBelow(index: number): Promise<void> {
    for (const i of await this.list()) if (i < index) await this.remove(i);
  }

  async remove(index: number): Promise<void> {
    await rm(this.path(index), { force: true });
  }

  /** Writes `source` as the file for `index`; resolves with the data bytes once durable. */
  async write(index: number, source: SnapshotSource): Promise<number> {
    const sink = this.sink(index);
    try {
      for await (const chunk of source) await sink.write(chunk);
      await sink.finish();
      return sink.bytes;
    } catch (err) {
      sink.abort();
      throw err;
    } finally {
      source.close?.();
    }
  }

  /** A sink for the file of `index` (a snapshot received from the leader). */
  sink(index: number): FileSink & { readonly bytes: number } {
    return new FileWriter(this.dir, this.path(index), () => this.made());
  }

  /** Makes the directory if init found none (before the first file is created in it). */
  private async made(): Promise<void> {
    if (!this.missing) return;
    await mkdir(this.dir, { recursive: true });
    this.missing = false;
  }

  /** The file of `index` as a stream; every record is checked (ErrSnapshotFile). */
  read(index: number): SnapshotSource {
    const file = this.path(index);
    let fh: FileHandle | null = null;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          fh = await open(file, 'r');
        } catch (err) {
          throw new ErrSnapshotFile(file, 'cannot be opened', { cause: err });
        }
        try {
          yield* readRecords(fh, file);
        } finally {
          await fh?.close().catch(() => {});
          fh = null;
        }
      },
      close: () => {
        void (fh as FileHandle | null)?.close().catch(() => {});
      },
    };
  }
}

class FileWriter implements FileSink {
  private readonly tmp: string;
  private fh: Promise<FileHandle> | null = null;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private records = 0;
  bytes = 0;

  constructor(
    private readonly dir: string,
    private readonly file: string,
    /** Makes the directory if it is not there yet. */
    private readonly mkdir: () => Promise<void>,
  ) {
    this.tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= RECORD_BYTES) await this.flush(false);
  }

  async finish(): Promise<void> {
    await this.flush(true);
    const fh = await this.handle();
    const end = Buffer.alloc(RECORD_HEAD + END_BODY);
    end.writeUInt32BE(END_MARK, 0);
    end.writeUInt32BE(this.records >>> 0, 4);
    end.writeUInt32BE(Math.floor(this.bytes / 2 ** 32), 8);
    end.writeUInt32BE(this.bytes >>> 0, 12);
    await fh.write(end);
    await fh.datasync();
    await fh.close();
    this.fh = null;
    await rename(this.tmp, this.file);
    await syncDir(this.dir);
  }

  abort(): void {
    const fh = this.fh;
    this.fh = null;
    this.pending = [];
    void (async () => {
      await (await fh?.catch(() => null))?.close().catch(() => {});
      await rm(this.tmp, { force: true });
    })();
  }

  private handle(): Promise<FileHandle> {
    this.fh ??= (async () => {
      await this.mkdir();
      const fh = await open(this.tmp, 'w');
      const head = Buffer.alloc(HEADER);
      MAGIC.copy(head, 0);
      head[4] = VERSION;
      await fh.write(head);
      return fh;
    })();
    return this.fh;
  }

  /** Writes what is pending as records of at most RECORD_BYTES (all of it with `all`). */
  private async flush(all: boolean): Promise<void> {
    const fh = await this.handle();
    while (this.pendingBytes >= RECORD_BYTES || (all && this.pendingBytes > 0)) {
      const data = this.take(Math.min(RECORD_BYTES, this.pendingBytes));
      const head = Buffer.allocUnsafe(RECORD_HEAD);
      head.writeUInt32BE(data.length, 0);
      head.writeUInt32BE(crc32(data), 4);
      await fh.writev([head, data]);
      this.records++;
      this.bytes += data.length;
    }
  }

  /** The first `n` pending bytes as one buffer. */
  private take(n: number): Uint8Array {
    const first = this.pending[0]!;
    if (first.length === n) {
      this.pending.shift();
      this.pendingBytes -= n;
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.pending[0]!;
      const k = Math.min(c.length, n - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (k === c.length) this.pending.shift();
      else this.pending[0] = c.subarray(k);
    }
    this.pendingBytes -= n;
    return out;
  }
}

async function* readRecords(fh: FileHandle, file: string): AsyncGenerator<Uint8Array> {
  const bad = (why: string) => new ErrSnapshotFile(file, why);
  const head = Buffer.alloc(HEADER);
  if (
    (await fh.read(head, 0, HEADER, 0)).bytesRead !== HEADER ||
    !head.subarray(0, 4).equals(MAGIC)
  ) {
    throw bad('not a snapshot file (bad magic)');
  }
  if (head[4] !== VERSION) throw bad(`unknown version ${head[4]}`);
  let pos = HEADER;
  let records = 0;
  let bytes = 0;
  const rh = Buffer.alloc(RECORD_HEAD);
  for (;;) {
    if ((await fh.read(rh, 0, RECORD_HEAD, pos)).bytesRead !== RECORD_HEAD) {
      throw bad(`truncated at byte ${pos}`);
    }
    pos += RECORD_HEAD;
    const len = rh.readUInt32BE(0);
    if (len === END_MARK) {
      // One byte more than the end record: nothing may follow it.
      const end = Buffer.alloc(END_BODY + 1);
      const n = (await fh.read(end, 0, END_BODY + 1, pos)).bytesRead;
      const total = end.readUInt32BE(0) * 2 ** 32 + end.readUInt32BE(4);
      if (n !== END_BODY || rh.readUInt32BE(4) !== records || total !== bytes) {
        throw bad(`end record does not match its ${records} records of ${bytes} bytes`);
      }
      return;
    }
    if (len > RECORD_BYTES) throw bad(`record of ${len} bytes at byte ${pos - RECORD_HEAD}`);
    const data = Buffer.allocUnsafe(len);
    if ((await fh.read(data, 0, len, pos)).bytesRead !== len) throw bad(`truncated at byte ${pos}`);
    if (crc32(data) !== rh.readUInt32BE(4)) {
      throw bad(`record ${records + 1} at byte ${pos - RECORD_HEAD} fails its checksum`);
    }
    pos += len;
    records++;
    bytes += len;
    yield data;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
