// etcd's Cluster.MemberList and Maintenance.Status and Alarm: what `etcdctl member list` and
// `etcdctl endpoint status/health` ask.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { type GrpcContext, header } from './context.js';

/** The etcd API version raft-kv answers as (its protos are etcd 3.4's). */
export const ETCD_VERSION = '3.4.0';

// biome-ignore lint/suspicious/noExplicitAny: proto-loader's messages are plain objects
type Msg = Record<string, any>;

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

function sync(handle: () => Msg) {
  return (_call: ServerUnaryCall<Msg, Msg>, cb: sendUnaryData<Msg>) => {
    try {
      cb(null, handle());
    } catch (err) {
      cb(err as Error);
    }
  };
}

export function maintenanceService(ctx: GrpcContext): UntypedServiceImplementation {
  return {
    Status: sync(() => {
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
    Alarm: sync(() => ({ header: header(ctx), alarms: [] })),
  };
}

export function clusterService(ctx: GrpcContext): UntypedServiceImplementation {
  return {
    MemberList: sync(() => ({
      header: header(ctx),
      members: ctx.consensus.members().map((m) => {
        const rec = ctx.sm.member(m.id);
        const peer = rec?.peerUrl ?? m.peerAddr;
        return {
          ID: m.id,
          name: `node-${m.id}`,
          peerURLs: peer === undefined ? [] : [peer.includes('://') ? peer : `http://${peer}`],
          clientURLs: rec === undefined ? [] : [rec.clientUrl],
          isLearner: m.isLearner,
        };
      }),
    })),
  };
}
