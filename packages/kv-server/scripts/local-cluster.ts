// `pnpm start`: a local 3-node raft-kv cluster on 127.0.0.1 in one command.
//
//   node --conditions=source --import tsx packages/kv-server/scripts/local-cluster.ts [--fresh]
//
// Nodes 1-3 serve clients on 2379, 22379, 32379 and talk raft on 2380, 22380, 32380 (etcd's
// local-cluster ports). Data lives in ./.local-cluster/node-<id>, so a second run restarts the
// same cluster with its data; --fresh wipes it first, --dir <path> puts it elsewhere. Each
// node's log lines are forwarded with a [node N] prefix. Ctrl+C stops all three gracefully.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KvClient } from '../src/client.js';
import { ProcessCluster } from '../src/process-cluster.js';

const PORTS = [
  { client: 2379, peer: 2380 },
  { client: 22379, peer: 22380 },
  { client: 32379, peer: 32380 },
];

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m'];
const RESET = '\x1b[0m';
const tty = process.stdout.isTTY === true;

/** A pino JSON line as "LEVEL msg key=value …"; other lines as they are. */
function pretty(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const { level, time: _t, pid: _p, hostname: _h, node: _n, msg, ...rest } = JSON.parse(line);
    const extra = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${(LEVELS[level] ?? level).padEnd(5)} ${msg ?? ''}${extra ? ` ${extra}` : ''}`;
  } catch {
    return line;
  }
}

function out(id: number, line: string): void {
  const tag = `[node ${id}]`;
  process.stdout.write(
    `${tty ? `${COLORS[(id - 1) % COLORS.length]}${tag}${RESET}` : tag} ${pretty(line)}\n`,
  );
}

async function waitForLeader(urls: string[], timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const u of urls) {
      try {
        const s = await new KvClient(u).status({ timeoutMs: 1000 });
        if (s.leader !== 0) return s.leader;
      } catch {}
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return 0;
}

async function main(): Promise<void> {
  // `pnpm start -- --fresh` passes the "--" through: drop it.
  const argv = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
  const { values } = parseArgs({
    args: argv,
    options: {
      fresh: { type: 'boolean' },
      dir: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('usage: pnpm start [--fresh] [--dir <path>] [--log-level <level>]\n');
    return;
  }
  const baseDir = resolve(values.dir ?? '.local-cluster');
  if (values.fresh) rmSync(baseDir, { recursive: true, force: true });
  const cluster = new ProcessCluster({
    baseDir,
    onLine: out,
    logLevel: values['log-level'] ?? 'info',
  });
  for (const [i, p] of PORTS.entries()) cluster.defineAt(i + 1, p.client, p.peer);

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping the cluster…\n');
    await cluster.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  await cluster.start(3);
  for (const n of cluster.nodes.values()) {
    void n.exited.then((code) => {
      if (!stopping) out(n.id, `exited (${code}); the other nodes keep running`);
    });
  }
  const urls = [...cluster.nodes.values()].map((n) => n.clientUrl);
  const leader = await waitForLeader(urls, 30_000);
  const a = urls[0]!;
  process.stdout.write(
    [
      '',
      `tsraft kv: a 3-node cluster on 127.0.0.1, data in ${baseDir}`,
      ...[...cluster.nodes.values()].map(
        (n) =>
          `  node ${n.id}: ${n.clientUrl}  (raft ${n.peerAddr})${n.id === leader ? '  leader' : ''}`,
      ),
      leader === 0 ? '  (no leader yet: check the log lines above)' : '',
      'try:',
      `  curl -X PUT ${a}/v1/kv/greeting -d '{"value":"hello"}'`,
      `  curl ${urls[1]}/v1/kv/greeting`,
      `  curl '${urls[2]}/v1/kv?prefix=gr'`,
      `  curl ${a}/status`,
      `  curl ${a}/v1/members`,
      `  curl ${a}/metrics`,
      'Ctrl+C stops the cluster (its data stays; `pnpm start --fresh` starts over).',
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  process.stderr.write(`local-cluster: ${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});
