// The randomized fault run shared by random.test.ts (sync storage writes) and
// random-async.test.ts (asyncStorageWrites): each seed draws a cluster and a fault schedule
// (runScenario); the checkers verify the Raft properties at every step.
//
// Environment: SEEDS=<n> seed count, SEED_BASE=<n> first seed, SEED=<n> replay one seed,
// TRACE=1 (or <n> events) adds an event trace to a failure report, FAULT_TICKS=<n> longer or
// shorter fault phases than the default 200-400 ticks, VERBOSE=1|2 prints totals / each seed.
import { describe, expect, it } from 'vitest';
import { runScenario, seedFromEnv, withSeedReport } from '../harness/index.js';

export interface RandomRunsOptions {
  /** The test file, named in each failure's replay command. */
  file: string;
  title: string;
  defaultSeeds: number;
  asyncStorageWrites: boolean;
}

export function describeRandomRuns(o: RandomRunsOptions): void {
  const replay = seedFromEnv();
  const count = Number(process.env.SEEDS ?? o.defaultSeeds);
  const first = Number(process.env.SEED_BASE ?? 1);
  const seeds =
    replay !== undefined ? [replay] : Array.from({ length: count }, (_, i) => first + i);
  const faultTicks = process.env.FAULT_TICKS ? Number(process.env.FAULT_TICKS) : undefined;
  // The whole run's wall-time bound (a seed is bounded in ticks): 10 minutes, or 0.6 s a seed.
  const wallBudgetMs = Math.max(600_000, seeds.length * 600);
  const trace =
    Number(process.env.TRACE ?? 0) > 1
      ? Number(process.env.TRACE)
      : process.env.TRACE !== undefined;

  describe(o.title, () => {
    it(`${seeds.length} seeds keep the safety properties and converge`, {
      timeout: wallBudgetMs,
    }, () => {
      const failures: string[] = [];
      const started = Date.now();
      const totals = new Map<string, number>();
      const add = (k: string, v: number) => totals.set(k, (totals.get(k) ?? 0) + v);
      for (const seed of seeds) {
        try {
          const res = withSeedReport(o.file, seed, (h) =>
            runScenario(seed, {
              ...(faultTicks !== undefined ? { faultTicks } : {}),
              ...(o.asyncStorageWrites ? { asyncStorageWrites: true } : {}),
              trace,
              onCluster: (c) => {
                h.cluster = c;
              },
            }),
          );
          if (replay !== undefined || process.env.VERBOSE === '2') {
            console.log(`${res.summary}, ${res.stats.sent} messages`);
          }
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
}
