// /v1/kv: put, get, delete, prefix range, compare-and-swap.
import { ConsensusError } from '../consensus.js';
import { type Command, type PutCommand, encodeCommand } from '../kv/command.js';
import { secondsSince } from '../metrics/kv-metrics.js';
import type { ApplyResult } from '../kv/state-machine.js';
import type { CommandResult, KeyValue } from '../kv/apply-batch.js';
import type { ByteString } from '../kv/bytes.js';
import { onlyFields, parseJsonObject, readBody } from './body.js';
import { consensusHttpError, outcomeOf } from './consensus-errors.js';
import type { ApiContext } from './context.js';
import { ErrorCode, HttpError, badRequest, sendJson } from './errors.js';
import { kvJson, kvJsonAsSent } from './kv-json.js';
import type { ApiRequest } from './request.js';
import { redirectToLeader } from './redirect.js';
import { Query, checkKey, checkString, stringField, uintField } from './validate.js';

const PREFIX = '/v1/kv';
const CONSISTENCY = ['linearizable', 'serializable'] as const;

/** Handles /v1/kv and /v1/kv/...; false when the path is not ours. */
export async function handleKv(ctx: ApiContext, r: ApiRequest): Promise<boolean> {
  if (r.path === PREFIX || r.path === `${PREFIX}/`) {
    if (r.method === 'GET') await rangeKeys(ctx, r);
    else if (r.method === 'DELETE') await deletePrefix(ctx, r);
    else throw methodNotAllowed(r.method, 'GET, DELETE');
    return true;
  }
  if (!r.path.startsWith(`${PREFIX}/`)) return false;
  const raw = r.path.slice(PREFIX.length + 1);
  switch (r.method) {
    case 'GET':
      await getKey(ctx, r, decodeKey(ctx, raw));
      return true;
    case 'PUT':
      await putKey(ctx, r, decodeKey(ctx, raw));
      return true;
    case 'DELETE':
      await deleteKey(ctx, r, decodeKey(ctx, raw));
      return true;
    case 'POST':
      if (!raw.endsWith('/cas')) throw methodNotAllowed(r.method, 'GET, PUT, DELETE');
      await cas(ctx, r, decodeKey(ctx, raw.slice(0, -'/cas'.length)));
      return true;
    default:
      throw methodNotAllowed(r.method, 'GET, PUT, DELETE, POST .../cas');
  }
}

export function methodNotAllowed(method: string, allowed: string): HttpError {
  return new HttpError(
    405,
    ErrorCode.MethodNotAllowed,
    `${method} is not allowed here (allowed: ${allowed})`,
    undefined,
    { allow: allowed.replace(/ \.\.\.\/cas/, '') },
  );
}

/** A key of the path: its text, and its bytes as the store keeps them. */
interface PathKey {
  text: string;
  bytes: ByteString;
}

function decodeKey(ctx: ApiContext, raw: string): PathKey {
  let text: string;
  try {
    text = decodeURIComponent(raw);
  } catch {
    throw badRequest(ErrorCode.InvalidKey, 'the key is not valid percent-encoding');
  }
  return { text, bytes: checkKey(text, ctx.options.limits) };
}

/** Waits for the read barrier unless the request asks for a serializable (local) read. */
async function readBarrier(ctx: ApiContext, r: ApiRequest, q: Query): Promise<void> {
  const consistency = q.oneOf('consistency', CONSISTENCY, 'linearizable');
  ctx.metrics.reads.inc({ consistency });
  if (consistency === 'serializable') return;
  const t0 = process.hrtime.bigint();
  try {
    await ctx.consensus.read(r.signal);
  } catch (err) {
    throw readError(err);
  }
  ctx.metrics.readIndexDuration.observe(secondsSince(t0));
}

function readError(err: unknown): HttpError {
  // A read changes nothing, so a read that did not complete is always safe to retry.
  if (err instanceof ConsensusError && err.kind === 'indeterminate') {
    return consensusHttpError(new ConsensusError('dropped', err.message));
  }
  return consensusHttpError(err);
}

async function getKey(ctx: ApiContext, r: ApiRequest, key: PathKey): Promise<void> {
  const q = new Query(r.search, ['consistency']);
  await readBarrier(ctx, r, q);
  const { kv, revision } = await ctx.sm.get(key.bytes);
  if (kv === undefined) {
    throw new HttpError(404, ErrorCode.KeyNotFound, `key "${key.text}" not found`, { revision });
  }
  sendJson(r.res, 200, { revision, kv: kvJson(kv) });
}

async function rangeKeys(ctx: ApiContext, r: ApiRequest): Promise<void> {
  const { limits } = ctx.options;
  const q = new Query(r.search, ['prefix', 'limit', 'keysOnly', 'consistency']);
  const prefix = checkString('prefix', q.string('prefix') ?? '', limits.maxKeyBytes);
  const limit = q.uint('limit', 1, limits.maxRangeLimit) ?? limits.maxRangeLimit;
  const keysOnly = q.bool('keysOnly');
  await readBarrier(ctx, r, q);
  const { kvs, more, revision } = await ctx.sm.range(prefix, limit);
  const out = kvs.map(kvJson);
  sendJson(r.res, 200, {
    revision,
    kvs: keysOnly ? out.map(({ value: _, ...rest }) => rest) : out,
    more,
  });
}

