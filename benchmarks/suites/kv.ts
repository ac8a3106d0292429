// kv — the reference KV server end to end (shared/BENCHMARKS.md, "kv").
//
// A 3-node raft-kv cluster of real processes on 127.0.0.1 with default durability (every
// Ready synced; default snapshot interval), started from this checkout's CLI. The load
// generator (lib/kv-load.ts) runs in its own child process: C closed-loop HTTP/1.1 keep-alive
// clients, 256-byte values over 100,000 keys ("bench/000000".."bench/099999"), loaded once
// before the first measurement so that gets hit and puts overwrite.
//
// - put at C = 1, 16, 64, 256, sent to the leader: puts/s and latency p50/p90/p99/p99.9.
// - get at C = 64, linearizable (ReadIndex) and serializable (local), spread over all three
//   nodes: gets/s and the same percentiles.
// - generator check: put at C = 64 from two generator processes (32 clients each) on the same
//   wall-clock windows, against one generator with 64 clients: if the generator were the
//   bottleneck, two would go faster than one. Reported as the ratio two/one.
//
// Each configuration: a warm-up of WARMUP_MS, then RUNS windows of RUN_MS, each a sample.
// Everything (three servers and the generator) shares this machine's cores: the figures are
// the whole system's on one box, not a server's on dedicated hardware.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvClient } from '@tsraft/kv-server';
import { ProcessCluster } from '@tsraft/kv-server/process-cluster';
import { runInChild } from '../lib/child.js';
import type { LoadInput, RunResult } from '../lib/kv-load.js';
import type { SuiteContext } from '../lib/suite.js';

const LOAD_MODULE = new URL('../lib/kv-load.ts', import.meta.url).href;
const VALUE_BYTES = 256;

interface Settings {
  keys: number;
  runs: number;
  runMs: number;
  warmupMs: number;
  putClients: number[];
}

