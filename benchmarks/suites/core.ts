// core — raft-core alone, in one process, no I/O: workloads W1-W3 of shared/BENCHMARKS.md
// (the drivers are in lib/core-workloads.ts). Each configuration runs in its own child process.
//
// Options: --peers          also run ../shared/peers (etcd/raft in Go, coaty) and report ratios
//          --runs R         measured runs per configuration (default 5; --quick: 2)
//          --rounds R       with --peers: repeat the alternation R times (default 1)
//          --only W1|W2|W3  --batch B   run a subset
//          --n1 N  --n2 N   entries per run for W1 / W2 and W3 (defaults 1,000,000 / 300,000)
import { parseArgs } from 'node:util';
import { runInChild } from '../lib/child.js';
import type { WorkloadConfig, WorkloadResult } from '../lib/core-workloads.js';
import { median } from '../lib/stats.js';
import type { SuiteContext } from '../lib/suite.js';
import * as coaty from '../peers/coaty.js';
import * as etcd from '../peers/etcd-raft-go.js';
import type { PeerOutcome, PeerRow } from '../peers/types.js';

type Workload = WorkloadConfig['workload'];
const ROWS: { workload: Workload; batch: number }[] = [
  { workload: 'W1', batch: 1 },
  { workload: 'W1', batch: 64 },
  { workload: 'W2', batch: 1 },
  { workload: 'W2', batch: 16 },
  { workload: 'W2', batch: 256 },
  { workload: 'W3', batch: 16 },
];
const WORKLOADS = new URL('../lib/core-workloads.ts', import.meta.url).href;
const key = (w: string, b: number): string => `${w} B=${b}`;

interface Options {
  peers: boolean;
  runs: number;
  rounds: number;
  n1: number;
  n2: number;
  rows: typeof ROWS;
}

function options(ctx: SuiteContext): Options {
  const { values } = parseArgs({
    args: [...ctx.args],
    options: {
      peers: { type: 'boolean', default: false },
      runs: { type: 'string' },
      rounds: { type: 'string', default: '1' },
      only: { type: 'string' },
      batch: { type: 'string' },
      n1: { type: 'string' },
      n2: { type: 'string' },
    },
  });
  const int = (s: string | undefined, d: number): number => {
    const v = s === undefined ? d : Number(s);
    if (!Number.isSafeInteger(v) || v < 1) throw new Error(`not a positive integer: ${s}`);
    return v;
  };
  const rows = ROWS.filter(
    (r) =>
      (values.only === undefined || r.workload === values.only) &&
      (values.batch === undefined || r.batch === Number(values.batch)),
  );
  if (rows.length === 0) throw new Error('--only/--batch select no workload row');
  return {
    peers: values.peers,
    runs: int(values.runs, ctx.quick ? 2 : 5),
    rounds: int(values.rounds, 1),
    n1: int(values.n1, ctx.quick ? 50_000 : 1_000_000),
    n2: int(values.n2, ctx.quick ? 15_000 : 300_000),
    rows,
  };
}

/** Our runs of each row, over all rounds, and the per-round medians (for the ratios). */
interface Ours {
  results: Map<string, WorkloadResult[]>;
}

async function runOurs(ctx: SuiteContext, o: Options, w: Workload, b: number, ours: Ours) {
  const cfg: WorkloadConfig = {
    workload: w,
    batch: b,
    n: w === 'W1' ? o.n1 : o.n2,
    runs: o.runs,
    warmup: 1,
  };
  ctx.log(`${key(w, b)}: N=${cfg.n.toLocaleString('en-US')}, ${o.runs} runs after a warm-up`);
  const r = await runInChild<WorkloadResult>({
    module: WORKLOADS,
    fn: 'measureWorkload',
    input: cfg,
  });
  const k = key(w, b);
  ours.results.set(k, [...(ours.results.get(k) ?? []), r]);
  return r;
}

const rate = (r: WorkloadResult): number[] => r.runs.map((x) => r.config.n / (x.ns / 1e9));

function recordOurs(ctx: SuiteContext, ours: Ours): void {
  for (const { workload, batch } of ROWS) {
    const rs = ours.results.get(key(workload, batch));
    if (rs === undefined) continue;
    const n = rs[0]!.config.n;
    const runs = rs.flatMap((r) => r.runs);
    const params = { batch };
    const rec = (unit: string, samples: number[]) =>
      ctx.record({ name: workload, params, unit, samples });
    rec('entries/s', rs.flatMap(rate));
    rec(
      'ns/entry',
      runs.map((x) => x.ns / n),
    );
    rec(
      'B/entry',
      runs.map((x) => x.allocBytes / n),
    );
    if (workload !== 'W1')
      rec(
        'msgs/entry',
        runs.map((x) => x.delivered / n),
      );
    if (workload === 'W3')
      rec(
        'wire B/entry',
        runs.map((x) => x.wireBytes / n),
      );
  }
}

/** Per peer: its outcome in each round. */
type PeerRuns = Map<string, PeerOutcome[]>;

function addPeer(peers: PeerRuns, out: PeerOutcome): void {
  peers.set(out.peer, [...(peers.get(out.peer) ?? []), out]);
}

