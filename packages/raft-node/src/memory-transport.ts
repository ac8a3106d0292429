// An in-process transport for tests: RaftNodes of one MemoryNetwork reach each other by
// address, with no sockets. Messages are delivered on a later turn of the event loop, in order
// per pair; snapshots stream from the sender's source into the receiver's sink as over TCP.
// Links can be cut (both directions) to partition nodes, and messages lost at random.
import type { Message, NodeId } from '@tsraft/raft-core';
import { MessageType } from '@tsraft/raft-core';
import type { TransportStats } from '@tsraft/raft-transport-tcp';
import type { NodeTransport, TransportFactory, TransportHooks } from './seams.js';

export class MemoryNetwork {
  private readonly byAddr = new Map<string, MemoryTransport>();
  private readonly cuts = new Set<string>();
  private nextPort = 1;
  private lossRate = 0;
  private random: () => number = Math.random;

  /** Pass as RaftNode's `transport` option. `listen` may end in ":0" for a fresh address. */
  readonly transport: TransportFactory = (hooks) => new MemoryTransport(this, hooks);

  /** Cuts the link between two nodes (both directions) until `heal`. */
  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(linkKey(a, b));
  }

  heal(a: NodeId, b: NodeId): void {
    this.cuts.delete(linkKey(a, b));
  }

  /**
   * Loses each message (snapshots aside) with probability `rate` from now on (0: none);
   * `random` draws (a seeded one replays a run's losses, as far as timing allows).
   */
  loss(rate: number, random: () => number = Math.random): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`loss rate ${rate} is not in [0, 1]`);
    this.lossRate = rate;
    this.random = random;
  }

  /** @internal Whether to lose a message now. */
  lose(): boolean {
    return this.lossRate > 0 && this.random() < this.lossRate;
  }

  /** @internal */
  bind(t: MemoryTransport, listen: string): string {
    const addr = listen.endsWith(':0') ? `${listen.slice(0, -2)}:${this.nextPort++}` : listen;
    if (this.byAddr.has(addr)) throw new Error(`memory transport: ${addr} is in use`);
    this.byAddr.set(addr, t);
    return addr;
  }

  /** @internal */
  unbind(addr: string): void {
    this.byAddr.delete(addr);
  }

  /** @internal The transport at `addr` if the link from `from` to it is up. */
  reach(from: NodeId, addr: string): MemoryTransport | null {
    const t = this.byAddr.get(addr);
    if (t === undefined || this.cuts.has(linkKey(from, t.id))) return null;
    return t;
  }
}

function linkKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

class MemoryTransport implements NodeTransport {
  private bound: string | null = null;
  private readonly peers = new Map<NodeId, string>();
  private readonly removed = new Set<NodeId>();
  private running = false;
  private dropped = 0;

  constructor(
    private readonly net: MemoryNetwork,
    private readonly hooks: TransportHooks,
  ) {}

  get id(): NodeId {
    return this.hooks.id;
  }

  get addr(): string | null {
    return this.bound;
  }

  async start(): Promise<void> {
    this.bound = this.net.bind(this, this.hooks.listen);
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.bound !== null) this.net.unbind(this.bound);
  }

  addPeer(id: NodeId, addr: string): void {
    this.peers.set(id, addr);
    this.removed.delete(id);
  }

  removePeer(id: NodeId): void {
    this.peers.delete(id);
  }

  markRemoved(id: NodeId): void {
    this.removePeer(id);
    this.removed.add(id);
  }

  send(messages: readonly Message[], group = 0): void {
    for (const m of messages) {
      const addr = this.peers.get(m.to);
      const to = this.running && addr !== undefined ? this.net.reach(this.id, addr) : null;
      if (to === null) {
        this.dropped++;
        if (m.type === MessageType.MsgSnap) this.report(m.to, 'failure', group);
        continue;
      }
      if (m.type === MessageType.MsgSnap) void this.sendSnapshot(to, m, group);
      else if (this.net.lose()) this.dropped++;
      else setImmediate(() => to.receive(this.id, m, group));
    }
  }

  /** @internal */
  receive(from: NodeId, m: Message, group: number): void {
    if (!this.running) return;
    if (this.removed.has(from)) {
      queueMicrotask(() =>
        this.net.reach(this.id, this.peers.get(from) ?? '')?.hooks.onRemoved(this.id),
      );
      return;
    }
    if (!this.peers.has(from) && !this.hooks.acceptUnknownPeers) return;
    this.hooks.onMessage(m, group);
  }

  private async sendSnapshot(to: MemoryTransport, m: Message, group: number): Promise<void> {
    let ok = false;
    try {
      const source = await this.hooks.snapshots.open(m, group);
      const sink = to.hooks.snapshots.receive(m, group);
      try {
        for await (const chunk of source) {
          // A receiver that stopped takes no more (as a closed TCP connection aborts it).
          if (!to.running) throw new Error('receiver stopped');
          await sink.write(new Uint8Array(chunk));
        }
        const got = await sink.finish();
        if (to.running && this.net.reach(this.id, to.addr ?? '') !== null) {
          to.receive(this.id, got, group);
          ok = true;
        }
      } catch (err) {
        sink.abort(err instanceof Error ? err : new Error(String(err)));
      } finally {
        source.close?.();
      }
    } catch {
      ok = false;
    }
    this.report(m.to, ok ? 'finish' : 'failure', group);
  }

  private report(peer: NodeId, status: 'finish' | 'failure', group: number): void {
    queueMicrotask(() => {
      if (this.running) this.hooks.onSnapshotStatus(peer, status, group);
    });
  }

  stats(): TransportStats {
    return {
      id: this.id,
      addr: this.bound,
      peers: [],
      inbound: { accepted: 0, rejected: {}, malformed: 0 },
      droppedUnknownPeer: this.dropped,
    };
  }
}
