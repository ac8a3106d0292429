// etcd's Lease service: LeaseGrant, LeaseRevoke, LeaseKeepAlive (a stream), LeaseTimeToLive
// and LeaseLeases. Grants and revokes are raft commands (kv/command.ts); the leases live in
// the store. Deadlines are the leader's (lease-keeper.ts): a follower forwards keepalives and
// TTL queries to it (lease-forward.ts), as etcd does.
import { randomBytes } from 'node:crypto';
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { bytesOf } from '../kv/bytes.js';
import { type GrpcContext, header } from './context.js';
import { EtcdError, Errors, toEtcdError, txnError } from './errors.js';
import { LeaseForwarder } from './lease-forward.js';
import { LeaseKeeper } from './lease-keeper.js';
import { type Msg, propose, unary } from './unary.js';

/** etcd's MaxLeaseTTL (lease/lessor.go): 9,000,000,000 seconds. */
export const MAX_LEASE_TTL = 9_000_000_000;

/**
 * etcd's minimum TTL: 1.5 election timeouts, in whole seconds rounded up (so a lease
 * outlives a leader election); shorter grants get it. etcd's defaults (election 1 s) give 2.
 */
export function minLeaseTtl(tickMs: number, electionTick: number): number {
  return Math.max(1, Math.ceil((3 * electionTick * tickMs) / 2 / 1000));
}

export interface LeaseService {
  impl: UntypedServiceImplementation;
  keeper: LeaseKeeper;
  close(): void;
}

export function leaseService(ctx: GrpcContext): LeaseService {
  const keeper = new LeaseKeeper({
    now: () => performance.now(),
    isLeader: () => ctx.consensus.isLeader(),
    leases: () => ctx.sm.leaseList(),
    ttlOf: (id) => ctx.sm.leaseTtl(id),
    generation: () => ctx.sm.leaseGeneration,
    revoke: async (id) => {
      const r = await propose(ctx, { op: 'leaseRevoke', id });
      if (r?.op === 'leaseRevoke')
        ctx.logger.info({ lease: id, deleted: r.deleted }, 'lease expired');
    },
    warn: (err, id) => ctx.logger.warn({ err, lease: id }, 'revoking an expired lease failed'),
  });
  const unsubscribe = ctx.sm.onLeaseChange(() => keeper.tick());
  keeper.start();
  const forward = new LeaseForwarder(ctx);
  const streams = new Set<() => void>();
  const minTtl = ctx.minLeaseTtl ?? 2;

  const impl: UntypedServiceImplementation = {
    LeaseGrant: unary(ctx, async (req) => {
      const ttl = Number(req.TTL ?? 0);
      let id = Number(req.ID ?? 0);
      if (ttl > MAX_LEASE_TTL) throw Errors.leaseTtlTooLarge();
      if (!Number.isSafeInteger(id) || id < 0) {
        throw new EtcdError(
          status.INVALID_ARGUMENT,
          `raft-kv: lease ID ${req.ID} is not one raft-kv can hold (0 < ID < 2^53)`,
        );
      }
      if (id === 0) id = newLeaseId();
      const r = await propose(ctx, { op: 'leaseGrant', id, ttl: Math.max(ttl, minTtl) });
      if (r?.op === 'txnError') throw txnError(r.code);
      if (r?.op !== 'leaseGrant') throw new Error(`unexpected result ${r?.op}`);
      return { header: header(ctx, r.revision), ID: r.id, TTL: r.ttl, error: '' };
    }),
    LeaseRevoke: unary(ctx, async (req) => {
      const r = await propose(ctx, { op: 'leaseRevoke', id: leaseId(req.ID) });
      if (r?.op === 'txnError') throw txnError(r.code);
      if (r?.op !== 'leaseRevoke') throw new Error(`unexpected result ${r?.op}`);
      return { header: header(ctx, r.revision) };
    }),
    LeaseTimeToLive: unary(ctx, async (req) => {
      const id = leaseId(req.ID);
      if (!keeper.isLeading) return forward.timeToLive({ ID: id, keys: req.keys === true });
      const remaining = keeper.remaining(id);
      const granted = ctx.sm.leaseTtl(id);
      if (remaining === undefined || granted === undefined) {
        // etcd answers a lease that is gone with TTL -1, not an error.
        return { header: header(ctx), ID: id, TTL: -1, grantedTTL: 0, keys: [] };
      }
      const keys = req.keys === true ? ctx.sm.leaseKeyList(id).map(bytesOf) : [];
      return { header: header(ctx), ID: id, TTL: remaining, grantedTTL: granted, keys };
    }),
    LeaseLeases: unary(ctx, async () => ({
      header: header(ctx),
      leases: ctx.sm.leaseList().map((l) => ({ ID: l.id })),
    })),
    LeaseKeepAlive: (call: ServerDuplexStream<Msg, Msg>) => {
      // Answers in request order: each waits for the one before (a forward may take a while).
      let chain: Promise<void> = Promise.resolve();
      const end = (): void => {
        streams.delete(end);
        call.end();
      };
      streams.add(end);
      call.on('data', (req: Msg) => {
        chain = chain.then(async () => {
          try {
            const id = leaseId(req.ID);
            const ttl = keeper.isLeading ? keeper.renew(id) : await forward.keepAlive(id);
            if (!call.cancelled) call.write({ header: header(ctx), ID: id, TTL: ttl });
          } catch (err) {
            // grpc-js sends an error status for an 'error' event (destroy() would send none,
            // and the client would wait for its own timeout).
            const e = toEtcdError(err);
            if (e.code === status.UNKNOWN) ctx.logger.error({ err }, 'a lease keepalive failed');
            streams.delete(end);
            call.emit('error', e);
          }
        });
      });
      call.on('end', end);
      call.on('cancelled', () => streams.delete(end));
      call.on('error', () => streams.delete(end));
    },
  };
  return {
    impl,
    keeper,
    close: () => {
      unsubscribe();
      keeper.stop();
      forward.close();
      for (const end of [...streams]) end();
    },
  };
}

function leaseId(v: unknown): number {
  const id = Number(v ?? 0);
  if (!Number.isSafeInteger(id) || id <= 0) throw Errors.leaseNotFound();
  return id;
}

/** A fresh lease id below 2^53 (etcd's are 63-bit; JS numbers hold 53 exactly). */
function newLeaseId(): number {
  return Number(randomBytes(8).readBigUInt64BE(0) >> 11n) || 1;
}
