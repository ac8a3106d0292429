// Host liveness: each tick a host sends every peer host one small ping (group 0 on the shared
// transport), and any message from a host counts as hearing from it. A peer not heard from
// for an election timeout is down: the quiesced groups it led wake and elect (quiesce.ts).
// Liveness is per host, not per group, so thousands of quiesced groups cost one ping per
// peer host per tick.
import { MessageType, type NodeId, type Message, newMessage } from '@tsraft/raft-core';

export class Liveness {
  private ticks = 0;
  /** The tick each peer host was last heard from. */
  private readonly lastHeard = new Map<NodeId, number>();
  private readonly down = new Set<NodeId>();

  constructor(
    private readonly self: NodeId,
    peers: readonly NodeId[],
    /** Ticks without a word before a peer host is down. */
    private readonly timeout: number,
    private readonly send: (ms: Message[]) => void,
    private readonly onDown: (peer: NodeId) => void,
  ) {
    // Every peer starts alive: a host that never answers is down after one timeout.
    for (const p of peers) if (p !== self) this.lastHeard.set(p, 0);
  }

  heard(peer: NodeId): void {
    if (!this.lastHeard.has(peer)) return;
    this.lastHeard.set(peer, this.ticks);
    this.down.delete(peer);
  }

  tick(): void {
    this.ticks++;
    const pings: Message[] = [];
    for (const [peer, at] of this.lastHeard) {
      pings.push(newMessage({ type: MessageType.MsgHeartbeat, from: this.self, to: peer }));
      if (this.ticks - at > this.timeout && !this.down.has(peer)) {
        this.down.add(peer);
        this.onDown(peer);
      }
    }
    this.send(pings);
  }

  dead(): NodeId[] {
    return [...this.down].sort((a, b) => a - b);
  }
}
