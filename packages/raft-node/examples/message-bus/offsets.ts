// Consumer offsets, kept in raft too (one group for all of them): for each consumer group,
// topic and partition, the offset of the next record that group will read.
import {
  type AppliedEntry,
  type SnapshotSource,
  type StateMachine,
  readAll,
  snapshotOf,
} from '../../src/index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface OffsetCommit {
  consumer: string;
  topic: string;
  partition: number;
  offset: number;
}

export const offsetKey = (c: string, t: string, p: number): string => `${c}\u0000${t}\u0000${p}`;

export function encodeCommit(c: OffsetCommit): Uint8Array {
  return enc.encode(JSON.stringify(c));
}

export class OffsetStore implements StateMachine<number> {
  private readonly offsets = new Map<string, number>();

  get(consumer: string, topic: string, partition: number): number {
    return this.offsets.get(offsetKey(consumer, topic, partition)) ?? 0;
  }

  apply(entries: readonly AppliedEntry[]): number[] {
    return entries.map((e) => {
      const c = JSON.parse(dec.decode(e.data)) as OffsetCommit;
      this.offsets.set(offsetKey(c.consumer, c.topic, c.partition), c.offset);
      return c.offset;
    });
  }

  snapshot(): SnapshotSource {
    return snapshotOf(enc.encode(JSON.stringify([...this.offsets])));
  }

  async restore(from: AsyncIterable<Uint8Array>): Promise<void> {
    this.offsets.clear();
    for (const [k, v] of JSON.parse(dec.decode(await readAll(from))) as [string, number][]) {
      this.offsets.set(k, v);
    }
  }
}
