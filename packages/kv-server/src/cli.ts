#!/usr/bin/env node
// raft-kv: runs one replicated KV server node (see `raft-kv --help`).
import { type CliConfig, USAGE, parseCli } from './cli/args.js';
import { ConfigError } from './cli/cluster-spec.js';
import { createCliLogger } from './cli/logger.js';
import { writeNodeFile } from './cli/node-file.js';
import { describeStartError } from './cli/start-errors.js';
import { waitForLeader } from './cli/wait-leader.js';
import { KvServer } from './server.js';
import { boundHeapGrowth } from './heap.js';

/** Peers that are not up yet are expected for this long after start (log-policy.ts). */
const STARTUP_GRACE_MS = 30_000;

async function main(): Promise<number> {
  boundHeapGrowth();
  let cfg: CliConfig | 'help';
  try {
    cfg = parseCli(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`raft-kv: ${err.message}\n(see raft-kv --help)\n`);
      return 2;
    }
    throw err;
  }
  if (cfg === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const config = cfg;
  const root = await createCliLogger({
    level: config.logLevel,
    format: config.logFormat,
    bootstrapEntries: config.join === undefined ? config.cluster.length : 0,
    startupGraceMs: STARTUP_GRACE_MS,
  });
  // raft-node tags its own lines with {node}; the server's lines get it through a child.
  const logger = root.child({ node: config.id });
  const server = new KvServer(config, logger, root);

  let stopping = false;
  const shutdown = (reason: string): void => {
    if (stopping) {
      logger.warn({ reason }, 'asked to stop again: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ reason }, 'shutting down');
    server.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // A removed member cannot serve any more: as etcd's members do, it exits, with code 0 (a
  // service manager that restarts it would only see it refused and exit again).
  server.on('removed', () => {
    logger.warn({ id: config.id }, 'removed from the cluster: exiting');
    shutdown('removed from the cluster');
  });
  server.on('failed', () => {
    server.stop().finally(() => process.exit(1));
  });

  try {
    // Before anything else is written: the data dir then always says whose it is.
    writeNodeFile(config.dataDir, config);
    await server.start();
  } catch (err) {
    await server.stop().catch(() => {});
    const line = describeStartError(err, {
      [config.clientListen]: 'client API',
      [config.peerListen]: 'raft peer port',
    });
    if (line === undefined) {
      logger.fatal({ err }, 'failed to start');
    } else {
      process.stderr.write(`raft-kv: node ${config.id}: ${line}\n`);
    }
    return 1;
  }
  // Ready once requests can be served: a leader is known.
  const leader = await waitForLeader(server, logger);
  if (leader === undefined) return -1; // stopping meanwhile
  logger.info(
    {
      clientUrl: config.advertiseClient,
      peer: config.advertisePeer,
      leader,
      dataDir: config.dataDir,
    },
    'raft-kv ready',
  );
  return -1; // keep running until a signal
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`raft-kv: ${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  },
);
