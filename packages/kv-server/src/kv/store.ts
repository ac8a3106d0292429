// The key-value map the state machine replicates: pure and deterministic (no clocks, no
// randomness, no I/O), so every replica that applies the same commands holds the same map.
//
// Revisions follow etcd: the store's `revision` counts successful mutations (a put, a delete
// that removed something, a CAS that succeeded; a failed CAS or a delete of a missing key
// leaves it unchanged). Each key carries createRevision (the revision that created it),
// modRevision (the revision of its last change) and version (puts since it was created).
// Member records (client and peer URLs) live beside the keys and do not count as revisions.
import type { Command } from './command.js';
import { SortedKeys } from './sorted-keys.js';

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
}

export interface MemberRecord {
  id: number;
  clientUrl: string;
  peerUrl: string;
}

export type CommandResult =
  | { op: 'put'; revision: number; kv: KeyValue; prev?: KeyValue }
  | { op: 'delete'; revision: number; deleted: number; prev?: KeyValue }
  | { op: 'deletePrefix'; revision: number; deleted: number }
  | { op: 'cas'; revision: number; succeeded: boolean; kv?: KeyValue; prev?: KeyValue }
  | { op: 'setMember' | 'removeMember'; revision: number };

export interface RangeResult {
  kvs: KeyValue[];
  /** More keys matched than `limit`. */
  more: boolean;
}

interface Entry {
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
}

export class KvStore {
  /** Successful mutations so far; invariant: every key's modRevision <= revision. */
  private rev = 0;
  private readonly map = new Map<string, Entry>();
  private readonly keys = new SortedKeys();
  private readonly members = new Map<number, MemberRecord>();
  /** Sum of key and value lengths in UTF-16 units: sizes snapshot buffers up front. */
  private chars = 0;

  get revision(): number {
    return this.rev;
  }

  get size(): number {
    return this.map.size;
  }

  /** Key and value characters held (UTF-16 units; UTF-8 bytes for ASCII data). */
  get contentChars(): number {
    return this.chars;
  }

  get(key: string): KeyValue | undefined {
    const e = this.map.get(key);
    return e === undefined ? undefined : toKv(key, e);
  }

  /** Keys starting with `prefix` in ascending order (UTF-16 code unit order), at most `limit`. */
  range(prefix: string, limit = Number.POSITIVE_INFINITY): RangeResult {
    const kvs: KeyValue[] = [];
    let more = false;
    for (const key of this.keys.withPrefix(prefix)) {
      if (kvs.length >= limit) {
        more = true;
        break;
      }
      kvs.push(toKv(key, this.map.get(key)!));
    }
    return { kvs, more };
  }

  memberList(): MemberRecord[] {
    return [...this.members.values()].sort((a, b) => a.id - b.id);
  }

  member(id: number): MemberRecord | undefined {
    return this.members.get(id);
  }

