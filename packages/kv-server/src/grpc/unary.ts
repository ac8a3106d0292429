// What etcd's unary methods share here: the answer of a handler (a value or a promise) through
// grpc-js's callback, its failure as etcd's error (an unexpected one is logged); the request
// deadline; and a store command proposed under it.
import { type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js';
import type { ApplyResult } from '../kv/apply-result.js';
import { type Command, encodeCommand } from '../kv/command.js';
import type { GrpcContext } from './context.js';
import { toEtcdError } from './errors.js';

// biome-ignore lint/suspicious/noExplicitAny: proto-loader's messages are plain objects
export type Msg = Record<string, any>;
export type UnaryHandler = (call: ServerUnaryCall<Msg, Msg>, cb: sendUnaryData<Msg>) => void;

export function unary(ctx: GrpcContext, handle: (req: Msg) => Msg | Promise<Msg>): UnaryHandler {
  return (call, cb) => {
    const fail = (err: unknown): void => {
      const e = toEtcdError(err);
      if (e.code === status.UNKNOWN) ctx.logger.error({ err }, 'gRPC request failed');
      cb(e);
    };
    let res: Msg | Promise<Msg>;
    try {
      res = handle(call.request);
    } catch (err) {
      fail(err);
      return;
    }
    if (res instanceof Promise) res.then((r) => cb(null, r), fail);
    else cb(null, res);
  };
}

/** The signal of one request's deadline (raft-kv's --request-timeout). */
export function deadline(ctx: GrpcContext): AbortSignal {
  return AbortSignal.timeout(ctx.options.requestTimeoutMs);
}

/** Proposes a store command; resolves with its result once applied on this member. */
export async function propose(ctx: GrpcContext, cmd: Command): Promise<ApplyResult> {
  return (await ctx.consensus.propose(encodeCommand(cmd), deadline(ctx))) as ApplyResult;
}
