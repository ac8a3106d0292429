// The gRPC server of etcd's v3 API. It never listens itself: the client port's listener
// (client-port.ts) hands it the connections that speak HTTP/2, through grpc-js's connection
// injector, and the rest to the HTTP/1.1 JSON API. Unary calls are answered on node:http2
// directly (direct-unary.ts), streaming calls by grpc-js.
import type { Duplex } from 'node:stream';
import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { authService } from './auth-service.js';
import { clusterService } from './cluster-service.js';
import type { GrpcContext } from './context.js';
import { DirectUnaryMethods, serveUnaryDirectly } from './direct-unary.js';
import { kvService } from './kv-service.js';
import { leaseService } from './lease-service.js';
import { maintenanceService } from './maintenance-service.js';
import { etcdServices } from './proto.js';
import { watchService } from './watch-service.js';

export interface EtcdGrpcServer {
  /** Serves gRPC on a connection that starts with the HTTP/2 preface. */
  inject(connection: Duplex): void;
  /**
   * Takes no new calls, lets those in flight finish for up to `graceMs`, then ends every call
   * and connection.
   */
  close(graceMs?: number): Promise<void>;
}

export function createEtcdGrpcServer(ctx: GrpcContext): EtcdGrpcServer {
  const services = etcdServices();
  // No channelz service is served: its per-call and per-session tracking would cost for nothing.
  const server = new Server({ 'grpc.enable_channelz': 0 });
  const direct = new DirectUnaryMethods();
  const add = (definition: ServiceDefinition, impl: UntypedServiceImplementation): void => {
    server.addService(definition, impl);
    direct.add(definition, impl);
  };
  add(services.KV, kvService(ctx));
  add(services.Maintenance, maintenanceService(ctx));
  add(services.Cluster, clusterService(ctx));
  add(services.Auth, authService(ctx));
  const watch = watchService(ctx);
  add(services.Watch, watch.impl);
  const lease = leaseService(ctx);
  add(services.Lease, lease.impl);
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  serveUnaryDirectly(server, direct);
  return {
    inject: (c) => injector.injectConnection(c),
    close: (graceMs = 0) =>
      new Promise<void>((resolve) => {
        watch.close(); // watch streams never end by themselves
        lease.close(); // nor do keepalive streams
        const force = (): void => {
          server.forceShutdown();
          injector.destroy();
          resolve();
        };
        const timer = setTimeout(force, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          force();
        });
      }),
  };
}
