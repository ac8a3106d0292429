import { it } from 'vitest';
import { type Cluster, runScenario } from '../harness/index.js';

it('probe', () => {
  let c: Cluster | null = null;
  runScenario(Number(process.env.SEED), {
    asyncStorageWrites: process.env.ASYNC === '1',
    faultTicks: Number(process.env.FAULT_TICKS ?? 300),
    trace: 3_000_000,
    onCluster: (x) => (c = x),
  });
  const lines = (c as unknown as Cluster).traceTail(3_000_000);
  const t = process.env.AT!;
  const at = lines.filter(
    (l) => l.startsWith(`[${t}] `) && new RegExp(process.env.RE ?? '1->11').test(l),
  );
  console.log(at.slice(0, Number(process.env.N ?? 60)).join('\n'));
  const kinds = new Map<string, number>();
  for (const l of lines) {
    if (!l.startsWith(`[${t}] `)) continue;
    const k = l
      .slice(t.length + 3)
      .split(' ')
      .slice(0, 3)
      .join(' ');
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  console.log([...kinds].sort((a, b) => b[1] - a[1]).slice(0, 20));
});
