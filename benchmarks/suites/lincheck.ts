// lincheck — how fast tsraft-lincheck judges key-value histories: checked operations per
// second of checkHistory (fast anomaly checks + the complete search, per key) on linearizable
// synthetic histories (so the whole search runs: no early exit on a violation), with a few
// outcomes failed and unknown, at a few concurrencies.
import { checkHistory, syntheticHistory } from '@tsraft/testkit';
import { collectGarbage } from '../lib/measure.js';
import type { SuiteContext } from '../lib/suite.js';

interface Shape {
  ops: number;
  keys: number;
  clients: number;
  unknownRate: number;
}

const SHAPES: Shape[] = [
  { ops: 100_000, keys: 10, clients: 8, unknownRate: 0 },
  { ops: 100_000, keys: 10, clients: 32, unknownRate: 0.02 },
  { ops: 100_000, keys: 1, clients: 8, unknownRate: 0.02 },
];

export default async function run(ctx: SuiteContext): Promise<void> {
  const runs = ctx.quick ? 2 : 5;
  for (const shape of SHAPES) {
    const ops = ctx.quick ? shape.ops / 10 : shape.ops;
    const samples: number[] = [];
    const seconds: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const h = syntheticHistory({ ...shape, ops, seed: 100 + i, failRate: 0.01 });
      collectGarbage();
      const r = checkHistory(h, { timeoutMs: 120_000 });
      if (r.verdict !== 'linearizable') throw new Error(`synthetic history judged ${r.verdict}`);
      if (i === 0) continue; // warm-up
      samples.push(ops / (r.elapsedMs / 1000));
      seconds.push(r.elapsedMs / 1000);
    }
    const params = { ops, keys: shape.keys, clients: shape.clients, unknown: shape.unknownRate };
    ctx.record({ name: 'check', params, unit: 'ops/s', samples });
    ctx.record({ name: 'check', params, unit: 's', samples: seconds });
    ctx.log(
      `${JSON.stringify(params)}: median ${Math.round(samples.sort((a, b) => a - b)[samples.length >> 1]!)} ops/s`,
    );
  }
}
