// etcd's gRPC API and the JSON API on one client port over the in-memory consensus (always
// the leader) and a real on-disk store, with an etcd3 client connected to it.
import http from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { Etcd3 } from 'etcd3';
import { createClientPort } from '../../src/client-port.js';
import { type GrpcContext, numericClusterId } from '../../src/grpc/context.js';
import { type EtcdGrpcServer, createEtcdGrpcServer } from '../../src/grpc/server.js';
import { handleRequest } from '../../src/http/server.js';
import { type Harness, startApi } from './api-harness.js';

export interface EtcdHarness {
  /** The store, consensus and HTTP API behind the port. */
  h: Harness;
  grpc: EtcdGrpcServer;
  ctx: GrpcContext;
  /** host:port of the client port. */
  base: string;
  client: Etcd3;
  close(): Promise<void>;
}

export async function startEtcd(
  extra: Partial<
    Pick<GrpcContext, 'minLeaseTtl' | 'watchProgressNotifyMs' | 'maxRequestBytes'>
  > = {},
): Promise<EtcdHarness> {
  const h = await startApi();
  const ctx: GrpcContext = {
    ...h.ctx,
    memberId: 1,
    clusterId: numericClusterId('tsraft'),
    storeDir: h.sm.options.dir,
    ...extra,
  };
  const grpc = createEtcdGrpcServer(ctx);
  const http1 = http.createServer((req, res) => void handleRequest(h.ctx, req, res));
  const port: Server = createClientPort(http1, grpc);
  await new Promise<void>((resolve) => port.listen(0, '127.0.0.1', resolve));
  const base = `127.0.0.1:${(port.address() as AddressInfo).port}`;
  const client = new Etcd3({ hosts: base });
  return {
    h,
    grpc,
    ctx,
    base,
    client,
    close: async () => {
      client.close();
      await grpc.close();
      http1.closeAllConnections();
      await new Promise<void>((resolve) => port.close(() => resolve()));
      await h.close();
    },
  };
}

/** Polls `ok` every `everyMs` until it holds; throws after `ms`. */
export async function waitUntil(
  ok: () => boolean | Promise<boolean>,
  ms = 5000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${ok}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