function recordPeers(ctx: SuiteContext, ours: Ours, peers: PeerRuns, lines: string[]): void {
  const skipped = new Set<string>();
  for (const [peer, outs] of peers) {
    const versions = new Set<string>();
    for (const o of outs) {
      if (!o.ok) skipped.add(`${peer} skipped: ${o.reason}`);
      else {
        versions.add(o.version);
        for (const n of o.notes) ctx.note(`${peer}: ${n}`);
      }
    }
    for (const v of versions) ctx.note(`${peer}: ${v}`);
  }
  for (const s of skipped) ctx.note(s);
  for (const { workload, batch } of ROWS) {
    const k = key(workload, batch);
    const mine = ours.results.get(k);
    if (mine === undefined) continue;
    const mineMed = median(mine.flatMap(rate));
    const parts = [`${k}: ours ${fmt(mineMed)} entries/s`];
    for (const [peer, outs] of peers) {
      // Round i of ours pairs with round i of the peer.
      const pairs: { our: number; row: PeerRow }[] = [];
      outs.forEach((o, i) => {
        const row = o.ok
          ? o.rows.find((x) => x.workload === workload && x.batch === batch)
          : undefined;
        if (row !== undefined && mine[i] !== undefined)
          pairs.push({ our: median(rate(mine[i]!)), row });
      });
      if (pairs.length === 0) {
        if (outs.some((o) => o.ok)) parts.push(`${peer} n/a`);
        continue;
      }
      const rows = pairs.map((p) => p.row);
      const params = { batch, impl: peer };
      const sum = (unit: string, med: number, min: number, max: number, runs: number) =>
        ctx.recordSummary({ name: workload, params, unit, median: med, min, max, runs });
      const runs = rows.reduce((a, r) => a + r.runs, 0);
      const med = median(rows.map((r) => r.median));
      const min = Math.min(...rows.map((r) => r.min));
      const max = Math.max(...rows.map((r) => r.max));
      sum('entries/s', med, min, max, runs);
      sum('ns/entry', 1e9 / med, 1e9 / max, 1e9 / min, runs);
      const allocs = rows.flatMap((r) => (r.allocPerEntry === undefined ? [] : [r.allocPerEntry]));
      if (allocs.length > 0) {
        sum('B/entry', median(allocs), Math.min(...allocs), Math.max(...allocs), allocs.length);
      }
      const ratios = pairs.map((p) => p.our / p.row.median);
      ctx.recordSummary({
        name: workload,
        params: { batch, vs: peer },
        unit: 'ratio ours/peer',
        median: median(ratios),
        min: Math.min(...ratios),
        max: Math.max(...ratios),
        runs: ratios.length,
      });
      parts.push(`${peer} ${fmt(med)} (ours/peer ${median(ratios).toFixed(2)})`);
    }
    lines.push(parts.join('; '));
  }
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

export default async function run(ctx: SuiteContext): Promise<void> {
  const o = options(ctx);
  const ours: Ours = { results: new Map() };
  const peers: PeerRuns = new Map();
  const log = (peer: string) => (l: string) => ctx.log(`  ${peer}| ${l}`);
  for (let round = 0; round < (o.peers ? o.rounds : 1); round++) {
    if (o.peers && o.rounds > 1) ctx.log(`round ${round + 1}/${o.rounds}`);
    // etcd's harness runs all six rows in one process: run it first, then alternate ours and
    // coaty row by row.
    if (o.peers) {
      ctx.log(`${etcd.PEER}: run.sh -runs ${o.runs} (GOMAXPROCS=1)`);
      const out = await etcd.run(o.runs, log(etcd.PEER));
      if (out.ok) {
        ctx.log(`${etcd.PEER}: ${out.version}`);
        for (const r of out.rows) {
          ctx.log(`  ${etcd.PEER}| ${key(r.workload, r.batch)}: ${fmt(r.median)} entries/s median`);
        }
      }
      addPeer(peers, out);
    }
    for (const { workload, batch } of o.rows) {
      await runOurs(ctx, o, workload, batch, ours);
      if (o.peers && workload !== 'W3') {
        const row: coaty.CoatyRow = { workload, batch, runs: o.runs };
        if (ctx.quick) row.n = workload === 'W1' ? o.n1 : o.n2;
        ctx.log(`${coaty.PEER}: ${key(workload, batch)}`);
        addPeer(peers, await coaty.run(row, log(coaty.PEER)));
      }
    }
  }
  recordOurs(ctx, ours);
  if (o.peers) {
    const lines: string[] = [];
    recordPeers(ctx, ours, mergeCoaty(peers, o.rounds), lines);
    for (const l of lines) ctx.note(l);
    if (ctx.quick)
      ctx.note('--quick: etcd-raft-go always runs its full N; ratios are a smoke test');
  }
}

/** coaty ran once per row and round: fold its outcomes into one outcome per round (a row
 * that failed becomes a note; a round where every row failed, a skip). */
function mergeCoaty(peers: PeerRuns, rounds: number): PeerRuns {
  const outs = peers.get(coaty.PEER);
  if (outs === undefined) return peers;
  const perRound = Math.ceil(outs.length / rounds);
  const merged: PeerOutcome[] = [];
  for (let i = 0; i < outs.length; i += perRound) {
    const chunk = outs.slice(i, i + perRound);
    const ok = chunk.flatMap((c) => (c.ok ? [c] : []));
    const failed = chunk.flatMap((c) => (c.ok ? [] : [c.reason]));
    if (ok.length === 0) {
      merged.push({ ok: false, peer: coaty.PEER, reason: failed[0] ?? 'no row ran' });
      continue;
    }
    merged.push({
      ok: true,
      peer: coaty.PEER,
      version: ok[0]!.version,
      rows: ok.flatMap((c) => c.rows),
      notes: [...ok.flatMap((c) => c.notes), ...failed.map((r) => `a row failed: ${r}`)],
    });
  }
  return new Map([...peers, [coaty.PEER, merged]]);
}
