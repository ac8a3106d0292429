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
  const ops = history.filter((o) => o.key === key);
  const marked = new Set(v?.ops ?? []);
  const t0 = Math.min(...ops.map((o) => o.call));
  const t1 = Math.max(...ops.map((o) => o.return ?? o.call)) || t0 + 1;
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
<p>Bars run from call to return; green: a write that took effect, blue: a get, orange: failed, grey: unknown outcome (open-ended). Outlined in red: the operations involved.</p>
<ul>${involved}</ul>
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}">${labels.join('')}${bars.join('')}</svg>
</body></html>
`;
}

function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
