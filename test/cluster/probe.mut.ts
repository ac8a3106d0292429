import { it } from 'vitest';
import { type Cluster, runScenario } from '../harness/index.js';

it('probe', () => {
  let c: Cluster | null = null;
  const r = runScenario(Number(process.env.SEED), {
    asyncStorageWrites: process.env.ASYNC === '1',
    faultTicks: Number(process.env.FAULT_TICKS ?? 300),
    onCluster: (x) => (c = x),
  });
  console.log(r.summary);
  console.log((c as unknown as Cluster).describeNodes());
});
