// A removed member stops taking part, as etcd's do. It learns of its removal in one of two
// ways: it applies the conf change that removes it, or (as the leader stops talking to a
// removed node before that node learns the change is committed) a member refuses its
// connection with REMOVED (see peers.ts: every member marks removed ids in its transport).
import type { NodeId } from '@tsraft/raft-core';
import type { NodeContext } from './context.js';
import { ErrRemoved } from './errors.js';

/** How many heartbeats a node that applied its own removal keeps running before it stops. */
const LINGER_HEARTBEATS = 3;

export interface RemovalSource {
  /** The index of the conf change that removed us, when we applied it ourselves. */
  index?: number;
  /** The member that refused our connection as removed. */
  by?: NodeId;
}

/**
 * Stops taking requests (pending ones reject with ErrRemoved), emits 'removed', and stops the
 * node. A node that applied its own removal lingers a few heartbeats first (etcd stops with a
 * delay too): if it led, its followers learn the commit index that covers the removal. Raft
 * does not let a non-member campaign, so it cannot disturb the cluster meanwhile.
 */
export function onRemoved(ctx: NodeContext, src: RemovalSource): void {
  if (ctx.removed || !ctx.running) return;
  ctx.removed = true;
  ctx.logger.warn({ ...src }, 'this node was removed from the cluster; stopping');
  ctx.rejectPending((o) => new ErrRemoved(o));
  queueMicrotask(() => ctx.events.emit('removed'));
  if (src.index === undefined) {
    void ctx.stop();
    return;
  }
  const linger = LINGER_HEARTBEATS * ctx.cfg.heartbeatTick * ctx.cfg.tickMs;
  setTimeout(() => void ctx.stop(), linger);
}
