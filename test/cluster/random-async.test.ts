// The randomized fault runs of random.test.ts with asyncStorageWrites: appends and applies
// are MsgStorageAppend / MsgStorageApply messages that the harness's per-node append and
// apply threads complete after random delays, then step their responses back in.
//
//   SEEDS=200 npx vitest run test/cluster/random-async.test.ts
//   SEED=1234 npx vitest run test/cluster/random-async.test.ts     replay one seed
import { describe, expect, it } from 'vitest';
import { runScenario, seedFromEnv, withSeedReport } from '../harness/index.js';

const FILE = 'test/cluster/random-async.test.ts';
const DEFAULT_SEEDS = 500;

const replay = seedFromEnv();
const count = Number(process.env.SEEDS ?? DEFAULT_SEEDS);
const first = Number(process.env.SEED_BASE ?? 1);
const seeds = replay !== undefined ? [replay] : Array.from({ length: count }, (_, i) => first + i);
// TRACE=1 keeps the last 5000 events for the failure report; TRACE=<n> keeps n.
// The whole run's wall-time bound (a seed is bounded in ticks): 10 minutes, or 0.6 s a seed.
// FAULT_TICKS=<n>: longer (or shorter) fault phases than the default 200-400 ticks.
const faultTicks = process.env.FAULT_TICKS ? Number(process.env.FAULT_TICKS) : undefined;
const wallBudgetMs = Math.max(600_000, seeds.length * 600);
const trace =
  Number(process.env.TRACE ?? 0) > 1 ? Number(process.env.TRACE) : process.env.TRACE !== undefined;

describe('randomized fault runs (async storage writes)', () => {
  it(`${seeds.length} seeds keep the safety properties and converge`, {
    timeout: wallBudgetMs,
  }, () => {
    const failures: string[] = [];
    const started = Date.now();
    const totals = new Map<string, number>();
    for (const seed of seeds) {
      try {
        const res = withSeedReport(FILE, seed, (h) =>
          runScenario(seed, {
            ...(faultTicks !== undefined ? { faultTicks } : {}),
            trace,
            asyncStorageWrites: true,
            onCluster: (c) => {
              h.cluster = c;
            },
          }),
        );
        if (replay !== undefined || process.env.VERBOSE === '2') {
          console.log(`${res.summary}, ${res.stats.sent} messages`);
        }
        const add = (k: string, v: number) => totals.set(k, (totals.get(k) ?? 0) + v);
        add('ticks', res.ticks);
        add('elections', res.elections);
        add('confChanges', res.confChanges);
        if (res.stuck !== undefined) {
          add('stuck', 1);
          console.log(res.summary);
        }
        for (const [k, v] of Object.entries(res.stats)) add(k, v);
      } catch (err) {
        failures.push((err as Error).message);
        if (replay !== undefined || failures.length >= 5) break;
      }
    }
    if (process.env.VERBOSE) {
      console.log(`${seeds.length} seeds in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      console.log([...totals].map(([k, v]) => `${k} ${v}`).join(', '));
    }
    expect(failures, failures.join('\n\n')).toEqual([]);
  });
});
