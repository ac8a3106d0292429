// Applying a committed conf change: raft's configuration, the address book and the transport's
// peers, and the answer to whoever on this node asked for it.
import {
  type AnyConfChange,
  ConfChangeType,
  type Entry,
  EntryType,
  ErrInvalidConfChange,
  type RawNode,
  asV2,
  decodeConfChange,
  decodeConfChangeV2,
} from '@tsraft/raft-core';
import type { NodeContext } from './context.js';
import { decodeConfContext } from './envelope.js';
import { ErrBadMembership } from './errors.js';
import type { Member } from './membership.js';
import { updatePeers } from './peers.js';
import { onRemoved } from './removal.js';

export function applyConfEntry(ctx: NodeContext, e: Entry): void {
  const cc: AnyConfChange =
    e.type === EntryType.EntryConfChange ? decodeConfChange(e.data) : decodeConfChangeV2(e.data);
  const v2 = asV2(cc);
  const cctx = decodeConfContext(v2.context);
  const seq = cctx.session === ctx.session.hex && typeof cctx.seq === 'number' ? cctx.seq : -1;
  let cs: ReturnType<RawNode['applyConfChange']>;
  try {
    cs = ctx.raw.applyConfChange(cc);
  } catch (err) {
    // Every member refuses the same change the same way: skipping it keeps them in step.
    if (!(err instanceof ErrInvalidConfChange)) throw err;
    ctx.logger.warn({ err, index: e.index }, 'invalid conf change skipped');
    if (seq >= 0) ctx.proposals.reject(seq, new ErrBadMembership(err.message));
    return;
  }
  // A new member whose log must start with a snapshot can only use one that lists it: the
  // one we have predates it, so take a fresh one (else the leader resends the old in a loop).
  const adds = v2.changes.some(
    (c) => c.type !== ConfChangeType.ConfChangeRemoveNode && !ctx.membership.has(c.nodeId),
  );
  if (adds && ctx.storage.firstIndex() > 1) ctx.snapshots.requestSoon();
  updatePeers(ctx, ctx.membership.apply(v2, cctx, cs));
  ctx.logger[ctx.routine]({ index: e.index, members: ctx.membership.list() }, 'membership changed');
  const removedSelf = ctx.membership.removedIds.has(ctx.id);
  if (seq >= 0) {
    // A node that removed itself takes no next change: answer before it stops.
    if (removedSelf) ctx.proposals.applied(seq, ctx.membership.list());
    else resolveOnceRaftApplied(ctx, seq, e.index, ctx.membership.list());
  }
  if (removedSelf) onRemoved(ctx, { index: e.index });
}

/**
 * Resolves our request once raft itself has been told the change is applied (the apply
 * worker's responses are stepped before it publishes the applied index): raft refuses a conf
 * change while an earlier one is unapplied, so a caller that proposes the next change as soon
 * as this one resolves must find it applied in raft too.
 */
function resolveOnceRaftApplied(
  ctx: NodeContext,
  seq: number,
  index: number,
  members: Member[],
): void {
  const known = (): boolean => ctx.raw.basicStatus().applied >= index;
  void ctx.appliedCell.until(known).then(() => {
    // Stopped first: rejectAll has settled the request already, and this does nothing.
    if (known()) ctx.proposals.applied(seq, members);
  });
}
