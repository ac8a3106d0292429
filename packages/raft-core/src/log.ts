// The raft log: the stable part in Storage followed by the Unstable part in memory, with the
// commit and apply cursors. Invariant: applied <= applying <= committed <= lastIndex().
import { ErrCompacted, ErrLogTemporarilyUnavailable, ErrUnavailable, RaftError } from './errors.js';
import type { Logger } from './logger.js';
import { Unstable } from './log-unstable.js';
import {
  EMPTY_ENTRIES,
  type Entry,
  type Index,
  type Snapshot,
  type Term,
  entsSize,
  limitSize,
} from './raftpb.js';
import type { FetchContext, Storage } from './storage.js';

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** The highest index known to be committed on a quorum. */
  committed: Index;
  /** The highest index handed to the application to apply (not yet confirmed applied). */
  applying: Index;
  /** The highest index the application confirmed applied. */
  applied: Index;
  /** Bound on the bytes of committed entries handed out to apply but not yet applied. */
  readonly maxApplyingEntsSize: number;
  applyingEntsSize = 0;
  /** Set when applyingEntsSize reached its bound, or an apply fetch is outstanding. */
  applyingEntsPaused = false;
  /** An entries() read for applying is being loaded by the storage. */
  applyFetchPending = false;

  constructor(
    storage: Storage,
    readonly logger: Logger,
    maxApplyingEntsSize = Number.POSITIVE_INFINITY,
  ) {
    this.storage = storage;
    const firstIndex = storage.firstIndex();
    const lastIndex = storage.lastIndex();
    this.unstable = new Unstable(lastIndex + 1);
    // Everything in Storage up to its first index is committed and applied (a snapshot).
    this.committed = firstIndex - 1;
    this.applying = firstIndex - 1;
    this.applied = firstIndex - 1;
    this.maxApplyingEntsSize = maxApplyingEntsSize;
  }

  toString(): string {
    return `committed=${this.committed}, applied=${this.applied}, applying=${this.applying}, unstable.offset=${this.unstable.offset}, unstable.offsetInProgress=${this.unstable.offsetInProgress}, len(unstable.Entries)=${this.unstable.entries.length}`;
  }

  /**
   * Appends the entries of a MsgApp whose previous entry is (index, logTerm), if the log
   * matches there. Returns the index of the last new entry, or undefined if it did not match.
   * Commits up to min(committed, last new index).
   */
  maybeAppend(
    index: Index,
    logTerm: Term,
    committed: Index,
    ents: readonly Entry[],
  ): Index | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNewIndex = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new RaftError(
          'RAFT_INVARIANT',
          `entry ${ci} conflict with committed entry [committed(${this.committed})]`,
        );
      }
      const offset = index + 1;
      this.append(ci === offset ? ents : ents.slice(ci - offset));
    }
    this.commitTo(Math.min(committed, lastNewIndex));
    return lastNewIndex;
  }

  /** Appends entries to the unstable log (truncating any conflicting tail). */
  append(ents: readonly Entry[]): Index {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) {
      throw new RaftError(
        'RAFT_INVARIANT',
        `after(${after}) is out of range [committed(${this.committed})]`,
      );
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry in ents whose term differs from ours at that index (or that
   * we do not have), or 0 if every entry is already in the log.
   */
  findConflict(ents: readonly Entry[]): Index {
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (!this.matchTerm(e.index, e.term)) {
        if (e.index <= this.lastIndex()) {
          this.logger.info(
            { index: e.index, existing: this.zeroTermOnOutOfBounds(e.index), conflicting: e.term },
            'found conflict',
          );
        }
        return e.index;
      }
    }
    return 0;
  }

  /**
   * The largest (index, term) with index <= `index` and term <= `term` in our log: where the
   * logs may match. Returns term 0 when that term is unknown (compacted).
   */
  findConflictByTerm(index: Index, term: Term): { index: Index; term: Term } {
    for (; index > 0; index--) {
      const ourTerm = this.maybeTerm(index);
      // Compacted or unavailable: a possible match of unknown term.
      if (ourTerm === undefined) return { index, term: 0 };
      if (ourTerm <= term) return { index, term: ourTerm };
    }
    return { index: 0, term: 0 };
  }

  nextUnstableEnts(): Entry[] {
    return this.unstable.nextEntries();
  }

  hasNextUnstableEnts(): boolean {
    return this.unstable.hasNextEntries();
  }

  /** Whether there are unstable entries, handed out for writing or not. */
  hasNextOrInProgressUnstableEnts(): boolean {
    return this.unstable.entries.length > 0;
  }

  /**
   * The committed entries to apply next, bounded by maxApplyingEntsSize. With allowUnstable,
   * entries not yet durable locally may be applied (the synchronous Ready contract persists
   * them first).
   */
  nextCommittedEnts(allowUnstable: boolean): Entry[] {
    if (this.applyingEntsPaused || this.applyFetchPending) return EMPTY_ENTRIES;
    if (this.hasNextOrInProgressSnapshot()) return EMPTY_ENTRIES;
    const lo = this.applying + 1;
    const hi = this.maxAppliableIndex(allowUnstable) + 1;
    if (lo >= hi) return EMPTY_ENTRIES;
    const maxSize = this.maxApplyingEntsSize - this.applyingEntsSize;
    try {
      return this.slice(lo, hi, maxSize, APPLY_FETCH);
    } catch (err) {
      if (err instanceof ErrLogTemporarilyUnavailable) {
        this.applyFetchPending = true;
        return EMPTY_ENTRIES;
      }
      throw err;
    }
  }

  hasNextCommittedEnts(allowUnstable: boolean): boolean {
    if (this.applyingEntsPaused || this.applyFetchPending) return false;
    if (this.hasNextOrInProgressSnapshot()) return false;
    return this.applying + 1 < this.maxAppliableIndex(allowUnstable) + 1;
  }

  private maxAppliableIndex(allowUnstable: boolean): Index {
    const hi = this.committed;
    if (allowUnstable) return hi;
    return Math.min(hi, this.unstable.offset - 1);
  }

  nextUnstableSnapshot(): Snapshot | null {
    return this.unstable.nextSnapshot();
  }

  hasNextUnstableSnapshot(): boolean {
    return this.unstable.nextSnapshot() !== null;
  }

  hasNextOrInProgressSnapshot(): boolean {
    return this.unstable.snapshot !== null;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): Index {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): Index {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  commitTo(toCommit: Index): void {
    if (this.committed < toCommit) {
      if (this.lastIndex() < toCommit) {
        throw new RaftError(
          'RAFT_INVARIANT',
          `tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`,
        );
      }
      this.committed = toCommit;
    }
  }

  /** The application applied up to i; `size` bytes of applying entries are released. */
  appliedTo(i: Index, size: number): void {
    if (this.committed < i || i < this.applied) {
      throw new RaftError(
        'RAFT_INVARIANT',
        `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`,
      );
    }
    this.applied = i;
    if (this.applying < i) this.applying = i;
    this.applyingEntsSize = this.applyingEntsSize > size ? this.applyingEntsSize - size : 0;
    this.applyingEntsPaused = this.applyingEntsSize >= this.maxApplyingEntsSize;
  }

  /** Entries up to i (of `size` bytes) were handed to the application to apply. */
  acceptApplying(i: Index, size: number, allowUnstable: boolean): void {
    if (this.committed < i) {
      throw new RaftError(
        'RAFT_INVARIANT',
        `applying(${i}) is out of range [committed(${this.committed})]`,
      );
    }
    this.applying = i;
    this.applyingEntsSize += size;
    // Pause when the size budget is spent, or when the slice was cut short by it (the next
    // slice would be refused anyway until something is applied).
    this.applyingEntsPaused =
      this.applyingEntsSize >= this.maxApplyingEntsSize ||
      i < this.maxAppliableIndex(allowUnstable);
  }

  stableTo(index: Index, term: Term): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(i: Index): void {
    this.unstable.stableSnapTo(i);
  }

  acceptUnstable(): void {
    this.unstable.acceptInProgress();
  }

  lastTerm(): Term {
    return this.term(this.lastIndex());
  }

  /**
   * The term of entry i. Valid for [firstIndex()-1, lastIndex()]: the entry just before the
   * first is compacted, but its term is kept for matching appends. Throws ErrCompacted or
   * ErrUnavailable outside that range.
   */
  term(i: Index): Term {
    const t = this.maybeTerm(i);
    if (t !== undefined) return t;
    if (i + 1 < this.firstIndex()) throw new ErrCompacted();
    throw new ErrUnavailable();
  }

  /**
   * The term of entry i, or undefined outside [firstIndex()-1, lastIndex()]. The hot paths use
   * this: a miss is routine there (e.g. every new entry of an append), and throwing is costly.
   */
  maybeTerm(i: Index): Term | undefined {
    // The unstable part first: the common case, and it needs no Storage call.
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    if (i + 1 < this.firstIndex() || i > this.lastIndex()) return undefined;
    try {
      return this.storage.term(i);
    } catch (err) {
      // Compacted between the bounds check and the read.
      if (err instanceof ErrCompacted || err instanceof ErrUnavailable) return undefined;
      throw err;
    }
  }

  /** The term of entry i, or 0 where it is compacted or unavailable. */
  zeroTermOnOutOfBounds(i: Index): Term {
    return this.maybeTerm(i) ?? 0;
  }

  /** Entries from i to the end, at most maxSize bytes (at least one entry). */
  entries(i: Index, maxSize: number, ctx?: FetchContext): Entry[] {
    const last = this.lastIndex();
    if (i > last) return [];
    return this.slice(i, last + 1, maxSize, ctx);
  }

  /** The whole log (tests only). */
  allEntries(): Entry[] {
    try {
      return this.entries(this.firstIndex(), Number.POSITIVE_INFINITY);
    } catch (err) {
      // The log may be compacted concurrently with this call: try again.
      if (err instanceof ErrCompacted) return this.allEntries();
      throw err;
    }
  }

  /**
   * Whether a candidate whose last entry is (lastIndex, lastTerm) is at least as up to date
   * as this log (§5.4.1): a later last term, or the same term and at least as long.
   */
  isUpToDate(lastIndex: Index, lastTerm: Term): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  matchTerm(i: Index, term: Term): boolean {
    return this.maybeTerm(i) === term;
  }

  /**
   * Commits up to maxIndex if that entry is of term `term` (§5.4.2: a leader commits only
   * entries of its own term by counting replicas).
   */
  maybeCommit(maxIndex: Index, term: Term): boolean {
    if (maxIndex > this.committed && this.zeroTermOnOutOfBounds(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.logger.info(
      { index: s.metadata.index, term: s.metadata.term },
      'log starts to restore snapshot',
    );
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /**
   * Entries [lo, hi), at most maxSize bytes but at least one entry. Throws ErrCompacted if lo
   * was compacted, and ErrLogTemporarilyUnavailable if Storage is loading them.
   */
  slice(lo: Index, hi: Index, maxSize: number, ctx?: FetchContext): Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    if (lo === hi) return [];
    const uOffset = this.unstable.offset;
    if (lo >= uOffset) return limitSize(this.unstable.slice(lo, hi), maxSize);
    const cut = Math.min(hi, uOffset);
    let ents: Entry[];
    try {
      ents = this.storage.entries(lo, cut, maxSize, ctx);
    } catch (err) {
      if (err instanceof ErrCompacted || err instanceof ErrLogTemporarilyUnavailable) throw err;
      if (err instanceof ErrUnavailable) {
        throw new RaftError('RAFT_INVARIANT', `entries[${lo}:${cut}) is unavailable from storage`);
      }
      throw err;
    }
    if (hi <= uOffset) return ents;
    // Storage cut the slice short: the size limit is reached.
    if (ents.length < cut - lo) return ents;
    const size = entsSize(ents);
    if (size >= maxSize) return ents;
    const unstable = limitSize(this.unstable.slice(uOffset, hi), maxSize - size);
    // limitSize keeps one entry even if it is too big; here that entry does not fit.
    if (unstable.length === 1 && size + entsSize(unstable) > maxSize) return ents;
    return ents.concat(unstable);
  }

  private mustCheckOutOfBounds(lo: Index, hi: Index): void {
    if (lo > hi) throw new RaftError('RAFT_INVARIANT', `invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw new ErrCompacted();
    const last = this.lastIndex();
    if (hi > last + 1) {
      throw new RaftError('RAFT_INVARIANT', `slice[${lo},${hi}) out of bound [${fi},${last}]`);
    }
  }
}

const APPLY_FETCH: FetchContext = { why: 'apply', to: 0 };
