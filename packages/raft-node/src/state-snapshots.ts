// The state machine's side of snapshots: taking one (with the address book RaftNode keeps
// beside it), installing one received from the leader, restoring one at start.
import { type Snapshot, cloneConfState } from '@tsraft/raft-core';
import type { NodeContext } from './context.js';
import { decodeSnapshotData, encodeSnapshotData } from './envelope.js';
import { updatePeers } from './peers.js';
import type { TakenSnapshot } from './snapshotter.js';

/** The state machine's snapshot as of `applied`, with what RaftNode keeps beside it. */
export async function takeSnapshot(ctx: NodeContext): Promise<TakenSnapshot> {
  const index = ctx.applied;
  const data = await ctx.sm.snapshot();
  const removed = [...ctx.membership.removedIds];
  const meta = { members: ctx.membership.toRecord(), ...(removed.length > 0 ? { removed } : {}) };
  const bytes = encodeSnapshotData(meta, data);
  return { index, bytes, confState: cloneConfState(ctx.membership.confState) };
}

/** A snapshot from the leader is durable: replace the state machine with it. */
export async function installSnapshot(ctx: NodeContext, snap: Snapshot): Promise<void> {
  await restoreSnapshot(ctx, snap);
  ctx.proposals.onSnapshot(snap.metadata.index);
  ctx.stats.snapshotsRestored++;
  ctx.logger.info({ index: snap.metadata.index, term: snap.metadata.term }, 'snapshot installed');
  ctx.publishApplied();
}

/** Replaces the state machine and the address book with the snapshot's. */
export async function restoreSnapshot(ctx: NodeContext, snap: Snapshot): Promise<void> {
  const { meta, data } = decodeSnapshotData(snap.data);
  await ctx.sm.restore(data);
  const index = snap.metadata.index;
  ctx.applied = index;
  ctx.snapshots.installed(index);
  if (ctx.commit < index) ctx.commit = index;
  const removed = Array.isArray(meta.removed) ? meta.removed.filter(Number.isSafeInteger) : [];
  updatePeers(ctx, ctx.membership.reset(snap.metadata.confState, meta.members, removed));
}
