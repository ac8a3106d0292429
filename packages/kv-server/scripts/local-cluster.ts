// `npx -y pnpm@10 start`: a local raft-kv cluster on 127.0.0.1 in one command (see USAGE).
// Each node is a raft-kv child process in its own process group, so a terminal's Ctrl+C
// reaches this script alone, which stops every node once (SIGTERM) and exits 0.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KvClient } from '../src/client.js';
import { ProcessCluster, type ProcessNode } from '../src/process-cluster.js';
import { isRunning, sendControl, serveControl, socketPath } from './local-cluster/control.js';
import { nodeLine, say } from './local-cluster/output.js';
import {
  DEFAULT_BASE_PORT,
  DEFAULT_PORT_STEP,
  firstBusyPort,
  maxNodes,
  nodePorts,
} from './local-cluster/ports.js';
import {
  type ClusterShape,
  readShape,
  shapeConflict,
  writeShape,
} from './local-cluster/settings.js';

const DEFAULT_DIR = '.local-cluster';

const USAGE = `usage: npx -y pnpm@10 start [options]

Runs a local raft-kv cluster on 127.0.0.1, data in ./${DEFAULT_DIR}/node-<id> (a second run
restarts the same cluster with its data). Ctrl+C stops every node and exits.

options:
  --nodes <n>        how many nodes (default 3; the data dir remembers it)
  --fresh            delete the data first and start a new cluster
  --dir <path>       where the data goes (default ./${DEFAULT_DIR})
  --restart <id>     restart node <id> of the cluster running in --dir (after it exited),
                     as a node of that cluster: its Ctrl+C stops it too
  --log-level <l>    the nodes' log level (default info)
  --base-port <p>    node 1's client port (default ${DEFAULT_BASE_PORT})
  --port-step <s>    port distance between nodes (default ${DEFAULT_PORT_STEP})
  -h, --help         this text

ports: node i serves clients on base + (i-1) * step and raft on the next port:
  node 1: 2379 (raft 2380), node 2: 12379 (12380), node 3: 22379 (22380), …,
  node 7: 62379 (62380); with the default pattern, 7 nodes at most.

examples:
  npx -y pnpm@10 start --nodes 5 --fresh     a new 5-node cluster
  npx -y pnpm@10 start --restart 2           bring node 2 back after it exited`;

class UsageError extends Error {}

function int(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = /^[0-9]+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${v}"`);
  }
  return n;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string' },
      fresh: { type: 'boolean' },
      dir: { type: 'string' },
      restart: { type: 'string' },
      'log-level': { type: 'string' },
      'base-port': { type: 'string' },
      'port-step': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
}

type Options = ReturnType<typeof parse>;

/** The command that restarts node `id` of the cluster in `dir`, as the user types it. */
function restartCommand(id: number, dirArg: string | undefined): string {
  const dir = dirArg === undefined ? '' : ` --dir ${JSON.stringify(dirArg)}`;
  return `npx -y pnpm@10 start --restart ${id}${dir}`;
}

/** The leader every node reports, once they all agree on one; else 0. */
async function agreedLeader(nodes: ProcessNode[]): Promise<number> {
  const seen = new Set<number>();
  for (const n of nodes) {
    try {
      seen.add((await new KvClient(n.clientUrl).status({ timeoutMs: 1000 })).leader);
    } catch {
      return 0;
    }
  }
  const [leader] = seen;
  return seen.size === 1 ? (leader ?? 0) : 0;
}

