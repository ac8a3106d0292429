// Turning the kv suite's measured windows into rows: rates, latency quantiles, ratios between
// implementations measured in the same run. Pure, so the test can check it.
import type { RunResult } from './kv-load.js';
import { median } from './stats.js';
import type { Params, SuiteContext } from './suite.js';

export const OURS = 'tsraft';

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export const QUANTILES = [
  ['p50', 0.5],
  ['p90', 0.9],
  ['p99', 0.99],
  ['p99.9', 0.999],
] as const;

/** `params` with `impl` added for a peer (ours carry none, as in the other suites). */
export function withImpl(params: Params, impl: string): Params {
  return impl === OURS ? { ...params } : { ...params, impl };
}

/** Per window: the rate and each quantile (and the max), for ratios between systems. */
export interface WindowStats {
  rate: number[];
  q: Record<string, number[]>;
  errors: number;
}

export function windowStats(runs: readonly RunResult[]): WindowStats {
  const sorted = runs.map((r) => r.latencies.slice().sort());
  const q: Record<string, number[]> = {};
  for (const [label, x] of QUANTILES) q[label] = sorted.map((s) => percentile(s, x));
  q.max = sorted.map((s) => (s.length === 0 ? Number.NaN : s[s.length - 1]!));
  return {
    rate: runs.map((r) => r.ops / r.seconds),
    q,
    errors: runs.reduce((n, r) => n + r.errors, 0),
  };
}

const finite = (xs: number[]): number[] => xs.filter((x) => Number.isFinite(x));

/**
 * Records `name` (the rate, in `unit`) and `name latency` (p50, p90, p99, p99.9 and, with
 * `max`, the slowest request) over `runs`, one sample per window; logs a line.
 */
export function recordRuns(
  ctx: SuiteContext,
  name: string,
  params: Params,
  unit: string,
  runs: readonly RunResult[],
  opts: { max?: boolean; quantiles?: readonly string[] } = {},
): WindowStats {
  const st = windowStats(runs);
  ctx.record({ name, params, unit, samples: st.rate });
  const labels = opts.quantiles ?? QUANTILES.map(([l]) => l);
  for (const label of [...labels, ...(opts.max === true ? ['max'] : [])]) {
    const samples = finite(st.q[label]!);
    if (samples.length === 0) continue;
    ctx.record({ name: `${name} latency`, params: { ...params, q: label }, unit: 'ms', samples });
  }
  const p99 = finite(st.q.p99!);
  ctx.log(
    `${name} ${JSON.stringify(params)}: ${median(st.rate).toFixed(0)} ${unit}` +
      (p99.length > 0 ? `, p99 ${median(p99).toFixed(2)} ms` : '') +
      (st.errors > 0 ? `, ${st.errors} failed requests` : ''),
  );
  if (st.errors > 0) ctx.note(`${name} ${JSON.stringify(params)}: ${st.errors} requests failed`);
  return st;
}

/** Ratios ours/peer window by window (windows i of both were measured back to back). */
export function pairedRatios(ours: readonly number[], peer: readonly number[]): number[] {
  const n = Math.min(ours.length, peer.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = ours[i]! / peer[i]!;
    if (Number.isFinite(r)) out.push(r);
  }
  return out;
}

/** The part of the suite a row belongs to, from its name (for --only and the merge). */
export function partOf(name: string): string {
  if (name.startsWith('memory')) return 'memory';
  if (name.startsWith('join')) return 'join';
  if (name.startsWith('tail')) return 'tail';
  return 'puts';
}

export const PARTS = ['puts', 'tail', 'memory', 'join'] as const;
export type Part = (typeof PARTS)[number];

/** Parses `--only a,b`; every part when absent; an error message for an unknown part. */
export function parseParts(value: string | undefined): Part[] | string {
  if (value === undefined) return [...PARTS];
  const parts = value.split(',').filter((p) => p !== '');
  for (const p of parts) {
    if (!(PARTS as readonly string[]).includes(p))
      return `--only: no part "${p}" (parts: ${PARTS.join(', ')})`;
  }
  return parts.length === 0 ? [...PARTS] : (parts as Part[]);
}
