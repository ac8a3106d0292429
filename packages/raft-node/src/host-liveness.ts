// Host liveness: each tick a host sends every peer host one small ping (group 0 on the shared
// transport), and any message from a host counts as hearing from it. A peer not heard from
// for an election timeout is down (3 ticks if we hold no connection to it either): the
// quiesced groups it led wake and elect (quiesce.ts).
// Liveness is per host, not per group, so thousands of quiesced groups cost one ping per
// peer host per tick. A ping also carries how many groups its sender leads (in `commit`), for
// leader balancing (host-balance.ts).
import { MessageType, type NodeId, type Message, newMessage } from '@tsraft/raft-core';

/**
 * Ticks without a word after which a peer host we hold no connection to is down (before the
 * election timeout): a process that died on a live machine closes its sockets and refuses our
 * dials at once, and its groups need not wait a whole timeout. A host we are still connected
 * to (slow, or cut off without the connection noticing) gets the full timeout.
 */
const DISCONNECTED_TIMEOUT = 3;

/** lastHeard of a peer not heard from since we started. */
const NEVER = -1;

export class Liveness {
  private ticks = 0;
  /** The tick each peer host was last heard from; NEVER until it is (it is not up yet). */
  private readonly lastHeard = new Map<NodeId, number>();
  private readonly down = new Set<NodeId>();
  /** Leaderships each peer host reported in its last ping. */
  private readonly leads = new Map<NodeId, number>();
  /** What our pings report: the groups we lead (the host keeps the count). */
  leading: () => number = () => 0;

  constructor(
    private readonly self: NodeId,
    peers: readonly NodeId[],
    /** Ticks without a word before a peer host is down. */
    private readonly timeout: number,
    private readonly send: (ms: Message[]) => void,
    /** `seen`: heard from since we started, so it went silent (else it is not up yet). */
    private readonly onDown: (peer: NodeId, seen: boolean) => void,
  ) {
    // Every peer starts alive: a host that never answers is down after one timeout.
    for (const p of peers) if (p !== self) this.lastHeard.set(p, NEVER);
  }

  /** A peer host found down is heard from again. */
  onUp: (peer: NodeId) => void = () => {};
  /** Whether the transport holds an open connection to `peer` (asked of silent peers only). */
  connected: (peer: NodeId) => boolean = () => true;

  heard(peer: NodeId): void {
    if (!this.lastHeard.has(peer)) return;
    this.lastHeard.set(peer, this.ticks);
    if (this.down.delete(peer)) this.onUp(peer);
  }

  /** A ping from `peer`: alive, and leading `leads` groups. */
  ping(peer: NodeId, leads: number): void {
    if (!this.lastHeard.has(peer)) return;
    this.heard(peer);
    this.leads.set(peer, leads);
  }

  /** The leaderships `peer` last reported (0 before its first ping). */
  leadsOf(peer: NodeId): number {
    return this.leads.get(peer) ?? 0;
  }

  isDown(peer: NodeId): boolean {
    return this.down.has(peer);
  }

  tick(): void {
    this.ticks++;
    const pings: Message[] = [];
    const leading = this.leading();
    for (const [peer, at] of this.lastHeard) {
      pings.push(
        newMessage({ type: MessageType.MsgHeartbeat, from: this.self, to: peer, commit: leading }),
      );
      if (!this.down.has(peer) && this.silentTooLong(peer, this.ticks - Math.max(at, 0))) {
        this.down.add(peer);
        this.onDown(peer, at !== NEVER);
      }
    }
    this.send(pings);
  }

  private silentTooLong(peer: NodeId, silent: number): boolean {
    if (silent > this.timeout) return true;
    return silent > Math.min(DISCONNECTED_TIMEOUT, this.timeout) && !this.connected(peer);
  }

  dead(): NodeId[] {
    return [...this.down].sort((a, b) => a - b);
  }
}
