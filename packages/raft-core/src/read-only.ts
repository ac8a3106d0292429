// ReadIndex bookkeeping on the leader (Raft thesis §6.4): each read request remembers the
// commit index when it arrived and is released once a quorum confirms the leadership
// (ReadOnlySafe), or at once under a lease (ReadOnlyLeaseBased).
import type { Index, Message, NodeId } from './raftpb.js';

export enum ReadOnlyOption {
  /** Confirm leadership with a heartbeat round before serving each read. */
  Safe = 0,
  /**
   * Serve reads on the leader's lease, without a round trip. Relies on bounded clock drift;
   * requires checkQuorum.
   */
  LeaseBased = 1,
}

/** A read that is ready: the index to wait for before reading, and the request's context. */
export interface ReadState {
  index: Index;
  requestCtx: Uint8Array;
}

export interface ReadIndexStatus {
  req: Message;
  index: Index;
  /** Voters that confirmed the leadership for this request (the leader included). */
  acks: Map<NodeId, boolean>;
}

/** Request contexts are byte strings; as map keys they become binary strings. */
export function contextKey(ctx: Uint8Array): string {
  let s = '';
  for (let i = 0; i < ctx.length; i++) s += String.fromCharCode(ctx[i]!);
  return s;
}

export class ReadOnly {
  private pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  constructor(readonly option: ReadOnlyOption) {}

  /** Queues a read request `m` that arrived when the commit index was `index`. */
  addRequest(index: Index, m: Message): void {
    const key = contextKey(m.entries[0]!.data);
    if (this.pending.has(key)) return;
    this.pending.set(key, { index, req: m, acks: new Map() });
    this.queue.push(key);
  }

  /** Records that `id` confirmed the heartbeat round of `context`; returns its acks so far. */
  recvAck(id: NodeId, context: Uint8Array): Map<NodeId, boolean> | undefined {
    const rs = this.pending.get(contextKey(context));
    if (rs === undefined) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /**
   * Releases the request with context `ctx` and every request queued before it (a later
   * confirmation covers the earlier ones).
   */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const key = contextKey(ctx);
    const i = this.queue.indexOf(key);
    if (i < 0) return [];
    const released = this.queue.splice(0, i + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of released) {
      const rs = this.pending.get(k);
      if (rs === undefined)
        throw new Error('cannot find corresponding read state from pending map');
      this.pending.delete(k);
      out.push(rs);
    }
    return out;
  }

  /** The context of the newest pending request, to piggyback on the next heartbeat. */
  lastPendingRequestCtx(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1]!)!.req.entries[0]!.data;
  }

  pendingCount(): number {
    return this.queue.length;
  }
}
