// The transport and its peer table: created from the configured and the logged addresses, and
// kept in step with membership as conf changes and snapshots are applied.
import { type Message, type NodeId, SnapshotStatus } from '@tsraft/raft-core';
import { TcpTransport } from '@tsraft/raft-transport-tcp';
import type { NodeContext } from './context.js';
import type { AddressChanges } from './membership.js';
import type { NodeTransport, TransportHooks } from './seams.js';
import { snapshotStreams } from './state-snapshots.js';

export function createTransport(
  ctx: NodeContext,
  acceptUnknownPeers: boolean,
  onMessage: (m: Message) => void,
  onRemoved: (by: NodeId) => void,
): NodeTransport {
  const o = ctx.opts;
  const hooks: TransportHooks = {
    id: ctx.id,
    clusterId: ctx.cfg.clusterId,
    listen: o.listen,
    acceptUnknownPeers,
    onMessage,
    onUnreachable: (id) => {
      if (!ctx.running) return;
      ctx.raw.reportUnreachable(id);
      ctx.schedule();
    },
    onSnapshotStatus: (id, s) => {
      ctx.snapshotSends.ended(id, s === 'finish');
      if (!ctx.running) return;
      ctx.raw.reportSnapshot(id, s === 'finish' ? SnapshotStatus.Finish : SnapshotStatus.Failure);
      ctx.schedule();
    },
    onRemoved,
    snapshots: snapshotStreams(ctx),
    logger: ctx.logger.child({ component: 'transport' }),
  };
  const t =
    typeof o.transport === 'function'
      ? o.transport(hooks)
      : new TcpTransport({
          // Snapshots stream from and to files: no size is held in memory.
          maxSnapshotSize: Number.MAX_SAFE_INTEGER,
          ...(o.transport ?? {}),
          ...(o.tls !== undefined ? { tls: o.tls } : {}),
          ...hooks,
        });
  // The addresses we were given, then those the log and snapshot recorded (which win).
  for (const [id, addr] of ctx.cfg.peers) if (id !== ctx.id) t.addPeer(id, addr);
  for (const [id, addr] of ctx.membership.addrs) if (id !== ctx.id) t.addPeer(id, addr);
  // Members removed before this start (the snapshot says so) are refused as removed.
  for (const id of ctx.membership.removedIds) t.markRemoved(id);
  return t;
}

/** Tells the transport what a conf change or a snapshot did to the address book. */
export function updatePeers(ctx: NodeContext, ch: AddressChanges): void {
  const t = ctx.transport;
  if (t === null) return;
  // Removed members are refused as such (REMOVED), so that they learn it and stop.
  for (const id of ch.gone) if (id !== ctx.id) t.markRemoved(id);
  for (const id of ch.removed) if (id !== ctx.id) t.removePeer(id);
  for (const [id, addr] of ch.set) {
    if (id === ctx.id) continue;
    try {
      t.addPeer(id, addr);
    } catch (err) {
      ctx.logger.warn({ err, peer: id, addr }, 'bad peer address in the log');
    }
  }
}
