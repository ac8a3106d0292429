#!/usr/bin/env node
// raft-kv: runs one replicated KV server node (see `raft-kv --help`).
import { pino } from 'pino';
import { USAGE, parseCli } from './cli/args.js';
import { ConfigError } from './cli/cluster-spec.js';
import { KvServer } from './server.js';

async function main(): Promise<number> {
  let cfg: ReturnType<typeof parseCli>;
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
  // raft-node tags its own lines with {node}; the server's lines get it through a child.
  const root = pino({ level: cfg.logLevel });
  const logger = root.child({ node: cfg.id });
  const server = new KvServer(cfg, logger, root);

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
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // A removed member cannot serve any more: as etcd's members do, it exits, with code 0 (a
  // service manager that restarts it would only see it refused and exit again).
  server.on('removed', () => {
    logger.warn({ id: cfg.id }, 'removed from the cluster: exiting');
    shutdown('removed from the cluster');
  });
  server.on('failed', () => {
    server.stop().finally(() => process.exit(1));
  });

  try {
    await server.start();
  } catch (err) {
    logger.fatal({ err }, 'failed to start');
    await server.stop().catch(() => {});
    return 1;
  }
  logger.info(
    { clientUrl: cfg.advertiseClient, peer: cfg.advertisePeer, dataDir: cfg.dataDir },
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
