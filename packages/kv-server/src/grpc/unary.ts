// What etcd's unary methods share here: a handler's answer (a value or a promise), its failure
// as etcd's error (an unexpected one is logged); the request deadline; and a store command
// proposed under it. A handler made by unary() is served two ways: by grpc-js through its
// callback, and directly on node:http2 (direct-unary.ts) through its `answer`.
import { type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js';
import { sharedDeadline } from '@tsraft/raft-node';
import type { ApplyResult } from '../kv/apply-result.js';
import { type Command, encodeCommand } from '../kv/command.js';
import type { GrpcContext } from './context.js';
import { type EtcdError, toEtcdError } from './errors.js';

// biome-ignore lint/suspicious/noExplicitAny: proto-loader's messages are plain objects
export type Msg = Record<string, any>;

/** The outcome of one unary call: its response, or the error etcd would answer with. */
export type Answer = { ok: true; res: Msg } | { ok: false; err: EtcdError };

export interface UnaryHandler {
  (call: ServerUnaryCall<Msg, Msg>, cb: sendUnaryData<Msg>): void;
  /** Answers a request; never throws nor rejects. */
  readonly answer: (req: Msg) => Answer | Promise<Answer>;
}

export function unary(ctx: GrpcContext, handle: (req: Msg) => Msg | Promise<Msg>): UnaryHandler {
  const failed = (err: unknown): Answer => {
    const e = toEtcdError(err);
    if (e.code === status.UNKNOWN) ctx.logger.error({ err }, 'gRPC request failed');
    return { ok: false, err: e };
  };
  const answer = (req: Msg): Answer | Promise<Answer> => {
    let res: Msg | Promise<Msg>;
    try {
      res = handle(req);
    } catch (err) {
      return failed(err);
    }
    if (res instanceof Promise) return res.then((r): Answer => ({ ok: true, res: r }), failed);
    return { ok: true, res };
  };
  const reply = (a: Answer, cb: sendUnaryData<Msg>): void => {
    if (a.ok) cb(null, a.res);
    else cb(a.err);
  };
  const handler = (call: ServerUnaryCall<Msg, Msg>, cb: sendUnaryData<Msg>): void => {
    const a = answer(call.request);
    if (a instanceof Promise) a.then((r) => reply(r, cb));
    else reply(a, cb);
  };
  return Object.assign(handler, { answer });
}

/**
 * The signal of a request's deadline (raft-kv's --request-timeout), shared by the requests that
 * start within the same 100 ms (raft-node's sharedDeadline).
 */
export function deadline(ctx: GrpcContext): AbortSignal {
  return sharedDeadline(ctx.options.requestTimeoutMs);
}

/** Proposes a store command; resolves with its result once applied on this member. */
export async function propose(ctx: GrpcContext, cmd: Command): Promise<ApplyResult> {
  return (await ctx.consensus.propose(encodeCommand(cmd), deadline(ctx))) as ApplyResult;
}
