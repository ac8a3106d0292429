// /status, /health and /metrics.
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/kv-metrics.js';
import type { ApiContext } from './context.js';
import { ErrorCode, HttpError, sendJson } from './errors.js';
import { methodNotAllowed } from './kv-routes.js';
import { memberViews } from './member-routes.js';
import type { ApiRequest } from './request.js';
import { Query } from './validate.js';

export function statusBody(ctx: ApiContext): Record<string, unknown> {
  const s = ctx.consensus.status();
  const progress: Record<string, unknown> = {};
  for (const p of s.progress) {
    const { id, ...rest } = p;
    progress[id] = rest;
  }
  return {
    id: s.id,
    role: s.role,
    term: s.term,
    vote: s.vote,
    leader: s.leader,
    commit: s.commit,
    applied: s.applied,
    snapshotIndex: s.snapshotIndex,
    firstIndex: s.firstIndex,
    lastIndex: s.lastIndex,
    revision: ctx.sm.revision,
    keys: ctx.sm.size,
    voters: s.voters,
    learners: s.learners,
    progress,
    members: memberViews(ctx),
  };
}

export async function handleStatus(ctx: ApiContext, r: ApiRequest): Promise<boolean> {
  if (r.path !== '/status' && r.path !== '/health' && r.path !== '/metrics') return false;
  if (r.method !== 'GET' && r.method !== 'HEAD') throw methodNotAllowed(r.method, 'GET');
  new Query(r.search, []);
  if (r.path === '/status') {
    sendJson(r.res, 200, statusBody(ctx));
  } else if (r.path === '/health') {
    const s = ctx.consensus.status();
    if (s.leader === 0) {
      throw new HttpError(503, ErrorCode.Unavailable, 'no leader is known', { health: false });
    }
    sendJson(r.res, 200, { health: true, id: s.id, role: s.role, leader: s.leader });
  } else {
    const text = await ctx.metrics.registry.metrics();
    r.res.writeHead(200, {
      'content-type': PROMETHEUS_CONTENT_TYPE,
      'content-length': Buffer.byteLength(text),
    });
    r.res.end(text);
  }
  return true;
}
