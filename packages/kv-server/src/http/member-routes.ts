// /v1/members: list, add (voter or learner), promote, remove; /v1/leader/transfer.
import { isPeerAddr } from '../addr.js';
import type { ConsensusMember } from '../consensus.js';
import { onlyFields, parseJsonObject, readBody } from './body.js';
import { consensusHttpError } from './consensus-errors.js';
import type { ApiContext } from './context.js';
import { ErrorCode, HttpError, badRequest, sendJson } from './errors.js';
import { methodNotAllowed, propose } from './kv-routes.js';
import { redirectToLeader } from './redirect.js';
import type { ApiRequest } from './request.js';
import { Query, uintField } from './validate.js';

const PREFIX = '/v1/members';

export interface MemberView {
  id: number;
  role: 'voter' | 'learner';
  peerUrl: string | null;
  clientUrl: string | null;
}

export function memberViews(ctx: ApiContext): MemberView[] {
  return ctx.consensus
    .members()
    .map((m: ConsensusMember) => {
      const rec = ctx.sm.member(m.id);
      return {
        id: m.id,
        role: m.isLearner ? ('learner' as const) : ('voter' as const),
        peerUrl: m.peerAddr ?? rec?.peerUrl ?? null,
        clientUrl: rec?.clientUrl ?? null,
      };
    })
    .sort((a, b) => a.id - b.id);
}

export async function handleMembers(ctx: ApiContext, r: ApiRequest): Promise<boolean> {
  if (r.path === '/v1/leader/transfer') {
    if (r.method !== 'POST') throw methodNotAllowed(r.method, 'POST');
    await transfer(ctx, r);
    return true;
  }
  if (r.path === PREFIX || r.path === `${PREFIX}/`) {
    if (r.method === 'GET') {
      new Query(r.search, []);
      sendJson(r.res, 200, { leader: ctx.consensus.status().leader, members: memberViews(ctx) });
    } else if (r.method === 'POST') await addMember(ctx, r);
    else throw methodNotAllowed(r.method, 'GET, POST');
    return true;
  }
  if (!r.path.startsWith(`${PREFIX}/`)) return false;
  const rest = r.path.slice(PREFIX.length + 1);
  const promote = rest.endsWith('/promote');
  const id = parseId(promote ? rest.slice(0, -'/promote'.length) : rest);
  if (promote) {
    if (r.method !== 'POST') throw methodNotAllowed(r.method, 'POST');
    await promoteMember(ctx, r, id);
  } else if (r.method === 'GET') {
    new Query(r.search, []);
    sendJson(r.res, 200, { member: findMember(ctx, id) });
  } else if (r.method === 'DELETE') {
    await removeMember(ctx, r, id);
  } else {
    throw methodNotAllowed(r.method, 'GET, DELETE, POST .../promote');
  }
  return true;
}

function parseId(s: string): number {
  const n = /^[1-9][0-9]*$/.test(s) ? Number(s) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw badRequest(ErrorCode.InvalidParameter, `"${s}" is not a member id (a positive integer)`);
  }
  return n;
}

function findMember(ctx: ApiContext, id: number): MemberView {
  const m = memberViews(ctx).find((x) => x.id === id);
  if (m === undefined) throw new HttpError(404, ErrorCode.MemberNotFound, `no member ${id}`);
  return m;
}

async function addMember(ctx: ApiContext, r: ApiRequest): Promise<void> {
  new Query(r.search, []);
  const body = parseJsonObject(await readBody(r.req, 64 << 10));
  onlyFields(body, ['id', 'peerUrl', 'learner']);
  const id = uintField(body, 'id');
  if (id === undefined || id === 0) {
    throw badRequest(ErrorCode.InvalidValue, '"id" must be a positive integer');
  }
  const peerUrl = body.peerUrl;
  if (typeof peerUrl !== 'string' || !isPeerAddr(peerUrl)) {
    throw badRequest(ErrorCode.InvalidValue, '"peerUrl" must be host:port (e.g. 127.0.0.1:7004)');
  }
  const learner = body.learner ?? false;
  if (typeof learner !== 'boolean') {
    throw badRequest(ErrorCode.InvalidValue, '"learner" must be true or false');
  }
  if (ctx.consensus.members().some((m) => m.id === id)) {
    throw new HttpError(409, ErrorCode.MembershipConflict, `${id} is already a member`);
  }
  if (redirectToLeader(ctx, r)) return;
  try {
    await ctx.consensus.addMember(id, peerUrl, learner, r.signal);
  } catch (err) {
    throw consensusHttpError(err);
  }
  sendJson(r.res, 201, {
    member: findOrPending(ctx, id, peerUrl, learner),
    members: memberViews(ctx),
  });
}

function findOrPending(ctx: ApiContext, id: number, peerUrl: string, learner: boolean): MemberView {
  return (
    memberViews(ctx).find((x) => x.id === id) ?? {
      id,
      role: learner ? 'learner' : 'voter',
      peerUrl,
      clientUrl: null,
    }
  );
}

async function promoteMember(ctx: ApiContext, r: ApiRequest, id: number): Promise<void> {
  new Query(r.search, []);
  const m = findMember(ctx, id);
  if (m.role !== 'learner') {
    throw new HttpError(409, ErrorCode.MembershipConflict, `${id} is already a voter`);
  }
  if (redirectToLeader(ctx, r)) return;
  try {
    await ctx.consensus.promoteMember(id, r.signal);
  } catch (err) {
    throw consensusHttpError(err);
  }
  sendJson(r.res, 200, { member: findMember(ctx, id), members: memberViews(ctx) });
}

async function removeMember(ctx: ApiContext, r: ApiRequest, id: number): Promise<void> {
  new Query(r.search, []);
  findMember(ctx, id);
  const voters = ctx.consensus.members().filter((m) => !m.isLearner);
  if (voters.length === 1 && voters[0]!.id === id) {
    throw new HttpError(409, ErrorCode.MembershipConflict, `${id} is the last voter`);
  }
  if (redirectToLeader(ctx, r)) return;
  try {
    await ctx.consensus.removeMember(id, r.signal);
  } catch (err) {
    throw consensusHttpError(err);
  }
  // Forget its client URL too; the member is gone whether or not this part succeeds.
  await propose(ctx, r, { op: 'removeMember', id }).catch(() => undefined);
  sendJson(r.res, 200, { removed: id, members: memberViews(ctx) });
}

async function transfer(ctx: ApiContext, r: ApiRequest): Promise<void> {
  new Query(r.search, []);
  const body = parseJsonObject(await readBody(r.req, 64 << 10));
  onlyFields(body, ['to']);
  const to = uintField(body, 'to');
  if (to === undefined || to === 0)
    throw badRequest(ErrorCode.InvalidValue, '"to" must be a member id');
  const m = findMember(ctx, to);
  if (m.role !== 'voter') {
    throw new HttpError(409, ErrorCode.MembershipConflict, `${to} is a learner; it cannot lead`);
  }
  try {
    await ctx.consensus.transferLeadership(to, r.signal);
  } catch (err) {
    throw consensusHttpError(err);
  }
  sendJson(r.res, 200, { leader: ctx.consensus.status().leader });
}