  apply(cmd: Command): CommandResult {
    switch (cmd.op) {
      case 'put': {
        const prev = this.map.get(cmd.key);
        const kv = this.put(cmd.key, cmd.value, prev);
        return prev === undefined
          ? { op: 'put', revision: this.rev, kv }
          : { op: 'put', revision: this.rev, kv, prev: toKv(cmd.key, prev) };
      }
      case 'delete': {
        const prev = this.map.get(cmd.key);
        if (prev === undefined) return { op: 'delete', revision: this.rev, deleted: 0 };
        this.rev++;
        this.remove(cmd.key);
        return { op: 'delete', revision: this.rev, deleted: 1, prev: toKv(cmd.key, prev) };
      }
      case 'deletePrefix': {
        const doomed = [...this.keys.withPrefix(cmd.prefix)];
        if (doomed.length === 0) return { op: 'deletePrefix', revision: this.rev, deleted: 0 };
        this.rev++;
        for (const k of doomed) this.remove(k);
        return { op: 'deletePrefix', revision: this.rev, deleted: doomed.length };
      }
      case 'cas': {
        const prev = this.map.get(cmd.key);
        const ok =
          (cmd.expectRevision === undefined || (prev?.modRevision ?? 0) === cmd.expectRevision) &&
          (cmd.expectValue === undefined || prev?.value === cmd.expectValue);
        if (!ok) {
          return prev === undefined
            ? { op: 'cas', revision: this.rev, succeeded: false }
            : { op: 'cas', revision: this.rev, succeeded: false, kv: toKv(cmd.key, prev) };
        }
        if (cmd.value !== undefined) {
          const kv = this.put(cmd.key, cmd.value, prev);
          return prev === undefined
            ? { op: 'cas', revision: this.rev, succeeded: true, kv }
            : { op: 'cas', revision: this.rev, succeeded: true, kv, prev: toKv(cmd.key, prev) };
        }
        // Compare-and-delete: deleting a missing key succeeds and changes nothing.
        if (prev === undefined) return { op: 'cas', revision: this.rev, succeeded: true };
        this.rev++;
        this.remove(cmd.key);
        return { op: 'cas', revision: this.rev, succeeded: true, prev: toKv(cmd.key, prev) };
      }
      case 'setMember':
        this.members.set(cmd.id, { id: cmd.id, clientUrl: cmd.clientUrl, peerUrl: cmd.peerUrl });
        return { op: 'setMember', revision: this.rev };
      case 'removeMember':
        this.members.delete(cmd.id);
        return { op: 'removeMember', revision: this.rev };
    }
  }

  /** Every key in order, for snapshots. */
  *entries(): IterableIterator<KeyValue> {
    for (const key of this.keys.all()) yield toKv(key, this.map.get(key)!);
  }

  /**
   * Keys [from, to) of the sorted order, without allocating a KeyValue per key (snapshot
   * encoding). Do not change the store between calls that belong together.
   */
  forEachSorted(
    from: number,
    to: number,
    fn: (key: string, value: string, create: number, mod: number, version: number) => void,
  ): void {
    const keys = this.keys.all();
    const end = Math.min(to, keys.length);
    for (let i = from; i < end; i++) {
      const key = keys[i]!;
      const e = this.map.get(key)!;
      fn(key, e.value, e.createRevision, e.modRevision, e.version);
    }
  }

  /** Replaces the whole content (restore from a snapshot). `kvs` must be sorted by key. */
  reset(revision: number, kvs: Iterable<KeyValue>, members: Iterable<MemberRecord>): void {
    this.rev = revision;
    this.map.clear();
    this.chars = 0;
    const keys: string[] = [];
    for (const kv of kvs) {
      this.chars += kv.key.length + kv.value.length;
      this.map.set(kv.key, {
        value: kv.value,
        createRevision: kv.createRevision,
        modRevision: kv.modRevision,
        version: kv.version,
      });
      keys.push(kv.key);
    }
    this.keys.reset(keys);
    this.members.clear();
    for (const m of members) this.members.set(m.id, { ...m });
  }

  private put(key: string, value: string, prev: Entry | undefined): KeyValue {
    this.rev++;
    const e: Entry =
      prev === undefined
        ? { value, createRevision: this.rev, modRevision: this.rev, version: 1 }
        : {
            value,
            createRevision: prev.createRevision,
            modRevision: this.rev,
            version: prev.version + 1,
          };
    if (prev === undefined) {
      this.keys.insert(key);
      this.chars += key.length + value.length;
    } else {
      this.chars += value.length - prev.value.length;
    }
    this.map.set(key, e);
    return toKv(key, e);
  }

  private remove(key: string): void {
    const e = this.map.get(key);
    if (e !== undefined) this.chars -= key.length + e.value.length;
    this.map.delete(key);
    this.keys.remove(key);
  }
}

function toKv(key: string, e: Entry): KeyValue {
  return {
    key,
    value: e.value,
    createRevision: e.createRevision,
    modRevision: e.modRevision,
    version: e.version,
  };
}
