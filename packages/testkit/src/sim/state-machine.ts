// A node's replicated state machine: the list of entries it applied, in order, with a hash
// chain over them so two nodes' states compare in O(1). It is what a snapshot captures (as
// its index and chain hash) and what a restored snapshot resets it to. A user's own state
// machine (UserStateMachine) rides along: it is handed every applied normal entry with a
// payload, its snapshot bytes travel after the harness's 12 in every snapshot, and a restore
// hands them back.
import {
  type ConfState,
  type Entry,
  EntryType,
  type Index,
  type Snapshot,
  type Term,
  cloneConfState,
  newConfState,
} from '@tsraft/raft-core';

export interface AppliedEntry {
  index: Index;
  term: Term;
  type: EntryType;
  data: Uint8Array;
}

/** FNV-1a over (previous hash, index, term, type, data): the state after applying e. */
export function chainHash(prev: number, e: AppliedEntry): number {
  let h = (prev ^ 0x811c9dc5) >>> 0;
  const mix = (x: number) => {
    h = Math.imul(h ^ (x & 0xff), 0x01000193);
    h = Math.imul(h ^ ((x >>> 8) & 0xff), 0x01000193);
    h = Math.imul(h ^ ((x >>> 16) & 0xff), 0x01000193);
    h = Math.imul(h ^ ((x >>> 24) & 0xff), 0x01000193);
  };
  mix(e.index);
  mix(Math.floor(e.index / 0x100000000));
  mix(e.term);
  mix(e.type);
  const d = e.data;
  for (let i = 0; i < d.length; i++) h = Math.imul(h ^ d[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * A user's state machine under test. It must be deterministic: every node applies the same
 * entries, and checkConverged compares the nodes' digests.
 */
export interface UserStateMachine<R = unknown> {
  /** Applies one committed normal entry with a payload (in log order); returns its result. */
  apply(entry: AppliedEntry): R;
  /** The whole state as bytes, as of the last applied entry. */
  snapshot(): Uint8Array;
  /** Replaces the state with snapshot() bytes; empty bytes mean the initial state. */
  restore(data: Uint8Array): void;
  /** What checkConverged compares across nodes (default: the snapshot bytes). */
  digest?(): string;
}

/** Snapshot payload: the applied index and the chain hash at it (12 bytes), then the user's. */
export function encodeSnapshotData(index: Index, hash: number, user?: Uint8Array): Uint8Array {
  const b = new Uint8Array(12 + (user?.length ?? 0));
  if (user !== undefined) b.set(user, 12);
  const v = new DataView(b.buffer);
  v.setUint32(0, index % 0x100000000);
  v.setUint32(4, Math.floor(index / 0x100000000));
  v.setUint32(8, hash);
  return b;
}

export function decodeSnapshotData(data: Uint8Array): {
  index: Index;
  hash: number;
  user: Uint8Array;
} {
  if (data.length < 12) throw new Error(`bad snapshot data (${data.length} bytes)`);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return {
    index: v.getUint32(0) + v.getUint32(4) * 0x100000000,
    hash: v.getUint32(8),
    user: data.subarray(12),
  };
}

export class StateMachine {
  /** The index and chain hash the applied list starts after (a restored snapshot, or 0). */
  baseIndex: Index = 0;
  baseHash = 0;
  /** Applied entries: entries[i] has index baseIndex + 1 + i. Append-only between restores. */
  readonly entries: AppliedEntry[] = [];
  /** hashes[i] is the chain hash after entries[i]. */
  private readonly hashes: number[] = [];
  /** The configuration as of appliedIndex (what a snapshot taken now must carry). */
  confState: ConfState = newConfState();
  /** What the user's state machine returned for the last entry it applied. */
  lastResult: unknown = undefined;

  constructor(readonly user: UserStateMachine | null = null) {}

  get appliedIndex(): Index {
    return this.baseIndex + this.entries.length;
  }

  /** The chain hash of the state after applying index i (baseIndex <= i <= appliedIndex). */
  hashAt(i: Index): number {
    if (i === this.baseIndex) return this.baseHash;
    if (i < this.baseIndex || i > this.appliedIndex) {
      throw new Error(`no state hash for ${i} (have ${this.baseIndex}..${this.appliedIndex})`);
    }
    return this.hashes[i - this.baseIndex - 1]!;
  }

  get hash(): number {
    return this.hashAt(this.appliedIndex);
  }

  /** Applies the entry that must directly follow appliedIndex. */
  apply(e: Entry): AppliedEntry {
    if (e.index !== this.appliedIndex + 1) {
      throw new Error(`apply out of order: entry ${e.index} after applied ${this.appliedIndex}`);
    }
    const a: AppliedEntry = { index: e.index, term: e.term, type: e.type, data: e.data };
    this.hashes.push(chainHash(this.hash, a));
    this.entries.push(a);
    if (this.user !== null && a.type === EntryType.EntryNormal && a.data.length > 0) {
      this.lastResult = this.user.apply(a);
    }
    return a;
  }

  /** Resets to a snapshot's state. */
  restore(snap: Snapshot): void {
    const { index, hash, user } = decodeSnapshotData(snap.data);
    if (index !== snap.metadata.index) {
      throw new Error(`snapshot data index ${index} != metadata index ${snap.metadata.index}`);
    }
    this.baseIndex = index;
    this.baseHash = hash;
    this.entries.length = 0;
    this.hashes.length = 0;
    this.confState = cloneConfState(snap.metadata.confState);
    this.user?.restore(user);
  }

  /** The payload of a snapshot of the current state. */
  snapshotData(): Uint8Array {
    return encodeSnapshotData(this.appliedIndex, this.hash, this.user?.snapshot());
  }

  /** The user's digest (checkConverged), or null without a user state machine. */
  userDigest(): string | null {
    const u = this.user;
    if (u === null) return null;
    if (u.digest !== undefined) return u.digest();
    return Buffer.from(u.snapshot()).toString('base64');
  }

  /** The data of the applied normal entries that carry a payload, in order. */
  payloads(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const e of this.entries) {
      if (e.type === EntryType.EntryNormal && e.data.length > 0) out.push(e.data);
    }
    return out;
  }
}
