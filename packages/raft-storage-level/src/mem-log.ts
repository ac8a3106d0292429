// What RawNode reads of the log, in memory: the term of every uncompacted entry, and the
// payloads of the newest ones. Payloads are dropped from the front ("evicted") when a byte
// budget is exceeded, but only of committed entries, which never change again; an evicted
// entry is read back from the database by the caller.
import { type Entry, type Index, type Term, entrySize } from '@tsraft/raft-core';
import type { LogStart } from './records.js';

// Dropped slots at the front are cut away once there are this many and they are at least
// half the arrays, so compaction is amortized O(1) per entry and memory stays at most about
// twice the live log.
const RESLICE_AT = 1024;

export class MemLog {
  /** Index and term of the last compacted entry: firstIndex() - 1. */
  private offset: Index;
  private offsetTerm: Term;
  // Entry i (offset < i <= lastIndex) is at position head + (i - offset - 1).
  private terms: Term[] = [];
  private ents: (Entry | undefined)[] = [];
  private head = 0;
  // Invariant: entries in [cachedFrom, lastIndex] have their payload in `ents`, those below
  // only their term; cachedBytes is the entrySize sum of the cached ones.
  private cachedFrom: Index;
  private cachedBytes = 0;

  constructor(
    start: LogStart,
    private readonly maxCachedBytes: number,
  ) {
    this.offset = start.index;
    this.offsetTerm = start.term;
    this.cachedFrom = start.index + 1;
  }

  get start(): LogStart {
    return { index: this.offset, term: this.offsetTerm };
  }

  firstIndex(): Index {
    return this.offset + 1;
  }

  lastIndex(): Index {
    return this.offset + this.terms.length - this.head;
  }

  /** The term of entry i, for offset <= i <= lastIndex (the caller checks the range). */
  term(i: Index): Term {
    return i === this.offset ? this.offsetTerm : this.terms[this.head + i - this.offset - 1]!;
  }

  /** Entry i if its payload is in memory, undefined if it was evicted. */
  entry(i: Index): Entry | undefined {
    return i >= this.cachedFrom ? this.ents[this.head + i - this.offset - 1] : undefined;
  }

  /**
   * Appends ents[from..], which start at an index in [firstIndex, lastIndex + 1] and are
   * consecutive; entries at and after that index are replaced (truncated on conflict).
   */
  append(ents: readonly Entry[], from = 0): void {
    if (from >= ents.length) return;
    const at = ents[from]!.index;
    const keep = this.head + at - this.offset - 1;
    for (let i = Math.max(at, this.cachedFrom); i <= this.lastIndex(); i++) {
      this.cachedBytes -= entrySize(this.ents[this.head + i - this.offset - 1]!);
    }
    if (this.cachedFrom > at) this.cachedFrom = at;
    this.terms.length = keep;
    this.ents.length = keep;
    for (let i = from; i < ents.length; i++) {
      const e = ents[i]!;
      this.terms.push(e.term);
      this.ents.push(e);
      this.cachedBytes += entrySize(e);
    }
  }

  /** Drops entries up to and including i (offset < i <= lastIndex). */
  compact(i: Index): void {
    const term = this.term(i);
    for (let j = this.offset + 1; j <= i; j++) {
      const p = this.head + j - this.offset - 1;
      if (j >= this.cachedFrom) this.cachedBytes -= entrySize(this.ents[p]!);
      this.ents[p] = undefined; // let the payload go now, not at the next reslice
    }
    this.head += i - this.offset;
    this.offset = i;
    this.offsetTerm = term;
    if (this.cachedFrom <= i) this.cachedFrom = i + 1;
    if (this.head >= RESLICE_AT && this.head * 2 >= this.terms.length) {
      this.terms = this.terms.slice(this.head);
      this.ents = this.ents.slice(this.head);
      this.head = 0;
    }
  }

  /** Empties the log: it now starts after `start` (a snapshot was applied). */
  reset(start: LogStart): void {
    this.offset = start.index;
    this.offsetTerm = start.term;
    this.terms = [];
    this.ents = [];
    this.head = 0;
    this.cachedFrom = start.index + 1;
    this.cachedBytes = 0;
  }

  /** Evicts the oldest payloads while over budget, never those after `upTo` (the commit). */
  evict(upTo: Index): void {
    const last = Math.min(upTo, this.lastIndex());
    while (this.cachedBytes > this.maxCachedBytes && this.cachedFrom <= last) {
      const p = this.head + this.cachedFrom - this.offset - 1;
      this.cachedBytes -= entrySize(this.ents[p]!);
      this.ents[p] = undefined;
      this.cachedFrom++;
    }
  }

  /** Counts for `LevelStorage.stats()`. */
  stats(): { entries: number; cachedEntries: number; cachedBytes: number } {
    const last = this.lastIndex();
    return {
      entries: last - this.offset,
      cachedEntries: last - this.cachedFrom + 1,
      cachedBytes: this.cachedBytes,
    };
  }
}
