// startup — how long a raft-kv process takes from spawn to serving.
//
// Two ways to run the CLI, alternating in the same run so that both meet the same load:
// cli=bundle is bin/raft-kv.mjs, what a test or `npx -y pnpm@10 start` runs (cliCommand(): a
// cached esbuild bundle of the sources); cli=tsx is how raft-kv ran before, tsx compiling the
// TypeScript sources at each start. For each, one raft-kv node on 127.0.0.1:
// - `--help`: spawn to exit (the cost of loading the program, nothing else);
// - first start: spawn with an empty data dir until GET /status answers 200 ("serving"), and
//   until the node leads (a one-node cluster elects itself at once);
// - restart: the same node again from its data dir, the same two figures.
// Each sample is one process; the data dir is fresh for every first start. The process is
// stopped with SIGTERM after each sample.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { ProcessCluster, cliCommand } from '@tsraft/kv-server/process-cluster';
import type { SuiteContext } from '../lib/suite.js';

interface Times {
  serving: number;
  leader: number;
}

async function status(url: string): Promise<{ leader: number } | undefined> {
  try {
    const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(1000) });
    if (res.status !== 200) return undefined;
    return (await res.json()) as { leader: number };
  } catch {
    return undefined;
  }
}

/** Spawns node 1 of `cluster` and times it to serving and to leading. */
async function timeStart(cluster: ProcessCluster, cliArgs?: string[]): Promise<Times> {
  const node = cluster.node(1);
  const t0 = performance.now();
  node.spawn([], cliArgs);
  let serving = 0;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const s = await status(node.clientUrl);
    if (s !== undefined && serving === 0) serving = performance.now() - t0;
    if (s !== undefined && s.leader !== 0) {
      const leader = performance.now() - t0;
      await node.kill('SIGTERM');
      return { serving, leader };
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await node.kill('SIGKILL');
  throw new Error('raft-kv did not serve within 30 s');
}

const TSX_SOURCE = [
  '--conditions=source',
  '--import',
  'tsx',
  fileURLToPath(new URL('../../packages/kv-server/src/cli.ts', import.meta.url)),
];

export default async function run(ctx: SuiteContext): Promise<void> {
  const runs = ctx.quick ? 2 : 7;
  const { cmd, args, cwd } = cliCommand();
  ctx.note(`cli=bundle: node ${args.join(' ')}; cli=tsx: node ${TSX_SOURCE.join(' ')}`);
  const clis = { bundle: args, tsx: TSX_SOURCE };

  for (const [cli, cliArgs] of Object.entries(clis)) {
    const help: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const t0 = performance.now();
      const r = spawnSync(cmd, [...cliArgs, '--help'], { cwd, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`raft-kv --help failed: ${r.stderr}`);
      if (i > 0) help.push(performance.now() - t0); // the first run warms caches
    }
    ctx.record({ name: 'help', params: { cli }, unit: 'ms', samples: help });
  }

  const times: Record<string, { first: Times[]; restart: Times[] }> = {
    bundle: { first: [], restart: [] },
    tsx: { first: [], restart: [] },
  };
  for (let i = 0; i <= runs; i++) {
    for (const [cli, cliArgs] of Object.entries(clis)) {
      const dir = mkdtempSync(join(tmpdir(), 'tsraft-bench-startup-'));
      const cluster = new ProcessCluster({ baseDir: dir, logLevel: 'warn' });
      try {
        await cluster.define(1);
        const a = await timeStart(cluster, cliArgs);
        const b = await timeStart(cluster, cliArgs);
        if (i > 0) {
          times[cli]!.first.push(a);
          times[cli]!.restart.push(b);
        }
        ctx.log(
          `run ${i} ${cli}: first ${a.serving.toFixed(0)} ms, restart ${b.serving.toFixed(0)} ms`,
        );
      } finally {
        await cluster.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  for (const [cli, t] of Object.entries(times)) {
    for (const start of ['first', 'restart'] as const) {
      const ts = t[start];
      ctx.record({
        name: 'serving',
        params: { cli, start },
        unit: 'ms',
        samples: ts.map((x) => x.serving),
      });
      ctx.record({
        name: 'leader',
        params: { cli, start },
        unit: 'ms',
        samples: ts.map((x) => x.leader),
      });
    }
  }
}