function settings(ctx: SuiteContext): Settings {
  const arg = (name: string): number | undefined => {
    const i = ctx.args.indexOf(`--${name}`);
    return i >= 0 ? Number(ctx.args[i + 1]) : undefined;
  };
  const quick = ctx.quick;
  const clientsArg = ctx.args.indexOf('--clients');
  return {
    keys: arg('keys') ?? (quick ? 5_000 : 100_000),
    runs: arg('runs') ?? (quick ? 2 : 5),
    runMs: arg('run-ms') ?? (quick ? 1000 : 3000),
    warmupMs: arg('warmup-ms') ?? (quick ? 500 : 2000),
    putClients:
      clientsArg >= 0 ? ctx.args[clientsArg + 1]!.split(',').map(Number) : [1, 16, 64, 256],
  };
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

const QUANTILES = [
  ['p50', 0.5],
  ['p90', 0.9],
  ['p99', 0.99],
  ['p99.9', 0.999],
] as const;

async function generate(
  input: Omit<LoadInput, 'startAt' | 'seed'>,
  generators: number,
): Promise<RunResult[]> {
  const startAt = Date.now() + 2500; // time for the children to start (tsx) before the window
  const per = Math.floor(input.clients / generators);
  const results = await Promise.all(
    Array.from({ length: generators }, (_, g) =>
      runInChild<RunResult[]>(
        {
          module: LOAD_MODULE,
          fn: 'load',
          input: { ...input, clients: per, startAt, seed: g + 1 } satisfies LoadInput,
        },
        { timeoutMs: 10 * 60_000 },
      ),
    ),
  );
  // Merge generators window by window.
  return results[0]!.map((_, r) => {
    const parts = results.map((x) => x[r]!);
    const lat = new Float64Array(parts.reduce((n, p) => n + p.latencies.length, 0));
    let off = 0;
    for (const p of parts) {
      lat.set(p.latencies, off);
      off += p.latencies.length;
    }
    return {
      ops: parts.reduce((n, p) => n + p.ops, 0),
      errors: parts.reduce((n, p) => n + p.errors, 0),
      seconds: parts[0]!.seconds,
      latencies: lat,
    };
  });
}

function record(
  ctx: SuiteContext,
  name: string,
  params: Record<string, string | number>,
  unit: string,
  runs: RunResult[],
): number[] {
  const rates = runs.map((r) => r.ops / r.seconds);
  ctx.record({ name, params, unit, samples: rates });
  const sorted = runs.map((r) => r.latencies.slice().sort());
  for (const [label, q] of QUANTILES) {
    ctx.record({
      name: `${name} latency`,
      params: { ...params, q: label },
      unit: 'ms',
      samples: sorted.map((s) => percentile(s, q)),
    });
  }
  const errors = runs.reduce((n, r) => n + r.errors, 0);
  const med = [...rates].sort((a, b) => a - b)[rates.length >> 1]!;
  const p99 = sorted.map((s) => percentile(s, 0.99)).sort((a, b) => a - b)[runs.length >> 1]!;
  ctx.log(
    `${name} ${JSON.stringify(params)}: ${med.toFixed(0)} ${unit}, p99 ${p99.toFixed(2)} ms` +
      (errors > 0 ? `, ${errors} failed requests` : ''),
  );
  if (errors > 0) ctx.note(`${name} ${JSON.stringify(params)}: ${errors} requests failed`);
  return rates;
}

async function leaderUrl(cluster: ProcessCluster, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const n of cluster.nodes.values()) {
      try {
        const s = await new KvClient(n.clientUrl).status({ timeoutMs: 1000 });
        if (s.leader !== 0) return cluster.node(s.leader).clientUrl;
      } catch {}
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the cluster elected no leader');
}

export default async function run(ctx: SuiteContext): Promise<void> {
  const s = settings(ctx);
  const baseDir = mkdtempSync(join(tmpdir(), 'tsraft-bench-kv-'));
  const cluster = new ProcessCluster({
    baseDir,
    logLevel: 'warn',
    onLine: (id, line) => ctx.log(`node ${id}: ${line}`),
  });
  try {
    await cluster.start(3);
    let leader = await leaderUrl(cluster);
    const all = [...cluster.nodes.values()].map((n) => n.clientUrl);
    ctx.log(`cluster up (leader ${leader}); loading ${s.keys} keys of ${VALUE_BYTES} B`);
    const common = {
      keys: s.keys,
      valueBytes: VALUE_BYTES,
      warmupMs: s.warmupMs,
      durationMs: s.runMs,
      runs: s.runs,
    };
    const filled = await runInChild<{ seconds: number; errors: number }>({
      module: LOAD_MODULE,
      fn: 'fill',
      input: {
        ...common,
        targets: [leader],
        op: 'fill',
        clients: 64,
        startAt: 0,
        seed: 1,
      } satisfies LoadInput,
    });
    ctx.log(
      `loaded in ${filled.seconds.toFixed(1)} s (${(s.keys / filled.seconds).toFixed(0)} puts/s)`,
    );

    for (const c of s.putClients) {
      leader = await leaderUrl(cluster);
      const runs = await generate({ ...common, targets: [leader], op: 'put', clients: c }, 1);
      record(ctx, 'put', { clients: c }, 'puts/s', runs);
    }
    for (const consistency of ['linearizable', 'serializable'] as const) {
      const runs = await generate(
        { ...common, targets: all, op: 'get', consistency, clients: 64 },
        1,
      );
      record(ctx, 'get', { clients: 64, consistency }, 'gets/s', runs);
    }
    // Generator check: one generator with 64 clients, then two with 32 each, on the leader.
    leader = await leaderUrl(cluster);
    const one = await generate({ ...common, targets: [leader], op: 'put', clients: 64 }, 1);
    const two = await generate({ ...common, targets: [leader], op: 'put', clients: 64 }, 2);
    const r1 = record(ctx, 'put (generator check)', { clients: 64, generators: 1 }, 'puts/s', one);
    const r2 = record(ctx, 'put (generator check)', { clients: 64, generators: 2 }, 'puts/s', two);
    ctx.record({
      name: 'generator check',
      params: { clients: 64 },
      unit: 'ratio 2gen/1gen',
      samples: r2.map((x, i) => x / r1[i]!),
    });
  } finally {
    await cluster.stop();
    rmSync(baseDir, { recursive: true, force: true });
  }
}
