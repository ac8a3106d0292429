// followerWrites = 'redirect': a node that does not lead answers a write with 307 and the
// leader's client URL. Returns true when it answered.
import type { ApiContext } from './context.js';
import { ErrorCode, HttpError } from './errors.js';
import type { ApiRequest } from './request.js';

export function redirectToLeader(ctx: ApiContext, r: ApiRequest): boolean {
  if (ctx.options.followerWrites !== 'redirect' || ctx.consensus.isLeader()) return false;
  const leader = ctx.consensus.status().leader;
  if (leader === 0) {
    throw new HttpError(503, ErrorCode.Unavailable, 'no leader is known; retry', undefined, {
      'retry-after': '1',
    });
  }
  const url = ctx.sm.member(leader)?.clientUrl;
  if (url === undefined) {
    throw new HttpError(
      503,
      ErrorCode.Unavailable,
      `the client URL of leader ${leader} is not known yet; retry`,
      undefined,
      { 'retry-after': '1' },
    );
  }
  const location = `${url.replace(/\/$/, '')}${r.req.url ?? '/'}`;
  r.res.writeHead(307, { location, 'content-type': 'application/json; charset=utf-8' });
  r.res.end(`${JSON.stringify({ leader, location })}\n`);
  return true;
}
