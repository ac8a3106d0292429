// Leader balance: a host keeps its share of its groups' leaderships near 1/N (N hosts) by
// handing leaderships away, a bounded number per round, to live members whose hosts lead
// fewer (as their liveness pings report). Only the host above its share acts, so two hosts
// do not trade the same groups back and forth; raft's transfer moves the leadership without
// an election timeout (MsgTimeoutNow).
import type { NodeId } from '@tsraft/raft-core';
import type { Liveness } from './host-liveness.js';
import type { RaftGroup } from './raft-group.js';

/**
 * Transfers started per round at most: an eighth of a host's share, at least 32. A burst of
 * elections costs latency to every group, but a host back from a restart, leading none of
 * thousands of groups, should not wait hundreds of rounds for its share.
 */
const MIN_PER_ROUND = 32;

/** Whether a group takes part in balancing: running, with another member to lead it. */
export function balanceable(g: RaftGroup<unknown>): boolean {
  return g.state === 'running' && g.memberCount() >= 2;
}

/**
 * One round: `total` groups of this host take part (balanceable()), `mine` of them led here.
 * Returns the transfers started.
 */
export function balanceLeaders(
  self: NodeId,
  hosts: number,
  total: number,
  mine: readonly RaftGroup<unknown>[],
  liveness: Liveness,
): number {
  const target = Math.ceil(total / hosts);
  let excess = mine.length - target;
  if (excess <= 0) return 0;
  const cap = Math.max(MIN_PER_ROUND, Math.ceil(target / 8));
  // What we believe each peer leads, counting the transfers we start this round.
  const leads = new Map<NodeId, number>();
  let started = 0;
  for (const g of mine) {
    if (excess <= 0 || started >= cap) break;
    let best: NodeId | null = null;
    let bestLeads = target;
    for (const m of g.members()) {
      if (m.id === self || m.role !== 'voter' || liveness.isDown(m.id)) continue;
      const n = leads.get(m.id) ?? liveness.leadsOf(m.id);
      // Strictly below the share even after this transfer: no host is pushed above it.
      if (n + 1 <= target && n < bestLeads) {
        best = m.id;
        bestLeads = n;
      }
    }
    if (best === null) continue;
    leads.set(best, bestLeads + 1);
    excess--;
    started++;
    g.transferLeadership(best).catch(() => {
      // Not caught up, or lost the race to an election: the next round tries again.
    });
  }
  return started;
}
