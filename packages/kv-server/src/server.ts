// KvServer: one node of the replicated KV service — a RaftNode driving the KV state machine,
// the client port in front of it (the HTTP JSON API and etcd's v3 gRPC API on one address,
// cleartext or TLS), and the member-attribute publishing. The CLI is a thin shell
// around it; tests and embedders can use it directly.
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Server as NetServer } from 'node:net';
import type { Logger } from 'pino';
import { splitHostPort } from './addr.js';
import { AutoCompactor, checkIntervalMs } from './auto-compaction.js';
import { createClientPort } from './client-port.js';
import { TlsClientPort } from './client-port-tls.js';
import type { ServerConfig } from './config.js';
import { numericClusterId } from './grpc/context.js';
import { minLeaseTtl } from './grpc/lease-service.js';
import { type EtcdGrpcServer, createEtcdGrpcServer } from './grpc/server.js';
import type { ApiContext } from './http/context.js';
import { type ApiServer, closeServer, createApiServer } from './http/server.js';
import { DEFAULT_LIMITS, type Limits } from './http/validate.js';
import { joinCluster } from './join.js';
import { encodeCommand } from './kv/command.js';
import { KvStateMachine } from './kv/state-machine.js';
import { KvMetrics } from './metrics/kv-metrics.js';
import { publishSelf } from './publish.js';
import { RaftConsensus } from './raft-consensus.js';

export interface KvServerEvents {
  /** This node was removed from the cluster; it can no longer serve. */
  removed: [];
  /** raft-node failed (storage or state machine error) and stopped. */
  failed: [Error];
}

