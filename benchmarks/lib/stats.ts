// Summaries of measured samples. The median is the figure to quote on a noisy shared machine.
import type { Figure, Summary } from './suite.js';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no samples');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function summarize(f: Figure): Summary {
  if (f.samples.length === 0) throw new Error(`figure ${f.name} has no samples`);
  for (const x of f.samples) {
    if (!Number.isFinite(x)) throw new Error(`figure ${f.name} has a non-finite sample ${x}`);
  }
  return {
    name: f.name,
    params: { ...f.params },
    unit: f.unit,
    median: median(f.samples),
    min: Math.min(...f.samples),
    max: Math.max(...f.samples),
    runs: f.samples.length,
  };
}
