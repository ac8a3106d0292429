// Submitting a request to the log (a proposal or a conf change): wait for a leader if none is
// known (as etcd's Node.Propose does), step it into raft, and track it until its entry is
// applied here or its fate is lost (proposals.ts). Abort signals are honoured throughout.
import { ErrProposalDropped, StateType } from '@tsraft/raft-core';
import { unwatchAbort, watchAbort } from './abort-listeners.js';
import type { LeaderWaiter, NodeContext } from './context.js';
import { ErrAborted } from './errors.js';
import type { RequestOptions } from './node-types.js';

/** Steps a request into raft; `seq` is its id, for the entry or the conf change context. */
export type Step = (seq: number) => void;

export function submit<T>(ctx: NodeContext, step: Step, options: RequestOptions): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (!ctx.accepting) {
      reject(ctx.notRunning('dropped'));
      return;
    }
    const signal = options.signal;
    if (signal?.aborted) {
      reject(new ErrAborted('dropped', signal.reason));
      return;
    }
    const go = (): void => submitNow(ctx, step, signal, resolve as (v: unknown) => void, reject);
    if (ctx.rawLead() !== 0) {
      go();
      return;
    }
    const waiter: LeaderWaiter = {
      run: () => {
        if (signal !== undefined) unwatchAbort(signal, onAbort);
        go();
      },
      fail: (err) => {
        if (signal !== undefined) unwatchAbort(signal, onAbort);
        reject(err);
      },
    };
    const onAbort = (): void => {
      if (ctx.leaderWaiters.delete(waiter)) reject(new ErrAborted('dropped', signal?.reason));
    };
    ctx.leaderWaiters.add(waiter);
    if (signal !== undefined) watchAbort(signal, onAbort);
  });
}

function submitNow(
  ctx: NodeContext,
  step: Step,
  signal: AbortSignal | undefined,
  resolve: (v: unknown) => void,
  reject: (e: unknown) => void,
): void {
  if (!ctx.accepting) {
    reject(ctx.notRunning('dropped'));
    return;
  }
  const onAbort = (): void => {
    if (!ctx.proposals.remove(seq)) return;
    ctx.stats.proposalsFailed++;
    reject(new ErrAborted('indeterminate', signal?.reason));
  };
  // The epoch the request is submitted in. Stepping a proposal changes neither term nor role.
  // Read from raft in place: basicStatus() would copy its hard and soft state per proposal.
  const raft = ctx.raw.raft;
  const term = raft.term;
  const isLeader = raft.state === StateType.Leader;
  const seq = ctx.proposals.add(
    term,
    raft.lead,
    (v) => {
      if (signal !== undefined) unwatchAbort(signal, onAbort);
      ctx.stats.proposalsApplied++;
      resolve(v);
    },
    (e) => {
      if (signal !== undefined) unwatchAbort(signal, onAbort);
      // Refused by raft (e.g. a conf change while another is pending): dropped, not failed.
      if (e instanceof ErrProposalDropped) ctx.stats.proposalsDropped++;
      else ctx.stats.proposalsFailed++;
      reject(e);
    },
  );
  try {
    step(seq);
  } catch (err) {
    ctx.proposals.remove(seq);
    if (err instanceof ErrProposalDropped) ctx.stats.proposalsDropped++;
    reject(err);
    return;
  }
  // As leader the entry is in our log now: remember where, to notice a refusal or overwrite.
  if (isLeader) ctx.proposals.appendedAt(seq, ctx.raw.lastIndex(), term);
  ctx.stats.proposalsSubmitted++;
  if (signal !== undefined) watchAbort(signal, onAbort);
  ctx.schedule();
}
