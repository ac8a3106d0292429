// etcd's Maintenance service: Status and Alarm (what `etcdctl endpoint status/health` ask),
// Defragment, Hash, HashKV, Snapshot and MoveLeader.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ServerWritableStream,
  type UntypedServiceImplementation,
  status,
} from '@grpc/grpc-js';
import { type GrpcContext, header } from './context.js';
import { EtcdError, toEtcdError } from './errors.js';
import { deadline, type Msg, unary } from './unary.js';

/** The etcd API version raft-kv answers as (its protos are etcd 3.4's). */
export const ETCD_VERSION = '3.4.0';

/**
 * etcd's snapshot file is a bolt database (a whole number of 512-byte pages) followed by its
 * SHA-256, and etcdctl checks that shape (size % 512 == 32) before it keeps the file. Ours is
 * the store's snapshot stream (kv/snapshot-stream.ts), zero-padded to that shape.
 */
const SNAPSHOT_ALIGN = 512;

function dirBytes(dir: string): number {
  let n = 0;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      n += e.isDirectory() ? dirBytes(p) : statSync(p).size;
    }
  } catch {
    // A file removed by LevelDB's compaction meanwhile: it no longer counts.
  }
  return n;
}

const notLeader = () => new EtcdError(status.FAILED_PRECONDITION, 'etcdserver: not leader');
const badTransferee = () =>
  new EtcdError(status.FAILED_PRECONDITION, 'etcdserver: bad leader transferee');

export function maintenanceService(ctx: GrpcContext): UntypedServiceImplementation {
  return {
    Status: unary(ctx, () => {
      const s = ctx.consensus.status();
      const size = dirBytes(ctx.storeDir);
      return {
        header: header(ctx),
        version: ETCD_VERSION,
        dbSize: size,
        leader: s.leader,
        raftIndex: s.commit,
        raftTerm: s.term,
        raftAppliedIndex: s.applied,
        errors: [],
        dbSizeInUse: size,
        isLearner: s.learners.includes(ctx.memberId),
      };
    }),
    // No alarms are raised (etcd's NOSPACE and CORRUPT have no counterpart yet).
    Alarm: unary(ctx, () => ({ header: header(ctx), alarms: [] })),
    Defragment: unary(ctx, async () => {
      await ctx.sm.defragment();
      return { header: header(ctx) };
    }),
    Hash: unary(ctx, async () => {
      const r = await ctx.sm.hash();
      return { header: header(ctx, r.revision), hash: r.hash };
    }),
    HashKV: unary(ctx, async (req) => {
      const r = await ctx.sm.hashKv(Number(req.revision ?? 0));
      return {
        header: header(ctx, r.revision),
        hash: r.hash,
        compact_revision: r.compactRevision,
        hash_revision: r.hashRevision,
      };
    }),
    // As etcd: only the leader moves leadership, to a voter.
    MoveLeader: unary(ctx, async (req) => {
      if (!ctx.consensus.isLeader()) throw notLeader();
      const to = Number(req.targetID ?? 0);
      const target = ctx.consensus.members().find((m) => m.id === to);
      if (target === undefined || target.isLearner) throw badTransferee();
      if (to !== ctx.memberId) {
        await ctx.consensus.transferLeadership(to, deadline(ctx));
      }
      return { header: header(ctx) };
    }),
    Snapshot: (call: ServerWritableStream<Msg, Msg>) => {
      streamSnapshot(ctx, call).catch((err: unknown) => {
        if (!call.writableEnded && !call.destroyed) call.emit('error', toEtcdError(err));
      });
    },
  };
}

/**
 * The store at one point in time, in chunks as it is read (never whole in memory), zero
 * padding, then the SHA-256 of all bytes before it. remaining_bytes is an estimate (the
 * store's size on disk less what was sent) until the last message, which says 0.
 */
async function streamSnapshot(ctx: GrpcContext, call: ServerWritableStream<Msg, Msg>) {
  const source = await ctx.sm.snapshotWhenIdle();
  const sha = createHash('sha256');
  const estimate = dirBytes(ctx.storeDir);
  let sent = 0;
  let cancelled = false;
  call.on('cancelled', () => {
    cancelled = true;
  });
  const send = async (blob: Uint8Array, remaining: number): Promise<void> => {
    sent += blob.length;
    const ok = call.write({ header: header(ctx), remaining_bytes: remaining, blob });
    if (!ok) await Promise.race([once(call, 'drain'), once(call, 'close')]);
  };
  try {
    for await (const chunk of source) {
      if (cancelled) return;
      sha.update(chunk);
      await send(chunk, Math.max(1, estimate - sent - chunk.length));
    }
  } finally {
    source.close?.();
  }
  if (cancelled) return;
  const pad = Buffer.alloc((SNAPSHOT_ALIGN - (sent % SNAPSHOT_ALIGN)) % SNAPSHOT_ALIGN);
  sha.update(pad);
  await send(Buffer.concat([pad, sha.digest()]), 0);
  call.end();
}
