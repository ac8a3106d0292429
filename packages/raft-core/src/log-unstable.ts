// The part of the log not yet written to Storage: an optional incoming snapshot and the
// entries after it. Entries leave once the application reports them stable.
import { dropFront } from './arrays.js';
import { EMPTY_ENTRIES, type Entry, type Index, type Snapshot, type Term } from './raftpb.js';

export class Unstable {
  /** An incoming snapshot, if any; it precedes every entry here. */
  snapshot: Snapshot | null = null;
  /** entries[i] has index offset + i. */
  entries: Entry[] = [];
  offset: Index;
  /** Whether the snapshot was handed to the application to write (not yet reported done). */
  snapshotInProgress = false;
  /**
   * Entries with index < offsetInProgress were handed to the application to write.
   * Invariant: offset <= offsetInProgress <= offset + entries.length.
   */
  offsetInProgress: Index;

  constructor(offset: Index) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  /** The first index in the log if there is an unstable snapshot, else undefined. */
  maybeFirstIndex(): Index | undefined {
    return this.snapshot !== null ? this.snapshot.metadata.index + 1 : undefined;
  }

  /** The last index if there are unstable entries or a snapshot, else undefined. */
  maybeLastIndex(): Index | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot !== null ? this.snapshot.metadata.index : undefined;
  }

  /** The term of entry i if this part of the log knows it, else undefined. */
  maybeTerm(i: Index): Term | undefined {
    if (i < this.offset) {
      const s = this.snapshot;
      return s !== null && s.metadata.index === i ? s.metadata.term : undefined;
    }
    const n = i - this.offset;
    return n < this.entries.length ? this.entries[n]!.term : undefined;
  }

  /** The entries not yet handed to the application for writing (a fresh array, or the
   * shared frozen empty one). */
  nextEntries(): Entry[] {
    const inProgress = this.offsetInProgress - this.offset;
    if (this.entries.length === inProgress) return EMPTY_ENTRIES;
    return this.entries.slice(inProgress);
  }

  hasNextEntries(): boolean {
    return this.offsetInProgress - this.offset < this.entries.length;
  }

  /** The snapshot if it was not yet handed to the application for writing. */
  nextSnapshot(): Snapshot | null {
    return this.snapshot === null || this.snapshotInProgress ? null : this.snapshot;
  }

  /** Marks everything here as handed to the application for writing. */
  acceptInProgress(): void {
    if (this.entries.length > 0) {
      this.offsetInProgress = this.entries[this.entries.length - 1]!.index + 1;
    }
    if (this.snapshot !== null) this.snapshotInProgress = true;
  }

  /**
   * Drops entries up to (index, term) once they are durable, unless the entry at `index` was
   * since replaced (its term differs): then a newer write of it is still to come.
   */
  stableTo(index: Index, term: Term): void {
    const gt = this.maybeTerm(index);
    if (gt === undefined || index < this.offset) return; // unknown or already stable
    if (gt !== term) return; // replaced by a later append; wait for that one
    const num = index + 1 - this.offset;
    // In place: arrays handed out are copies (see slice and nextEntries).
    dropFront(this.entries, num);
    this.offset = index + 1;
    if (this.offsetInProgress < this.offset) this.offsetInProgress = this.offset;
  }

  stableSnapTo(i: Index): void {
    if (this.snapshot !== null && this.snapshot.metadata.index === i) {
      this.snapshot = null;
      this.snapshotInProgress = false;
    }
  }

  /** Replaces everything with an incoming snapshot. */
  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  /** Appends ents, first dropping any entries at or after ents[0].index (they conflict). */
  truncateAndAppend(ents: readonly Entry[]): void {
    const fromIndex = ents[0]!.index;
    const end = this.offset + this.entries.length;
    if (fromIndex === end) {
      // Plain append: the common case. Arrays handed out are copies, so push is safe.
      const e = this.entries;
      for (let i = 0; i < ents.length; i++) e.push(ents[i]!);
    } else if (fromIndex <= this.offset) {
      // Replaces all unstable entries (and possibly the stable tail of Storage).
      this.entries = ents.slice();
      this.offset = fromIndex;
      this.offsetInProgress = this.offset;
    } else {
      // Keeps the prefix before fromIndex, drops the rest.
      const keep = this.entries.slice(0, fromIndex - this.offset);
      for (let i = 0; i < ents.length; i++) keep.push(ents[i]!);
      this.entries = keep;
      if (this.offsetInProgress > fromIndex) this.offsetInProgress = fromIndex;
    }
  }

  /** Entries [lo, hi); the caller checks the bounds. */
  slice(lo: Index, hi: Index): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
