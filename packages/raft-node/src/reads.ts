// Pending linearizable reads (ReadIndex). A read learns its read index from a ReadState (the
// leader's commit index once it confirmed its leadership), then waits until this node has
// applied that far. Raft drops read requests silently when there is no leader, so requests
// without an answer are sent again after a while, and at once when a new leader is known.
import type { ReadState } from '@tsraft/raft-core';
import { type Session, encodeReadContext, readContextSeq } from './envelope.js';

interface PendingRead {
  ctx: Uint8Array;
  /** The read index once known, else -1. */
  index: number;
  /** The tick the request was last sent at. */
  sentAt: number;
  resolve(index: number): void;
  reject(err: Error): void;
}

export class ReadTracker {
  private nextSeq = 1;
  private readonly pending = new Map<number, PendingRead>();

  constructor(private readonly session: Session) {}

  get size(): number {
    return this.pending.size;
  }

  /** Registers a read; returns its sequence number and the context to send. */
  add(
    tick: number,
    resolve: (index: number) => void,
    reject: (e: Error) => void,
  ): { seq: number; ctx: Uint8Array } {
    const seq = this.nextSeq;
    this.nextSeq = seq === 0xffffffff ? 1 : seq + 1;
    const ctx = encodeReadContext(this.session, seq);
    this.pending.set(seq, { ctx, index: -1, sentAt: tick, resolve, reject });
    return { seq, ctx };
  }

  /** Read indexes arrived; reads whose index is applied already resolve at once. */
  onReadStates(states: readonly ReadState[], applied: number): void {
    for (const rs of states) {
      const seq = readContextSeq(rs.requestCtx, this.session);
      const p = this.pending.get(seq);
      if (p === undefined || p.index >= 0) continue;
      p.index = rs.index;
    }
    this.onApplied(applied);
  }

  onApplied(applied: number): void {
    for (const [seq, p] of this.pending) {
      if (p.index >= 0 && p.index <= applied) {
        this.pending.delete(seq);
        p.resolve(p.index);
      }
    }
  }

  /** Contexts of reads still waiting for their index and last sent before `before`. */
  resend(tick: number, before: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const p of this.pending.values()) {
      if (p.index < 0 && p.sentAt <= before) {
        p.sentAt = tick;
        out.push(p.ctx);
      }
    }
    return out;
  }

  remove(seq: number): boolean {
    return this.pending.delete(seq);
  }

  rejectAll(err: () => Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err());
  }
}
