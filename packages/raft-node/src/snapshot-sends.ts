// Snapshots on their way to followers, and how far back the log must reach for them. A
// follower that receives a snapshot at index i continues from entry i+1: if the leader has
// compacted past i by the time the follower has *installed* it (transfer, then restore into
// its state machine: long for a large on-disk state), it needs another snapshot, and another
// (seen at 1 GiB: one every ~70 s, never caught up). So the log keeps entry i+1 from the
// moment the stream opens until the follower's progress shows it past i, or it fails, or a
// generous time has passed (a follower that vanished must not pin the log forever).

import type { NodeId } from '@tsraft/raft-core';

/** How long after a finished transfer the follower may take to install it. */
export const INSTALL_GRACE_MS = 10 * 60_000;

interface Send {
  /** The snapshot's index: the follower needs the entries after it. */
  index: number;
  /** While streaming: null. After the transfer finished: until when we wait for its install. */
  installBy: number | null;
}

export class SnapshotSends {
  private readonly sends = new Map<NodeId, Send>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The transport opened a stream of the snapshot at `index` to `peer`. */
  opened(peer: NodeId, index: number): void {
    this.sends.set(peer, { index, installBy: null });
  }

  /** The transport finished the stream (`ok`) or gave up on it. */
  ended(peer: NodeId, ok: boolean): void {
    const s = this.sends.get(peer);
    if (s === undefined) return;
    if (ok) s.installBy = this.now() + INSTALL_GRACE_MS;
    else this.sends.delete(peer);
  }

  /** Streams still open (nothing may quiesce meanwhile). */
  get streaming(): boolean {
    for (const s of this.sends.values()) if (s.installBy === null) return true;
    return false;
  }

  get size(): number {
    return this.sends.size;
  }

  /**
   * The highest index the log may be compacted to (Infinity: no bound). `match` gives a
   * peer's replication progress as the leader sees it (undefined: not a peer any more, or
   * this node does not lead): a peer matched past its snapshot has installed it.
   */
  compactionBound(match: (peer: NodeId) => number | undefined): number {
    const now = this.now();
    let bound = Number.POSITIVE_INFINITY;
    for (const [peer, s] of this.sends) {
      const m = match(peer);
      const done = m === undefined || m >= s.index || (s.installBy !== null && now > s.installBy);
      if (done) this.sends.delete(peer);
      else bound = Math.min(bound, s.index);
    }
    return bound;
  }
}