async function putKey(ctx: ApiContext, r: ApiRequest, key: PathKey): Promise<void> {
  const q = new Query(r.search, ['prev']);
  const wantPrev = q.bool('prev');
  const body = parseJsonObject(await readBody(r.req, ctx.options.limits.maxBodyBytes));
  onlyFields(body, ['value']);
  const value = stringField(body, 'value', ctx.options.limits.maxValueBytes);
  if (value === undefined) throw badRequest(ErrorCode.InvalidValue, '"value" is required');
  if (redirectToLeader(ctx, r)) return;
  const put: PutCommand = { op: 'put', key: key.bytes, value: value.bytes };
  if (!wantPrev) put.withoutPrev = true;
  const res = (await propose(ctx, r, put)) as Extract<CommandResult, { op: 'put' }>;
  const kv = kvJsonAsSent(res.kv, key.text, value.text);
  sendJson(r.res, 200, withPrev({ revision: res.revision, kv }, wantPrev, res.prev));
}

async function deleteKey(ctx: ApiContext, r: ApiRequest, key: PathKey): Promise<void> {
  const q = new Query(r.search, ['prev']);
  const wantPrev = q.bool('prev');
  await noBody(ctx, r);
  if (redirectToLeader(ctx, r)) return;
  const res = (await propose(ctx, r, { op: 'delete', key: key.bytes })) as Extract<
    CommandResult,
    { op: 'delete' }
  >;
  sendJson(
    r.res,
    200,
    withPrev({ revision: res.revision, deleted: res.deleted }, wantPrev, res.prev),
  );
}

async function deletePrefix(ctx: ApiContext, r: ApiRequest): Promise<void> {
  const q = new Query(r.search, ['prefix']);
  const text = q.string('prefix');
  if (text === undefined) {
    throw badRequest(
      ErrorCode.InvalidParameter,
      'DELETE /v1/kv needs ?prefix= (an empty prefix deletes every key)',
    );
  }
  const prefix = checkString('prefix', text, ctx.options.limits.maxKeyBytes);
  await noBody(ctx, r);
  if (redirectToLeader(ctx, r)) return;
  const res = (await propose(ctx, r, { op: 'deletePrefix', prefix })) as Extract<
    CommandResult,
    { op: 'deletePrefix' }
  >;
  sendJson(r.res, 200, { revision: res.revision, deleted: res.deleted });
}

async function cas(ctx: ApiContext, r: ApiRequest, key: PathKey): Promise<void> {
  new Query(r.search, []);
  const { limits } = ctx.options;
  const body = parseJsonObject(await readBody(r.req, limits.maxBodyBytes));
  onlyFields(body, ['value', 'delete', 'expectValue', 'expectRevision']);
  const value = stringField(body, 'value', limits.maxValueBytes);
  const expectValue = stringField(body, 'expectValue', limits.maxValueBytes);
  const expectRevision = uintField(body, 'expectRevision');
  const del = body.delete;
  if (del !== undefined && del !== true && del !== false) {
    throw badRequest(ErrorCode.InvalidValue, '"delete" must be true or false');
  }
  if ((value === undefined) === (del !== true)) {
    throw badRequest(ErrorCode.BadRequest, 'give exactly one of "value" and "delete": true');
  }
  if (expectValue === undefined && expectRevision === undefined) {
    throw badRequest(
      ErrorCode.BadRequest,
      'give "expectValue" and/or "expectRevision" (0: the key must not exist)',
    );
  }
  if (redirectToLeader(ctx, r)) return;
  const cmd: Command = { op: 'cas', key: key.bytes };
  if (expectValue !== undefined) cmd.expectValue = expectValue.bytes;
  if (expectRevision !== undefined) cmd.expectRevision = expectRevision;
  if (value !== undefined) cmd.value = value.bytes;
  const res = (await propose(ctx, r, cmd)) as Extract<CommandResult, { op: 'cas' }>;
  if (!res.succeeded) {
    const extra: Record<string, unknown> = { revision: res.revision };
    if (res.kv !== undefined) extra.kv = kvJson(res.kv);
    throw new HttpError(
      409,
      ErrorCode.CompareFailed,
      'the comparison failed; nothing changed',
      extra,
    );
  }
  const out: Record<string, unknown> = { succeeded: true, revision: res.revision };
  if (res.kv !== undefined && value !== undefined) {
    out.kv = kvJsonAsSent(res.kv, key.text, value.text);
  }
  if (res.prev !== undefined) out.prev = kvJson(res.prev);
  sendJson(r.res, 200, out);
}

function withPrev(
  out: Record<string, unknown>,
  want: boolean,
  prev: KeyValue | undefined,
): Record<string, unknown> {
  if (want) out.prev = prev === undefined ? null : kvJson(prev);
  return out;
}

async function noBody(ctx: ApiContext, r: ApiRequest): Promise<void> {
  const body = await readBody(r.req, ctx.options.limits.maxBodyBytes);
  if (body.length > 0) throw badRequest(ErrorCode.BadRequest, 'this request takes no body');
}

/** Proposes `cmd` and returns the state machine's result; HTTP errors on failure. */
export async function propose(ctx: ApiContext, r: ApiRequest, cmd: Command): Promise<ApplyResult> {
  const t0 = process.hrtime.bigint();
  let result: ApplyResult;
  try {
    result = (await ctx.consensus.propose(encodeCommand(cmd), r.signal)) as ApplyResult;
  } catch (err) {
    ctx.metrics.proposals.inc({ outcome: outcomeOf(err) });
    throw consensusHttpError(err);
  }
  ctx.metrics.proposals.inc({ outcome: 'applied' });
  ctx.metrics.proposalDuration.observe(secondsSince(t0));
  if (result === undefined || result.op === 'invalid') {
    throw new HttpError(500, ErrorCode.Internal, 'the state machine rejected the command');
  }
  return result;
}
