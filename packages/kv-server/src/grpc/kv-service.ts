// etcd's KV service: Range, Put, DeleteRange, Txn and Compact over the replicated store.
// Writes are proposed as the store's Txn and Compact commands (kv/txn.ts) and answered once
// applied on this member; ranges are linearizable (a ReadIndex barrier) unless serializable.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { KeyValue } from '../kv/apply-batch.js';
import { type ByteString, bytesOf, latin1 } from '../kv/bytes.js';
import {
  type Compare,
  type CompareResult,
  type CompareTarget,
  MAX_TXN_OPS,
  type RangeOp,
  type RequestOp,
  type ResponseOp,
  type SortOrder,
  type SortTarget,
  type TxnOp,
  writesAreDisjoint,
} from '../kv/txn.js';
import { type GrpcContext, header } from './context.js';
import { Errors, txnError } from './errors.js';
import { type Msg, deadline, propose, unary } from './unary.js';

const EMPTY = Buffer.alloc(0);

/** Bytes as the store keeps them (any bytes, as etcd). */
function bytes(b: Buffer | undefined): ByteString {
  return b === undefined ? '' : latin1(b);
}

function keyOf(b: Buffer | undefined): Buffer {
  if (b === undefined || b.length === 0) throw Errors.emptyKey();
  return b;
}

export function toRangeOp(r: Msg): RangeOp {
  return {
    op: 'range',
    key: keyOf(r.key),
    rangeEnd: r.range_end ?? EMPTY,
    limit: Number(r.limit ?? 0),
    revision: Number(r.revision ?? 0),
    sortOrder: enumValue(SORT_ORDERS, r.sort_order, 'sort_order'),
    sortTarget: enumValue(SORT_TARGETS, r.sort_target, 'sort_target'),
    keysOnly: r.keys_only === true,
    countOnly: r.count_only === true,
    minModRevision: Number(r.min_mod_revision ?? 0),
    maxModRevision: Number(r.max_mod_revision ?? 0),
    minCreateRevision: Number(r.min_create_revision ?? 0),
    maxCreateRevision: Number(r.max_create_revision ?? 0),
  };
}

function toPutOp(r: Msg): RequestOp {
  const value: Buffer = r.value ?? EMPTY;
  if (r.ignore_value === true && value.length > 0) throw Errors.valueProvided();
  if (r.ignore_lease === true && Number(r.lease ?? 0) !== 0) throw Errors.leaseProvided();
  return {
    op: 'put',
    key: bytes(keyOf(r.key)),
    value: bytes(value),
    lease: Number(r.lease ?? 0),
    prevKv: r.prev_kv === true,
    ignoreValue: r.ignore_value === true,
    ignoreLease: r.ignore_lease === true,
  };
}

function toDeleteOp(r: Msg): RequestOp {
  return {
    op: 'deleteRange',
    key: keyOf(r.key),
    rangeEnd: r.range_end ?? EMPTY,
    prevKv: r.prev_kv === true,
  };
}

// etcd's enums by name, as either spelling of the protos has them (etcd's NOT_EQUAL, the etcd3
// package's NotEqual): upper case without underscores. An unknown number is a client's error.
const SORT_ORDERS: Record<string, SortOrder> = {
  NONE: 'none',
  ASCEND: 'ascend',
  DESCEND: 'descend',
};
const SORT_TARGETS: Record<string, SortTarget> = {
  KEY: 'key',
  VERSION: 'version',
  CREATE: 'create',
  MOD: 'mod',
  VALUE: 'value',
};
const RESULTS: Record<string, CompareResult> = {
  EQUAL: 'equal',
  GREATER: 'greater',
  LESS: 'less',
  NOTEQUAL: 'notEqual',
};
const TARGETS: Record<string, CompareTarget> = {
  VERSION: 'version',
  CREATE: 'create',
  MOD: 'mod',
  VALUE: 'value',
  LEASE: 'lease',
};
/** The Compare field each target compares with (its target_union member). */
const TARGET_FIELDS: Record<CompareTarget, string> = {
  version: 'version',
  create: 'create_revision',
  mod: 'mod_revision',
  value: 'value',
  lease: 'lease',
};

function enumValue<T>(names: Record<string, T>, v: unknown, field: string): T {
  // proto3 enums default to their first (zero) value.
  if (v === undefined || v === null) return Object.values(names)[0]!;
  const found = names[String(v).toUpperCase().replaceAll('_', '')];
  if (found === undefined) throw Errors.badEnum(field, v);
  return found;
}

function toCompare(c: Msg): Compare {
  const target = enumValue(TARGETS, c.target, 'target');
  const field = TARGET_FIELDS[target];
  const cmp: Compare = {
    target,
    result: enumValue(RESULTS, c.result, 'result'),
    key: keyOf(c.key),
    rangeEnd: c.range_end ?? EMPTY,
    value: '',
    number: 0,
  };
  if (target === 'value') cmp.value = bytes(c[field]);
  else cmp.number = Number(c[field] ?? 0);
  return cmp;
}

