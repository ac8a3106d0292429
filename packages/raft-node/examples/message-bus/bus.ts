// A message bus on raft: topics with partitions, each partition a raft group of a RaftHost,
// and consumer offsets in one more group. Every host opens every group (three hosts, three
// replicas of each partition); produce and offset commits go through raft (a follower
// forwards them), consume follows the local replica's log.
import type { NodeId } from '@tsraft/raft-core';
import type { RaftGroup, RaftHost, RequestOptions } from '../../src/index.js';
import { OffsetStore, encodeCommit } from './offsets.js';
import { type BusRecord, PartitionLog, encodeRecord } from './partition-log.js';

/** The raft group of the consumer offsets; partitions get 1000 * (topic index + 1) + p. */
const OFFSETS_GROUP = 1;

export interface Produced {
  partition: number;
  offset: number;
}

export class MessageBus {
  private readonly partitions = new Map<
    string,
    { group: RaftGroup<number>; log: PartitionLog }[]
  >();
  private offsets: { group: RaftGroup<number>; store: OffsetStore } | null = null;

  /**
   * `topics`: topic name -> number of partitions. Every host of the bus must be given the
   * same topics (the group ids derive from their sorted names).
   */
  constructor(
    private readonly host: RaftHost,
    private readonly topics: Record<string, number>,
    private readonly members: readonly NodeId[],
  ) {}

  /** Opens (creates or reopens) the groups of every partition and the offsets group. */
  async open(): Promise<void> {
    const store = new OffsetStore();
    const members = this.members;
    const group = await this.host.group<number>(OFFSETS_GROUP, { members, stateMachine: store });
    this.offsets = { group, store };
    const names = Object.keys(this.topics).sort();
    for (const [t, name] of names.entries()) {
      const parts = [];
      for (let p = 0; p < this.topics[name]!; p++) {
        const log = new PartitionLog();
        const gid = 1000 * (t + 1) + p;
        parts.push({
          group: await this.host.group<number>(gid, { members, stateMachine: log }),
          log,
        });
      }
      this.partitions.set(name, parts);
    }
  }

  /** Appends a record to the key's partition; resolves once it is committed. */
  async produce(
    topic: string,
    key: string,
    value: Uint8Array,
    options: RequestOptions = {},
  ): Promise<Produced> {
    const parts = this.parts(topic);
    const partition = hash(key) % parts.length;
    const offset = await parts[partition]!.group.propose(encodeRecord(key, value), options);
    return { partition, offset };
  }

  /**
   * The records of a partition from `fromOffset` on, as this host's replica applies them:
   * the committed ones at once, then new ones as they commit. Ends when `signal` aborts.
   */
  async *consume(
    topic: string,
    partition: number,
    fromOffset = 0,
    options: RequestOptions = {},
  ): AsyncGenerator<BusRecord, void, undefined> {
    const part = this.parts(topic)[partition];
    if (part === undefined) throw new RangeError(`topic ${topic} has no partition ${partition}`);
    for (let next = fromOffset; !options.signal?.aborted; ) {
      const r = part.log.at(next);
      if (r === undefined) {
        await part.log.waitBeyond(next, options.signal);
        continue;
      }
      yield r;
      next++;
    }
  }

  /** Records that consumer group `consumer` has read `topic`/`partition` up to `offset`. */
  async commitOffset(
    consumer: string,
    topic: string,
    partition: number,
    offset: number,
  ): Promise<void> {
    await this.offsets!.group.propose(encodeCommit({ consumer, topic, partition, offset }));
  }

  /** The offset `consumer` committed last (0 if none), read linearizably. */
  async committedOffset(consumer: string, topic: string, partition: number): Promise<number> {
    await this.offsets!.group.read();
    return this.offsets!.store.get(consumer, topic, partition);
  }

  private parts(topic: string) {
    const parts = this.partitions.get(topic);
    if (parts === undefined) throw new RangeError(`no topic ${topic}`);
    return parts;
  }
}

/** FNV-1a of the key's UTF-16 code units: which partition a key goes to. */
function hash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
