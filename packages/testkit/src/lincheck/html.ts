// A self-contained HTML page showing one key's operations on a timeline: one row per client,
// a bar from call to return (to the right edge when the outcome is unknown), the operations
// of the violation outlined in red. Hover a bar for its details.
import type { CheckResult } from './check.js';
import { type Operation, describeOperation } from './history.js';

const ROW = 26;
const LEFT = 90;
const WIDTH = 1400;

export function renderHtml(history: readonly Operation[], result: CheckResult): string {
  const v = result.violation;
  const key = v?.key ?? result.gaveUp[0]?.key ?? history[0]?.key ?? '';
  const all = history.filter((o) => o.key === key);
  const marked = new Set(v?.ops ?? []);
  const ops = shown(all, marked);
  const { from: t0, to: t1 } = timeSpan(ops);
  const span = Math.max(1, t1 - t0) * 1.02;
  const x = (t: number) => LEFT + ((t - t0) / span) * (WIDTH - LEFT - 10);
  const clients = [...new Set(ops.map((o) => o.client))].sort((a, b) => a - b);
  const row = new Map(clients.map((c, i) => [c, i]));
  const bars = ops.map((o) => {
    const y = 20 + row.get(o.client)! * ROW;
    const x0 = x(o.call);
    const x1 = o.ok === null || o.return === null ? WIDTH - 10 : Math.max(x0 + 2, x(o.return));
    const fill =
      o.ok === null ? '#bbb' : o.ok ? (o.op === 'get' ? '#8cc6ff' : '#7fd47f') : '#f3c18b';
    const stroke = marked.has(o) ? ' stroke="#d00" stroke-width="3"' : '';
    const label =
      o.op === 'get'
        ? `get ${o.ok === true ? (o.output ?? '∅') : '?'}`
        : o.op === 'delete'
          ? 'del'
          : `${o.op} ${o.value}`;
    return `<g><title>${esc(describeOperation(o))}</title><rect x="${x0.toFixed(1)}" y="${y}" width="${(x1 - x0).toFixed(1)}" height="${ROW - 8}" rx="3" fill="${fill}"${stroke}/><text x="${(x0 + 3).toFixed(1)}" y="${y + 13}" font-size="11">${esc(label)}</text></g>`;
  });
  const labels = clients.map(
    (c, i) => `<text x="4" y="${20 + i * ROW + 13}" font-size="12">client ${c}</text>`,
  );
  const height = 40 + clients.length * ROW;
  const involved = (v?.ops ?? []).map((o) => `<li>${esc(describeOperation(o))}</li>`).join('');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>tsraft-lincheck: ${esc(key)}</title>
<style>body{font-family:system-ui,sans-serif;margin:1em}svg{border:1px solid #ccc}</style></head>
<body><h1>Key ${esc(JSON.stringify(key))}</h1>
<p>${esc(v === undefined ? `verdict: ${result.verdict}` : `${v.kind}: ${v.detail}`)}</p>
${ops.length < all.length ? `<p>${ops.length} of the key's ${all.length} operations: ${marked.size > 0 ? 'those around the ones involved' : 'the first ones'}.</p>\n` : ''}<p>Bars run from call to return; green: a write that took effect, blue: a get, orange: failed, grey: unknown outcome (open-ended). Outlined in red: the operations involved.</p>
<ul>${involved}</ul>
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}">${labels.join('')}${bars.join('')}</svg>
</body></html>
`;
}

/** Bars a page shows at most: a key of a long run has hundreds of thousands of operations. */
export const MAX_BARS = 2000;

/**
 * The operations to draw: all of them, or, on a key with more than MAX_BARS, the ones
 * closest in time to the operations involved (without any, the first ones).
 */
function shown(ops: readonly Operation[], marked: ReadonlySet<Operation>): readonly Operation[] {
  if (ops.length <= MAX_BARS) return ops;
  if (marked.size === 0) return ops.slice(0, MAX_BARS);
  const { from, to } = timeSpan(marked);
  // Distance in time from an operation's interval to the violation's.
  const gap = (o: Operation) => Math.max(0, from - (o.return ?? Infinity), o.call - to);
  const others = ops.filter((o) => !marked.has(o)).sort((a, b) => gap(a) - gap(b));
  const keep = new Set([...marked, ...others.slice(0, Math.max(0, MAX_BARS - marked.size))]);
  return ops.filter((o) => keep.has(o));
}

/** From the first call to the last return (or call) of `ops`. A loop: they may be too many to spread. */
function timeSpan(ops: Iterable<Operation>): { from: number; to: number } {
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const o of ops) {
    from = Math.min(from, o.call);
    to = Math.max(to, o.return ?? o.call);
  }
  return { from, to };
}

function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
