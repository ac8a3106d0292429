// The requests RaftNode takes besides proposals: membership changes (checked against the
// current configuration, then submitted as conf changes) and linearizable reads (ReadIndex).
import { ConfChangeType, type NodeId } from '@tsraft/raft-core';
import { parseAddress } from '@tsraft/raft-transport-tcp';
import { unwatchAbort, watchAbort } from './abort-listeners.js';
import type { NodeContext } from './context.js';
import { encodeConfContext } from './envelope.js';
import { ErrAborted, ErrBadMembership } from './errors.js';
import type { Member } from './membership.js';
import type { RequestOptions } from './node-types.js';
import { submit } from './submit.js';

export function addNode(
  ctx: NodeContext,
  id: NodeId,
  addr: string,
  options: RequestOptions,
): Promise<Member[]> {
  if (ctx.membership.has(id) && !ctx.membership.isLearner(id)) {
    return Promise.reject(new ErrBadMembership(`node ${id} is already a voter`));
  }
  return changeMembership(ctx, ConfChangeType.ConfChangeAddNode, id, addr, options);
}

export function addLearner(
  ctx: NodeContext,
  id: NodeId,
  addr: string,
  options: RequestOptions,
): Promise<Member[]> {
  if (ctx.membership.has(id)) {
    return Promise.reject(new ErrBadMembership(`node ${id} is already a member`));
  }
  return changeMembership(ctx, ConfChangeType.ConfChangeAddLearnerNode, id, addr, options);
}

export function promote(ctx: NodeContext, id: NodeId, options: RequestOptions): Promise<Member[]> {
  if (!ctx.membership.isLearner(id)) {
    return Promise.reject(new ErrBadMembership(`node ${id} is not a learner`));
  }
  const addr = ctx.membership.addrs.get(id) ?? '';
  return changeMembership(ctx, ConfChangeType.ConfChangeAddNode, id, addr, options);
}

export function removeNode(
  ctx: NodeContext,
  id: NodeId,
  options: RequestOptions,
): Promise<Member[]> {
  if (!ctx.membership.has(id)) {
    return Promise.reject(new ErrBadMembership(`node ${id} is not a member`));
  }
  const cs = ctx.membership.confState;
  if (cs.voters.length === 1 && cs.voters[0] === id) {
    return Promise.reject(new ErrBadMembership(`node ${id} is the last voter`));
  }
  return changeMembership(ctx, ConfChangeType.ConfChangeRemoveNode, id, '', options);
}

/** Changes a member's raft address, through the log: every member redials it there. */
export function updateNode(
  ctx: NodeContext,
  id: NodeId,
  addr: string,
  options: RequestOptions,
): Promise<Member[]> {
  if (!ctx.membership.has(id)) {
    return Promise.reject(new ErrBadMembership(`node ${id} is not a member`));
  }
  try {
    parseAddress(addr);
  } catch (err) {
    return Promise.reject(
      new ErrBadMembership(`bad address for node ${id}: ${(err as Error).message}`),
    );
  }
  return changeMembership(ctx, ConfChangeType.ConfChangeUpdateNode, id, addr, options);
}

function changeMembership(
  ctx: NodeContext,
  type: ConfChangeType,
  nodeId: NodeId,
  addr: string,
  options: RequestOptions,
): Promise<Member[]> {
  return submit<Member[]>(
    ctx,
    (seq) => {
      const c = { ...(addr !== '' ? { addr } : {}), session: ctx.session.hex, seq };
      ctx.raw.proposeConfChange({ type, nodeId, context: encodeConfContext(c), id: 0 });
    },
    options,
  );
}

/** A linearizable read barrier (ReadIndex): resolves with the read index once applied here. */
export function read(ctx: NodeContext, options: RequestOptions): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    if (!ctx.accepting) {
      reject(ctx.notRunning('dropped'));
      return;
    }
    const signal = options.signal;
    if (signal?.aborted) {
      reject(new ErrAborted('dropped', signal.reason));
      return;
    }
    const onAbort = (): void => {
      if (ctx.reads.remove(seq)) reject(new ErrAborted('dropped', signal?.reason));
    };
    const { seq, ctx: readCtx } = ctx.reads.add(
      ctx.ticks,
      (index) => {
        if (signal !== undefined) unwatchAbort(signal, onAbort);
        resolve(index);
      },
      (e) => {
        if (signal !== undefined) unwatchAbort(signal, onAbort);
        reject(e);
      },
    );
    if (signal !== undefined) watchAbort(signal, onAbort);
    ctx.stats.reads++;
    ctx.raw.readIndex(readCtx);
    ctx.schedule();
  });
}
