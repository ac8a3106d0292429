// Leader, term and role as the Ready loop sees them: counted (elections, leader changes),
// published to the leaderChange event and the Latest cell, and a new epoch settles requests.
import { type SoftState, StateType } from '@tsraft/raft-core';
import type { NodeContext } from './context.js';
import { type LeaderState, ROLES } from './node-types.js';

export function onSoftState(ctx: NodeContext, ss: SoftState): void {
  const s = ss.raftState;
  if (
    (s === StateType.PreCandidate || s === StateType.Candidate) &&
    ctx.raftState !== StateType.PreCandidate &&
    ctx.raftState !== StateType.Candidate
  ) {
    ctx.stats.elections++;
  }
  ctx.raftState = s;
  ctx.lead = ss.lead;
}

/** Publishes leader, term and role when they changed; a new epoch settles requests. */
export function publishLeader(ctx: NodeContext): void {
  const cur = ctx.leaderCell.get();
  const leader = ctx.lead === 0 ? null : ctx.lead;
  const role = ROLES[ctx.raftState];
  if (cur.leader === leader && cur.term === ctx.term && cur.role === role) return;
  const state: LeaderState = { leader, term: ctx.term, role };
  ctx.leaderCell.set(state);
  if ((cur.role === 'leader') !== (role === 'leader')) {
    ctx.group?.onLeading?.(ctx.group.groupId, role === 'leader');
  }
  if (cur.leader !== leader || cur.term !== ctx.term) {
    if (leader !== null && cur.leader !== leader) ctx.stats.leaderChanges++;
    ctx.proposals.onEpoch(ctx.term, ctx.lead, ctx.commit, ctx.id);
    // A new leader: reads still waiting for an index ask it at once.
    if (leader !== null) {
      for (const c of ctx.reads.resend(ctx.ticks, Number.POSITIVE_INFINITY)) ctx.raw.readIndex(c);
    }
    ctx.logger[ctx.routine]({ leader, term: ctx.term, role }, 'leader changed');
  }
  queueMicrotask(() => ctx.events.emit('leaderChange', state));
}

/** At stop: a stopped node knows no leader; iterators and waiters end. */
export function closeWatchers(ctx: NodeContext): void {
  const cur = ctx.leaderCell.get();
  if (cur.leader !== null || cur.role !== 'follower') {
    ctx.leaderCell.set({ leader: null, term: cur.term, role: 'follower' });
    if (cur.role === 'leader') ctx.group?.onLeading?.(ctx.group.groupId, false);
  }
  ctx.leaderCell.close();
  ctx.appliedCell.close();
}