export class KvServer extends EventEmitter<KvServerEvents> {
  /** The KV store, on disk in <data-dir>/kv; raft-node opens and closes it. */
  readonly sm: KvStateMachine;
  readonly metrics = new KvMetrics();
  private raft: RaftConsensus | null = null;
  private http: ApiServer | null = null;
  /** etcd's v3 gRPC API, and the port that hands it its connections (client-port*.ts). */
  private grpc: EtcdGrpcServer | null = null;
  private port: NetServer | null = null;
  private readonly background = new AbortController();
  private publishing: Promise<void> = Promise.resolve();
  private compactTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly config: ServerConfig,
    readonly logger: Logger,
    /** The logger raft-node derives its own from (it adds {node: id}); default `logger`. */
    private readonly raftLogger: Logger = logger,
    readonly limits: Limits = DEFAULT_LIMITS,
  ) {
    super();
    this.sm = new KvStateMachine({ dir: join(config.dataDir, 'kv') });
    this.metrics.watchStore(this.sm);
  }

  get consensus(): RaftConsensus {
    if (this.raft === null) throw new Error('the server is not started');
    return this.raft;
  }

  async start(): Promise<void> {
    const cfg = this.config;
    let peers = new Map(cfg.cluster.map((m) => [m.id, m.peerUrl] as const));
    // Once the data dir holds a log (raft-node keeps it in <dataDir>/db), membership and
    // addresses come from it: a restarted node does not ask to join again.
    const hasLog = existsSync(join(cfg.dataDir, 'db'));
    if (cfg.join !== undefined && hasLog) {
      this.logger.info(
        { dataDir: cfg.dataDir },
        '--join ignored: the data dir already holds a log',
      );
    } else if (cfg.join !== undefined) {
      peers = await joinCluster(
        {
          via: cfg.join,
          id: cfg.id,
          peerUrl: cfg.advertisePeer,
          learner: cfg.learner,
          // Our own client certificate, as etcd's client uses --cert-file / --key-file.
          ...(cfg.clientTls === undefined ? {} : { tls: cfg.clientTls }),
        },
        this.logger,
      );
    }
    this.raft = new RaftConsensus({
      config: cfg,
      peers,
      join: cfg.join !== undefined,
      stateMachine: this.sm,
      logger: this.raftLogger,
    });
    this.raft.node.on('removed', () => {
      this.logger.warn('this node was removed from the cluster');
      this.emit('removed');
    });
    this.raft.node.on('error', (err) => {
      this.logger.error({ err }, 'raft node failed');
      this.emit('failed', err);
    });
    await this.raft.start();
    void this.campaignIfAlone(this.raft);
    this.raft.registerMetrics(this.metrics.registry);

    const ctx: ApiContext = {
      consensus: this.raft,
      sm: this.sm,
      metrics: this.metrics,
      logger: this.logger,
      options: {
        limits: this.limits,
        requestTimeoutMs: cfg.requestTimeoutMs,
        followerWrites: cfg.followerWrites,
      },
    };
    // The port takes the connections (and ends TLS) and hands them to the HTTP/1 server or
    // to the gRPC server by the protocol they speak.
    const server = createApiServer(ctx);
    this.http = server;
    this.grpc = createEtcdGrpcServer({
      ...ctx,
      memberId: cfg.id,
      clusterId: numericClusterId(cfg.clusterId),
      storeDir: this.sm.options.dir,
      minLeaseTtl: minLeaseTtl(cfg.tickMs ?? 100, cfg.electionTick ?? 10),
      ...(cfg.watchProgressNotifyMs === undefined
        ? {}
        : { watchProgressNotifyMs: cfg.watchProgressNotifyMs }),
    });
    const listener: NetServer =
      cfg.clientTls === undefined
        ? createClientPort(server, this.grpc)
        : new TlsClientPort(cfg.clientTls, server, this.grpc);
    this.port = listener;
    const { host, port } = splitHostPort(cfg.clientListen);
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(port, host, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    this.startAutoCompaction(this.raft);
    this.publishing = publishSelf(
      this.raft,
      this.sm,
      { id: cfg.id, clientUrl: cfg.advertiseClient, peerUrl: cfg.advertisePeer },
      this.logger,
      this.background.signal,
    );
  }

  /** etcd's auto-compaction: every member samples, the leader proposes (auto-compaction.ts). */
  private startAutoCompaction(raft: RaftConsensus): void {
    const config = this.config.autoCompaction;
    if (config === undefined) return;
    const compactor = new AutoCompactor(config, {
      now: () => Date.now(),
      revision: () => this.sm.revision,
      compactedRevision: () => this.sm.compactRevision,
      isLeader: () => raft.isLeader(),
      compact: async (revision) => {
        const signal = AbortSignal.timeout(this.config.requestTimeoutMs);
        await raft.propose(encodeCommand({ op: 'compact', revision }), signal);
      },
    });
    let running = false;
    this.compactTimer = setInterval(() => {
      if (running) return;
      running = true;
      compactor
        .tick()
        .then((rev) => {
          if (rev > 0) this.logger.info({ revision: rev }, 'auto-compaction: compacted');
        })
        .catch((err: unknown) => this.logger.warn({ err }, 'auto-compaction failed; next time'))
        .finally(() => {
          running = false;
        });
    }, checkIntervalMs(config));
    this.compactTimer.unref();
  }

  /**
   * A one-voter cluster need not wait out an election timeout to elect itself: campaign as
   * soon as the configuration in the log is applied (raft refuses to campaign before).
   */
  private async campaignIfAlone(raft: RaftConsensus): Promise<void> {
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && !this.background.signal.aborted) {
      const st = raft.status();
      if (st.leader !== 0 || st.voters.length !== 1 || st.voters[0] !== this.config.id) return;
      if (st.applied >= st.commit && st.commit > 0) {
        raft.node.campaign();
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Graceful: stop taking requests, let those in flight finish (2 s at most), stop raft. */
  async stop(): Promise<void> {
    this.background.abort();
    if (this.compactTimer !== null) clearInterval(this.compactTimer);
    this.compactTimer = null;
    const http = this.http;
    const port = this.port;
    if (port !== null && http !== null) {
      // The port stops accepting; it closes once the HTTP and gRPC servers have ended the
      // connections it handed them. The HTTP server never listened, so its close() does not
      // wait for them: it only closes the idle ones, the rest after the grace period.
      const portClosed = new Promise<void>((r) => port.close(() => r()));
      http.close();
      const timer = setTimeout(() => http.closeAllConnections(), 2000);
      await Promise.all([this.grpc?.close(2000), portClosed]);
      clearTimeout(timer);
    } else if (http !== null) {
      await closeServer(http, 2000);
    }
    this.port = null;
    this.grpc = null;
    this.http = null;
    if (this.raft !== null) {
      await this.raft.stop(); // rejects a member-record proposal still in flight
      this.raft = null;
    }
    await this.publishing;
  }
}