async function servingOrExited(node: ProcessNode, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && node.running) {
    try {
      await new KvClient(node.clientUrl).status({ timeoutMs: 1000 });
      return true;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** `--restart <id>`: asks the cluster running in the dir to restart that node. */
async function restart(o: Options, baseDir: string): Promise<number> {
  const id = int('restart', o.restart, 1, 1000)!;
  if (!(await isRunning(baseDir))) {
    say(`local-cluster: no cluster is running in ${baseDir}; start it: npx -y pnpm@10 start`);
    return 1;
  }
  const reply = await sendControl(baseDir, { restart: id });
  say(`local-cluster: ${reply.message}`);
  return reply.ok ? 0 : 1;
}

function wantedShape(o: Options, saved: ClusterShape | undefined): ClusterShape {
  const base = int('base-port', o['base-port'], 1024, 65_534) ?? saved?.base ?? DEFAULT_BASE_PORT;
  const step = int('port-step', o['port-step'], 2, 60_000) ?? saved?.step ?? DEFAULT_PORT_STEP;
  const most = maxNodes({ base, step });
  const nodes = int('nodes', o.nodes, 1, Math.max(1, most)) ?? saved?.nodes ?? 3;
  if (nodes > most) {
    throw new UsageError(`the ports of ${nodes} nodes do not fit: at most ${most} (see --help)`);
  }
  return { nodes, base, step };
}

async function run(o: Options, baseDir: string): Promise<number> {
  if (await isRunning(baseDir)) {
    say(`local-cluster: a cluster is already running in ${baseDir} (Ctrl+C it first)`);
    return 1;
  }
  if (o.fresh) rmSync(baseDir, { recursive: true, force: true });
  const saved = readShape(baseDir);
  const shape = wantedShape(o, saved);
  const conflict = saved === undefined ? undefined : shapeConflict(saved, shape);
  if (conflict !== undefined) {
    say(`local-cluster: the data in ${baseDir} is another cluster's (${conflict}); add --fresh`);
    return 2;
  }
  const ids = Array.from({ length: shape.nodes }, (_, i) => i + 1);
  const ports = ids.map((id) => nodePorts(shape, id));
  const busy = await firstBusyPort(ports);
  if (busy !== undefined) {
    say(
      `local-cluster: port ${busy.port} on 127.0.0.1 (node ${busy.id}, ${busy.what}) is in use: ` +
        'stop what holds it, or choose other ports (--base-port, see --help); nothing started',
    );
    return 1;
  }
  writeShape(baseDir, shape);

  const cluster = new ProcessCluster({
    baseDir,
    onLine: nodeLine,
    logLevel: o['log-level'] ?? 'info',
    detached: true,
  });
  for (const p of ports) cluster.defineAt(p.id, p.client, p.peer);

  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  let failure = '';
  const stop = async (code: number): Promise<never> => {
    phase = 'stopping';
    const running = cluster.running().length;
    if (running > 0) say(`\nstopping ${running} node${running === 1 ? '' : 's'}…`);
    await cluster.stop();
    rmSync(socketPath(baseDir), { force: true });
    if (code === 0) say('stopped');
    process.exit(code);
  };
  const onSignal = (): void => {
    if (phase !== 'stopping') void stop(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // Should this script die another way, its nodes (in their own process groups) go too.
  process.on('exit', () => {
    for (const n of cluster.running()) n.proc?.kill('SIGTERM');
  });

  const watch = (n: ProcessNode): void => {
    const proc = n.proc;
    void n.exited.then((code) => {
      if (phase === 'stopping' || n.proc !== proc) return;
      if (phase === 'starting') {
        failure = `node ${n.id} exited during start-up (${code})`;
        return;
      }
      say(
        `local-cluster: node ${n.id} exited (${code}); the others keep running. ` +
          `Restart it with: ${restartCommand(n.id, o.dir)}`,
      );
    });
  };

  await serveControl(baseDir, async (req) => {
    const n = cluster.nodes.get(req.restart);
    if (n === undefined) return { ok: false, message: `no node ${req.restart} in this cluster` };
    if (phase === 'stopping') return { ok: false, message: 'the cluster is stopping' };
    if (n.running) return { ok: false, message: `node ${n.id} is running` };
    n.spawn([]);
    watch(n);
    const ok = await servingOrExited(n, 30_000);
    return ok
      ? {
          ok: true,
          message: `node ${n.id} restarted: ${n.clientUrl} (Ctrl+C of the cluster stops it)`,
        }
      : { ok: false, message: `node ${n.id} did not come back (see the cluster's output)` };
  });

  await cluster.start(shape.nodes);
  for (const n of cluster.nodes.values()) watch(n);
  const nodes = [...cluster.nodes.values()];
  let leader = 0;
  const deadline = Date.now() + 60_000;
  while (leader === 0 && failure === '' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    leader = await agreedLeader(nodes);
  }
  if (failure !== '' || leader === 0) {
    say(`local-cluster: ${failure || 'no leader within 60 s'}; stopping the others`);
    return stop(1);
  }
  phase = 'running';
  const urls = nodes.map((n) => n.clientUrl);
  const a = urls[0]!;
  const b = urls[1 % urls.length]!;
  say(
    [
      '',
      `tsraft kv: a ${shape.nodes}-node cluster on 127.0.0.1, data in ${baseDir}`,
      ...nodes.map(
        (n) =>
          `  node ${n.id}: ${n.clientUrl}  (raft ${n.peerAddr})${n.id === leader ? '  leader' : ''}`,
      ),
      'try:',
      `  curl -X PUT ${a}/v1/kv/greeting -d '{"value":"hello"}'`,
      `  curl ${b}/v1/kv/greeting`,
      `  curl '${urls[urls.length - 1]}/v1/kv?prefix=gr'`,
      `  curl ${a}/status`,
      `  curl ${a}/v1/members`,
      `  curl ${a}/metrics`,
      `A node that exits can be brought back: ${restartCommand(2, o.dir).replace(' 2', ' <id>')}`,
      'Ctrl+C stops the cluster (its data stays; `npx -y pnpm@10 start --fresh` starts over).',
      '',
    ].join('\n'),
  );
  return -1; // runs until a signal
}

async function main(): Promise<number> {
  // `npx -y pnpm@10 start -- --fresh` passes the "--" through: drop it.
  const argv = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
  let o: Options;
  try {
    o = parse(argv);
  } catch (err) {
    say(`local-cluster: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (o.help) {
    say(USAGE);
    return 0;
  }
  const baseDir = resolve(o.dir ?? DEFAULT_DIR);
  try {
    return o.restart !== undefined ? await restart(o, baseDir) : await run(o, baseDir);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    say(`local-cluster: ${err.message}`);
    return 2;
  }
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`local-cluster: ${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  },
);