export function toTxnOp(t: Msg): TxnOp {
  const compare: Msg[] = t.compare ?? [];
  const success: Msg[] = t.success ?? [];
  const failure: Msg[] = t.failure ?? [];
  if (
    compare.length > MAX_TXN_OPS ||
    success.length > MAX_TXN_OPS ||
    failure.length > MAX_TXN_OPS
  ) {
    throw Errors.tooManyOps();
  }
  const ops = (list: Msg[]): RequestOp[] =>
    list.map((o) => {
      if (o.request_range) return toRangeOp(o.request_range);
      if (o.request_put) return toPutOp(o.request_put);
      if (o.request_delete_range) return toDeleteOp(o.request_delete_range);
      if (o.request_txn) return toTxnOp(o.request_txn);
      throw Errors.emptyKey();
    });
  const txn: TxnOp = {
    op: 'txn',
    compare: compare.map(toCompare),
    success: ops(success),
    failure: ops(failure),
  };
  // etcd refuses duplicates in either branch before proposing anything.
  if (!writesAreDisjoint(txn.success) || !writesAreDisjoint(txn.failure))
    throw Errors.duplicateKey();
  return txn;
}

export function kvOut(kv: KeyValue) {
  return {
    key: bytesOf(kv.key),
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    value: bytesOf(kv.value),
    lease: kv.lease ?? 0,
  };
}

function responseOut(r: ResponseOp): Msg {
  switch (r.op) {
    case 'range':
      return { response_range: { kvs: r.kvs.map(kvOut), more: r.more, count: r.count } };
    case 'put':
      return { response_put: r.prevKv === undefined ? {} : { prev_kv: kvOut(r.prevKv) } };
    case 'deleteRange':
      return { response_delete_range: { deleted: r.deleted, prev_kvs: r.prevKvs.map(kvOut) } };
    case 'txn':
      return { response_txn: { succeeded: r.succeeded, responses: r.responses.map(responseOut) } };
  }
}

/** A txn command's result, its error result raised as etcd's error. */
async function runTxn(ctx: GrpcContext, txn: TxnOp) {
  const r = await propose(ctx, txn);
  if (r?.op === 'txnError') throw txnError(r.code);
  if (r?.op !== 'txn') throw new Error(`unexpected result ${r?.op}`);
  return r;
}

export function kvService(ctx: GrpcContext): UntypedServiceImplementation {
  return {
    Range: unary(ctx, async (req) => {
      const op = toRangeOp(req);
      if (req.serializable !== true) await ctx.consensus.read(deadline(ctx));
      const r = await ctx.sm.rangeRequest(op);
      return {
        header: header(ctx, r.revision),
        kvs: r.kvs.map(kvOut),
        more: r.more,
        count: r.count,
      };
    }),
    Put: unary(ctx, async (req) => {
      const put = toPutOp(req);
      if (put.op === 'put' && put.lease === 0 && !put.ignoreValue && !put.ignoreLease) {
        // A plain put: applied in one batch with the puts around it, where a txn is applied
        // alone (its own LevelDB write on every member).
        const r = await propose(ctx, {
          op: 'put',
          key: put.key,
          value: put.value,
          ...(put.prevKv ? {} : { withoutPrev: true }),
        });
        if (r?.op !== 'put') throw new Error(`unexpected result ${r?.op}`);
        return {
          header: header(ctx, r.revision),
          ...(put.prevKv && r.prev !== undefined ? { prev_kv: kvOut(r.prev) } : {}),
        };
      }
      const r = await runTxn(ctx, { op: 'txn', compare: [], success: [put], failure: [] });
      const p = r.responses[0];
      return {
        header: header(ctx, r.revision),
        ...(p?.op === 'put' && p.prevKv !== undefined ? { prev_kv: kvOut(p.prevKv) } : {}),
      };
    }),
    DeleteRange: unary(ctx, async (req) => {
      const r = await runTxn(ctx, {
        op: 'txn',
        compare: [],
        success: [toDeleteOp(req)],
        failure: [],
      });
      const d = r.responses[0];
      return {
        header: header(ctx, r.revision),
        deleted: d?.op === 'deleteRange' ? d.deleted : 0,
        prev_kvs: d?.op === 'deleteRange' ? d.prevKvs.map(kvOut) : [],
      };
    }),
    Txn: unary(ctx, async (req) => {
      const r = await runTxn(ctx, toTxnOp(req));
      return {
        header: header(ctx, r.revision),
        succeeded: r.succeeded,
        responses: r.responses.map(responseOut),
      };
    }),
    Compact: unary(ctx, async (req) => {
      const r = await propose(ctx, { op: 'compact', revision: Number(req.revision ?? 0) });
      if (r?.op === 'txnError') throw txnError(r.code);
      if (r?.op !== 'compact') throw new Error(`unexpected result ${r?.op}`);
      return { header: header(ctx, r.revision) };
    }),
  };
}
