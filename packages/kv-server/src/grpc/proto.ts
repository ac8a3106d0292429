// etcd's v3 API definitions (proto/etcd/*.proto, vendored from etcd), loaded at start-up with
// @grpc/proto-loader. Field names stay as etcd spells them (snake_case); 64-bit integers are
// JS numbers (revisions, ids and sizes here stay below 2^53); bytes are Buffers.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type GrpcObject, type ServiceDefinition, loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** Where proto/etcd is from this module: src/grpc and dist/grpc, or raft-kv's cached bundle */
// (src/grpc/x.ts, dist/grpc/x.js; node_modules/.cache/raft-kv/cli-<hash>.mjs in the package).
const CANDIDATES = ['../../proto/etcd/', '../../../proto/etcd/'];

function protoDir(): string {
  for (const rel of CANDIDATES) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}rpc.proto`)) return dir;
  }
  throw new Error(`etcd's .proto files not found beside ${fileURLToPath(import.meta.url)}`);
}

export interface EtcdServices {
  KV: ServiceDefinition;
  Maintenance: ServiceDefinition;
  Cluster: ServiceDefinition;
  Watch: ServiceDefinition;
  Auth: ServiceDefinition;
  Lease: ServiceDefinition;
}

let loaded: EtcdServices | undefined;

export function etcdServices(): EtcdServices {
  if (loaded !== undefined) return loaded;
  const def = loadSync('rpc.proto', {
    includeDirs: [protoDir()],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = loadPackageDefinition(def).etcdserverpb as GrpcObject;
  const service = (name: string) =>
    (pkg[name] as unknown as { service: ServiceDefinition }).service;
  loaded = {
    KV: service('KV'),
    Maintenance: service('Maintenance'),
    Cluster: service('Cluster'),
    Watch: service('Watch'),
    Auth: service('Auth'),
    Lease: service('Lease'),
  };
  return loaded;
}
