// Pending proposals (and conf changes) of this node, matched to log entries by the request id
// in the entry, whoever appended them (we as leader, or the leader we forwarded to).
//
// A proposal's fate is known once its entry is committed: the entry we saw appended at
// (index, term) is still in our log and our commit index reached index. Until then:
// - if leadership changes (a new term or leader: a new "epoch") it is rejected as
//   indeterminate: the entry may be committed by a later leader, or lost;
// - if a new leader overwrites the entry in our log, likewise indeterminate;
// - if the leader turned a conf change into an empty entry (refused it), it is dropped.
import {
  type Entry,
  EntryType,
  ErrProposalDropped,
  decodeConfChange,
  decodeConfChangeV2,
} from '@tsraft/raft-core';
import { type Session, decodeConfContext, ownSeq } from './envelope.js';
import { ErrProposalIndeterminate } from './errors.js';

interface Pending {
  /** The leadership epoch (term and leader) the request was submitted in. */
  term0: number;
  lead0: number;
  /** Where the entry is in our log (0 until seen), and its term. */
  index: number;
  term: number;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export class ProposalTracker {
  private nextSeq = 1;
  private readonly pending = new Map<number, Pending>();
  /** Pending requests whose entry we have seen appended, by index. */
  private readonly byIndex = new Map<number, number>();
  /** The highest index in byIndex (or above): appends starting above it overwrite nothing. */
  private maxAppended = 0;

  constructor(private readonly session: Session) {}

  get size(): number {
    return this.pending.size;
  }

  /** Registers a request submitted while `lead` led in `term`; returns its sequence number. */
  add(
    term: number,
    lead: number,
    resolve: (v: unknown) => void,
    reject: (e: Error) => void,
  ): number {
    const seq = this.nextSeq;
    this.nextSeq = seq === 0xffffffff ? 1 : seq + 1;
    this.pending.set(seq, { term0: term, lead0: lead, index: 0, term: 0, resolve, reject });
    return seq;
  }

  /** We appended the entry ourselves (as leader) at (index, term). */
  appendedAt(seq: number, index: number, term: number): void {
    const p = this.pending.get(seq);
    if (p === undefined) return;
    p.index = index;
    p.term = term;
    this.byIndex.set(index, seq);
    if (index > this.maxAppended) this.maxAppended = index;
  }

  /** Entries newly written to our log (a Ready's entries), in order. */
  onAppend(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    if (first <= this.maxAppended) this.checkOverwrites(entries, first);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const seq = this.seqOf(e);
      if (seq < 0) continue;
      const p = this.pending.get(seq);
      if (p === undefined || p.index === e.index) continue;
      p.index = e.index;
      p.term = e.term;
      this.byIndex.set(e.index, seq);
      if (e.index > this.maxAppended) this.maxAppended = e.index;
    }
  }

  private checkOverwrites(entries: readonly Entry[], first: number): void {
    const last = entries[entries.length - 1]!.index;
    for (const [index, seq] of this.byIndex) {
      if (index < first) continue;
      const p = this.pending.get(seq)!;
      const e = index <= last ? entries[index - first]! : undefined;
      if (e !== undefined && this.seqOf(e) === seq) continue;
      this.byIndex.delete(index);
      this.pending.delete(seq);
      if (e !== undefined && e.term === p.term && e.type === EntryType.EntryNormal) {
        // Same leader, same slot, other content: the leader refused our conf change.
        p.reject(new ErrProposalDropped('conf change refused by the leader'));
      } else {
        p.reject(new ErrProposalIndeterminate('proposal overwritten by a new leader'));
      }
    }
  }

  /**
   * Leadership changed (now `lead` in `term`): requests of other epochs not known to be
   * committed (at or below `commit`) become indeterminate. Losing sight of another node's
   * leadership within its term is no new epoch: a follower whose election clock ran out
   * (a pre-vote, which fails while the leader holds its lease) still follows it in that term,
   * and what it forwarded may yet commit; only a new term, or another leader, settles it.
   * Our own leadership lost (`self` stepped down) is one: nothing of ours commits in that term.
   */
  onEpoch(term: number, lead: number, commit: number, self: number): void {
    for (const [seq, p] of this.pending) {
      if (p.term0 === term && (p.lead0 === lead || (lead === 0 && p.lead0 !== self))) continue;
      if (p.index > 0 && p.index <= commit) continue; // committed: it will be applied
      this.drop(seq, p);
      p.reject(new ErrProposalIndeterminate());
    }
  }

  /** The entry of request `seq` was applied with `result`. */
  applied(seq: number, result: unknown): void {
    const p = this.pending.get(seq);
    if (p === undefined) return;
    this.drop(seq, p);
    p.resolve(result);
  }

  /** Request `seq` failed with `err`. */
  reject(seq: number, err: Error): void {
    const p = this.pending.get(seq);
    if (p === undefined) return;
    this.drop(seq, p);
    p.reject(err);
  }

  /**
   * A snapshot up to `index` replaced our log: requests whose entry it covers were applied,
   * but their results are not known here.
   */
  onSnapshot(index: number): void {
    for (const [seq, p] of this.pending) {
      if (p.index === 0 || p.index > index) continue;
      this.drop(seq, p);
      p.reject(
        new ErrProposalIndeterminate(
          'entry covered by an installed snapshot; outcome unknown here',
        ),
      );
    }
  }

  /** Removes a request (the caller settles it). Returns whether it was still pending. */
  remove(seq: number): boolean {
    const p = this.pending.get(seq);
    if (p === undefined) return false;
    this.drop(seq, p);
    return true;
  }

  rejectAll(err: (p: { index: number }) => Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    this.byIndex.clear();
    for (const p of all) p.reject(err(p));
  }

  /** Our own request id in an entry, or -1. */
  seqOf(e: Entry): number {
    if (e.type === EntryType.EntryNormal) return ownSeq(e.data, this.session);
    const cc =
      e.type === EntryType.EntryConfChange ? decodeConfChange(e.data) : decodeConfChangeV2(e.data);
    const ctx = decodeConfContext(cc.context);
    return ctx.session === this.session.hex && typeof ctx.seq === 'number' ? ctx.seq : -1;
  }

  private drop(seq: number, p: Pending): void {
    this.pending.delete(seq);
    if (p.index > 0 && this.byIndex.get(p.index) === seq) this.byIndex.delete(p.index);
  }
}
