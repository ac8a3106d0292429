// The simulated network's policy: which messages are lost, duplicated, delayed or reordered,
// and which links are cut. It makes decisions only; the Cluster owns the queue of messages in
// flight. All randomness comes from the cluster's Rng.
import type { NodeId } from '@tsraft/raft-core';
import type { Rng } from './prng.js';

export interface NetworkOptions {
  /** Probability that a message is lost (every link, unless overridden per link). */
  dropRate: number;
  /** Probability that a message is delivered twice. */
  dupRate: number;
  /**
   * Probability that a message gets an extra random delay and may be overtaken by later
   * messages on its link (links are otherwise in order, like connections).
   */
  reorderRate: number;
  /** Delivery delay in ticks, uniform in [minDelay, maxDelay] (0: within the same tick). */
  minDelay: number;
  maxDelay: number;
  /** The most extra ticks a reordered message is held back. */
  maxReorderDelay: number;
  /**
   * Deliver messages due at the same tick in random order rather than send order (across
   * links: each link stays in order, except for reordered messages).
   */
  shuffle: boolean;
  /**
   * Probability that a message lost to a cut link or a down node is reported to its sender
   * with reportUnreachable (as a transport whose connection broke would).
   */
  unreachableRate: number;
}

export const defaultNetworkOptions: NetworkOptions = {
  dropRate: 0,
  dupRate: 0,
  reorderRate: 0,
  minDelay: 0,
  maxDelay: 0,
  maxReorderDelay: 3,
  shuffle: false,
  unreachableRate: 0,
};

/**
 * Where a message goes: nowhere (with why), or deliveries after these delays (in ticks); a
 * reordered delivery may overtake or be overtaken by others on its link.
 */
export type Route =
  | { dropped: 'cut' | 'loss' }
  | { dropped: null; delays: number[]; reordered: boolean[] };

function linkKey(from: NodeId, to: NodeId): number {
  return from * 1_000_003 + to;
}

export class Network {
  readonly opts: NetworkOptions;
  /** Directed links that deliver nothing. */
  private readonly cutLinks = new Set<number>();
  /** Nodes cut off from everyone (including nodes added later). */
  private readonly isolated = new Set<NodeId>();
  /** Per-link loss rates overriding opts.dropRate. */
  private readonly linkDrop = new Map<number, number>();

  constructor(
    private readonly rng: Rng,
    opts: Partial<NetworkOptions> = {},
  ) {
    this.opts = { ...defaultNetworkOptions, ...opts };
  }

  /** Whether the directed link from -> to is cut. */
  isCut(from: NodeId, to: NodeId): boolean {
    if (this.isolated.size > 0 && (this.isolated.has(from) || this.isolated.has(to))) return true;
    return this.cutLinks.size > 0 && this.cutLinks.has(linkKey(from, to));
  }

  /** Cuts the link between a and b both ways. */
  cut(a: NodeId, b: NodeId): void {
    this.cutLinks.add(linkKey(a, b));
    this.cutLinks.add(linkKey(b, a));
  }

  /** Cuts only the direction from -> to (an asymmetric partition). */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.cutLinks.add(linkKey(from, to));
  }

  /** Restores the link between a and b both ways. */
  mend(a: NodeId, b: NodeId): void {
    this.cutLinks.delete(linkKey(a, b));
    this.cutLinks.delete(linkKey(b, a));
  }

  /** Splits `all` into groups that cannot talk to each other (symmetric). */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) {
        if (i === j) continue;
        for (const a of groups[i]!) for (const b of groups[j]!) this.cutOneWay(a, b);
      }
    }
  }

  isolate(id: NodeId): void {
    this.isolated.add(id);
  }

  /** Ends an isolation (cut links stay cut). */
  unisolate(id: NodeId): void {
    this.isolated.delete(id);
  }

  /** Restores every link and per-link loss rate (the global rates stay). */
  heal(): void {
    this.cutLinks.clear();
    this.isolated.clear();
    this.linkDrop.clear();
  }

  /** Sets the loss rate of the directed link from -> to. */
  setLinkDropRate(from: NodeId, to: NodeId, rate: number): void {
    this.linkDrop.set(linkKey(from, to), rate);
  }

  dropRate(from: NodeId, to: NodeId): number {
    if (this.linkDrop.size > 0) {
      const r = this.linkDrop.get(linkKey(from, to));
      if (r !== undefined) return r;
    }
    return this.opts.dropRate;
  }

  /** Decides the fate of one message sent now. */
  route(from: NodeId, to: NodeId): Route {
    if (this.isCut(from, to)) return { dropped: 'cut' };
    const rng = this.rng;
    const o = this.opts;
    if (rng.chance(this.dropRate(from, to))) return { dropped: 'loss' };
    const copies = rng.chance(o.dupRate) ? 2 : 1;
    const delays: number[] = [];
    const reordered: boolean[] = [];
    for (let i = 0; i < copies; i++) {
      let d = o.maxDelay > o.minDelay ? rng.range(o.minDelay, o.maxDelay) : o.minDelay;
      // A duplicate arrives out of order, as a retransmission would.
      const r = i > 0 || rng.chance(o.reorderRate);
      if (r) d += rng.range(1, o.maxReorderDelay);
      delays.push(d);
      reordered.push(r);
    }
    return { dropped: null, delays, reordered };
  }
}
