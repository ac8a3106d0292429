// Number and parameter formatting shared by the Markdown table, the console and the charts.
import type { Params } from './suite.js';

/** Integers with thousands separators from 1000 up; 3 significant digits below. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100 || x === 0) return (Math.round(x * 10) / 10).toString();
  return Number(x.toPrecision(3)).toString();
}

/** `batch=16 impl=etcd` — stable order (as given), empty when there are none. */
export function formatParams(p: Params): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

export function label(name: string, p: Params): string {
  const ps = formatParams(p);
  return ps === '' ? name : `${name} ${ps}`;
}
