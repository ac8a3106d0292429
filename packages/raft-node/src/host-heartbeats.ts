// Coalesced heartbeats (CockroachDB's): the plain heartbeats and heartbeat responses that the
// groups of a host send to one peer host during a turn of the event loop — all groups tick on
// the host's one timer, so their heartbeats come out together — travel as one group-0 message
// to that host, which hands each group its own again. In the message's context, a heartbeat
// is (group, term, commit) and a response (group, term), as u64s: 24 and 16 bytes instead of a
// framed message each. Heartbeats that carry a context (ReadIndex rounds, quiescing) are sent
// as they are.
import { type Message, MessageType, type NodeId, newMessage } from '@tsraft/raft-core';

/** Whether `m` may be folded into a coalesced message. */
export function coalescible(m: Message): boolean {
  return (
    (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgHeartbeatResp) &&
    m.context.length === 0
  );
}

interface Pending {
  heartbeats: number[]; // group, term, commit, ...
  responses: number[]; // group, term, ...
}

export class HeartbeatCoalescer {
  private readonly pending = new Map<NodeId, Pending>();
  private scheduled = false;
  /** Heartbeats and responses folded, and the messages they travelled in. */
  folded = 0;
  messages = 0;
  /** Heartbeats not sent: the group had sent that peer an append since (host-transport.ts). */
  skipped = 0;

  constructor(
    private readonly self: NodeId,
    private readonly send: (m: Message[]) => void,
  ) {}

  /** Takes a coalescible message of group `gid` (see coalescible). */
  add(gid: number, m: Message): void {
    let p = this.pending.get(m.to);
    if (p === undefined) {
      p = { heartbeats: [], responses: [] };
      this.pending.set(m.to, p);
    }
    if (m.type === MessageType.MsgHeartbeat) p.heartbeats.push(gid, m.term, m.commit);
    else p.responses.push(gid, m.term);
    this.folded++;
    if (!this.scheduled) {
      this.scheduled = true;
      // After this turn's loops ran: the heartbeats of every group ticked now go together.
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const out: Message[] = [];
    for (const [to, p] of this.pending) {
      if (p.heartbeats.length > 0) {
        out.push(
          newMessage({
            type: MessageType.MsgHeartbeat,
            from: this.self,
            to,
            context: encode(p.heartbeats),
          }),
        );
      }
      if (p.responses.length > 0) {
        out.push(
          newMessage({
            type: MessageType.MsgHeartbeatResp,
            from: this.self,
            to,
            context: encode(p.responses),
          }),
        );
      }
    }
    this.pending.clear();
    this.messages += out.length;
    if (out.length > 0) this.send(out);
  }
}

/** Each number as a u64, big-endian. */
function encode(xs: number[]): Uint8Array {
  const b = new Uint8Array(xs.length * 8);
  const v = new DataView(b.buffer);
  for (let i = 0; i < xs.length; i++) {
    v.setUint32(i * 8, Math.floor(xs[i]! / 2 ** 32));
    v.setUint32(i * 8 + 4, xs[i]! >>> 0);
  }
  return b;
}

/**
 * The messages a coalesced group-0 message stands for, by group: heartbeats or responses
 * from `m.from` to us. Null when `m` is not a coalesced message (a liveness ping).
 */
export function expand(m: Message): [number, Message][] | null {
  const c = m.context;
  const isHb = m.type === MessageType.MsgHeartbeat;
  if (c.length === 0 || (!isHb && m.type !== MessageType.MsgHeartbeatResp)) return null;
  const width = isHb ? 3 : 2;
  if (c.length % (8 * width) !== 0) return [];
  const v = new DataView(c.buffer, c.byteOffset, c.byteLength);
  const out: [number, Message][] = [];
  for (let at = 0; at < c.length; at += 8 * width) {
    const gid = u64(v, at);
    const term = u64(v, at + 8);
    if (!Number.isSafeInteger(gid) || gid <= 0 || !Number.isSafeInteger(term)) continue;
    const commit = isHb ? u64(v, at + 16) : 0;
    if (!Number.isSafeInteger(commit)) continue;
    out.push([gid, newMessage({ type: m.type, from: m.from, to: m.to, term, commit })]);
  }
  return out;
}

/**
 * The u64 at `at` (a function, not a closure per heartbeat: a host receiving thousands of
 * groups' heartbeats each tick made and named one for each).
 */
function u64(v: DataView, at: number): number {
  return v.getUint32(at) * 2 ** 32 + v.getUint32(at + 4);
}
