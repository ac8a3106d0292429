// The read side of a raft log store, as RawNode calls it (synchronously), and MemoryStorage,
// the in-memory implementation used by tests, benchmarks and drivers that persist elsewhere.
import { ErrCompacted, ErrSnapOutOfDate, ErrUnavailable, ErrUsage } from './errors.js';
import {
  type ConfState,
  type Entry,
  type HardState,
  type Index,
  type Snapshot,
  type Term,
  emptyHardState,
  emptySnapshot,
  limitSize,
  newConfState,
  newEntry,
} from './raftpb.js';

export interface InitialState {
  hardState: HardState;
  confState: ConfState;
}

/**
 * Identifies an `entries()` call that the storage answered with ErrLogTemporarilyUnavailable.
 * The storage loads the entries in the background and then calls the function it was given
 * through `onEntriesLoaded` (see RawNode.onEntriesFetched), so the read is retried.
 */
export interface FetchContext {
  /** Why raft wanted the entries: 'append' (to send to `to`) or 'apply'. */
  readonly why: 'append' | 'apply';
  /** The peer the entries are for, when `why` is 'append'. */
  readonly to: number;
}

/**
 * What raft reads from the log store. All calls are synchronous: a durable store keeps what
 * raft reads in memory (or throws ErrLogTemporarilyUnavailable and reports back later).
 *
 * Errors are the typed classes of errors.ts: ErrCompacted when an index is below the first
 * available one, ErrUnavailable when it is above the last, ErrLogTemporarilyUnavailable (from
 * `entries` only) when the entries are being loaded, ErrSnapshotTemporarilyUnavailable (from
 * `snapshot` only) when a snapshot is being made.
 */
export interface Storage {
  /** The saved HardState and ConfState, read once when a RawNode starts. */
  initialState(): InitialState;
  /** Entries in [lo, hi), limited to maxSize bytes but always at least one when any exist. */
  entries(lo: Index, hi: Index, maxSize: number, context?: FetchContext): Entry[];
  /** The term of entry i, for i in [firstIndex()-1, lastIndex()]. */
  term(i: Index): Term;
  /** The index of the last entry in the log (or of the snapshot when the log is empty). */
  lastIndex(): Index;
  /** The index of the first entry that `entries` can return (snapshot index + 1). */
  firstIndex(): Index;
  /** The most recent snapshot. */
  snapshot(): Snapshot;
}

/**
 * An in-memory Storage. `ents[0]` is a dummy entry standing for the snapshot (its index and
 * term), so `ents[i - ents[0].index]` is entry i: firstIndex = ents[0].index + 1.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = emptyHardState();
  private snap: Snapshot = emptySnapshot();
  private ents: Entry[] = [newEntry({})];

  initialState(): InitialState {
    return { hardState: { ...this.hardState }, confState: this.snap.metadata.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = { term: hs.term, vote: hs.vote, commit: hs.commit };
  }

  entries(lo: Index, hi: Index, maxSize: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw new ErrCompacted();
    if (hi > this.lastIndex() + 1) {
      throw new ErrUnavailable(`entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    }
    // Only the dummy entry: nothing but the snapshot.
    if (this.ents.length === 1) throw new ErrUnavailable();
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  term(i: Index): Term {
    const offset = this.ents[0]!.index;
    if (i < offset) throw new ErrCompacted();
    if (i - offset >= this.ents.length) throw new ErrUnavailable();
    return this.ents[i - offset]!.term;
  }

  lastIndex(): Index {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  firstIndex(): Index {
    return this.ents[0]!.index + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole content with a snapshot (a follower installing one from its leader). */
  applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index <= this.snap.metadata.index) throw new ErrSnapOutOfDate();
    this.snap = snap;
    this.ents = [newEntry({ term: snap.metadata.term, index: snap.metadata.index })];
  }

  /**
   * Makes a snapshot at applied index i (the state machine's data `data` as of i) that later
   * `snapshot()` calls return. The log is left alone: call `compact` to drop the prefix.
   */
  createSnapshot(i: Index, confState: ConfState | undefined, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new ErrSnapOutOfDate();
    const offset = this.ents[0]!.index;
    if (i > this.lastIndex()) {
      throw new ErrUsage(`snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    }
    if (i < offset) throw new ErrCompacted(); // its term went with the compaction
    const cs = confState ?? this.snap.metadata.confState;
    this.snap = {
      data,
      metadata: { index: i, term: this.ents[i - offset]!.term, confState: cloneConfState(cs) },
    };
    return this.snap;
  }

  /** Discards every entry before index `compactIndex`; it must not exceed the applied index. */
  compact(compactIndex: Index): void {
    const offset = this.ents[0]!.index;
    if (compactIndex <= offset) throw new ErrCompacted();
    if (compactIndex > this.lastIndex()) {
      throw new ErrUsage(`compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    }
    const i = compactIndex - offset;
    const head = this.ents[i]!;
    const rest = this.ents.slice(i + 1);
    rest.unshift(newEntry({ index: head.index, term: head.term }));
    this.ents = rest;
  }

  /**
   * Appends entries, which must follow on from the log without a gap. Entries that conflict
   * with (overlap) the existing tail replace it; entries at or below the snapshot are ignored.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return; // all compacted away
    let start = 0;
    if (first > entries[0]!.index) start = first - entries[0]!.index;
    const offset = entries[start]!.index - this.ents[0]!.index;
    if (offset > this.ents.length) {
      throw new ErrUsage(
        `missing log entry [last: ${this.lastIndex()}, append at: ${entries[start]!.index}]`,
      );
    }
    const ents = this.ents;
    if (offset < ents.length) ents.length = offset; // truncate the conflicting tail
    for (let i = start; i < entries.length; i++) ents.push(entries[i]!);
  }
}

export function cloneConfState(cs: ConfState): ConfState {
  return newConfState({
    voters: [...cs.voters],
    learners: [...cs.learners],
    votersOutgoing: [...cs.votersOutgoing],
    learnersNext: [...cs.learnersNext],
    autoLeave: cs.autoLeave,
  });
}
