// What the gRPC services get: the HTTP API's context plus this member's and cluster's ids.
import { createHash } from 'node:crypto';
import type { ApiContext } from '../http/context.js';

export interface GrpcContext extends ApiContext {
  memberId: number;
  /** etcd's cluster_id: a number, derived from raft-kv's --cluster-id. */
  clusterId: number;
  /** The store's directory, whose size Maintenance.Status reports. */
  storeDir: string;
  /** etcd's minimum lease TTL in seconds (lease-service.ts minLeaseTtl); default 2. */
  minLeaseTtl?: number;
  /**
   * etcd's --experimental-watch-progress-notify-interval: how often watchers that asked for
   * progress notifications and are up to date get one. Default 10 minutes.
   */
  watchProgressNotifyMs?: number;
  /**
   * etcd's --max-request-bytes as watch fragmentation uses it: a watch response larger than
   * this is split for watchers created with `fragment`. Default 1.5 MiB.
   */
  maxRequestBytes?: number;
}

/** A stable 53-bit number for a cluster id string (etcd's cluster ids are numbers). */
export function numericClusterId(id: string): number {
  return Number(createHash('sha256').update(id).digest().readBigUInt64BE(0) >> 11n);
}

/** etcd's ResponseHeader. */
export function header(ctx: GrpcContext, revision = ctx.sm.revision) {
  return {
    cluster_id: ctx.clusterId,
    member_id: ctx.memberId,
    revision,
    raft_term: ctx.consensus.term(),
  };
}
