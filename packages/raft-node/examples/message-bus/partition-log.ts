// One partition of a topic: the state machine of its raft group, an append-only list of
// records. A record's offset is its position in the list; apply returns it, so produce()
// resolves with the offset once the record is committed and applied.
import {
  type AppliedEntry,
  type SnapshotSource,
  type StateMachine,
  readAll,
  snapshotOf,
} from '../../src/index.js';

export interface BusRecord {
  offset: number;
  key: string;
  value: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** [u16 key length][key, UTF-8][value] */
export function encodeRecord(key: string, value: Uint8Array): Uint8Array {
  const k = enc.encode(key);
  if (k.length > 0xffff) throw new RangeError('key longer than 65535 bytes');
  const out = new Uint8Array(2 + k.length + value.length);
  new DataView(out.buffer).setUint16(0, k.length);
  out.set(k, 2);
  out.set(value, 2 + k.length);
  return out;
}

function decodeRecord(offset: number, data: Uint8Array): BusRecord {
  const n = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint16(0);
  return { offset, key: dec.decode(data.subarray(2, 2 + n)), value: data.slice(2 + n) };
}

export class PartitionLog implements StateMachine<number> {
  private records: BusRecord[] = [];
  private readonly waiters = new Set<() => void>();

  get length(): number {
    return this.records.length;
  }

  /** The record at `offset`, if applied here. */
  at(offset: number): BusRecord | undefined {
    return this.records[offset];
  }

  /** Resolves once the log is longer than `offset` (or `signal` aborts). */
  waitBeyond(offset: number, signal?: AbortSignal): Promise<void> {
    if (this.records.length > offset || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  apply(entries: readonly AppliedEntry[]): number[] {
    const offsets = entries.map((e) => {
      const r = decodeRecord(this.records.length, e.data);
      this.records.push(r);
      return r.offset;
    });
    for (const w of [...this.waiters]) w();
    return offsets;
  }

  snapshot(): SnapshotSource {
    const json = this.records.map((r) => [r.key, Buffer.from(r.value).toString('base64')]);
    return snapshotOf(enc.encode(JSON.stringify(json)));
  }

  async restore(from: AsyncIterable<Uint8Array>): Promise<void> {
    const json = JSON.parse(dec.decode(await readAll(from))) as [string, string][];
    this.records = json.map(([key, v], offset) => ({
      offset,
      key,
      value: new Uint8Array(Buffer.from(v, 'base64')),
    }));
    for (const w of [...this.waiters]) w();
  }
}
