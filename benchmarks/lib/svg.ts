// A small dependency-free SVG renderer: panels of horizontal bars, one per unit and name. A bar is the
// median; the whisker spans min..max; colours tell implementations apart (params.impl, ours
// when absent, and params.api when a row has one). Ratio panels get a dashed line at 1 (parity).
import { formatNumber, label } from './format.js';
import type { Result } from './suite.js';

const WIDTH = 960;
const LABEL_W = 330;
const VALUE_W = 100;
const ROW_H = 20;
const BAR_H = 13;
const PANEL_HEAD = 34;
const AXIS_H = 18;
const GAP = 18;
const TITLE_H = 34;
const LEGEND_H = 20;
const PALETTE = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#dc2626', '#0891b2', '#ca8a04'];
const OURS = 'tsraft';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The smallest 1, 2 or 5 times a power of ten that is >= x (the axis end). */
export function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x * (1 - 1e-12)) return m * p;
  return 10 * p;
}

/** The bar's colour: its implementation, and the API when a row names one (`api=http`). */
const seriesOf = (r: Result): string => {
  const impl = typeof r.params.impl === 'string' ? r.params.impl : String(r.params.impl ?? OURS);
  return r.params.api === undefined ? impl : `${impl} api=${r.params.api}`;
};

const round = (x: number): string => (Math.round(x * 10) / 10).toString();

export interface Panel {
  title: string;
  unit: string;
  rows: Result[];
}

/**
 * One panel per unit and name (ns/… units are left out: they mirror a rate); a panel whose medians span more than 8x (e.g. heartbeats
 * beside 16-entry appends) is split by its first parameter, so no bar shrinks to nothing.
 */
export function panels(results: readonly Result[]): Panel[] {
  const out: Panel[] = [];
  const groups = new Map<string, Result[]>();
  for (const r of results) {
    // Time per item is the reciprocal of a rate that is already drawn.
    if (r.unit.startsWith('ns/')) continue;
    const key = `${r.unit}\u0000${r.name}`;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [r]);
    else g.push(r);
  }
  for (const rows of groups.values()) {
    const { unit, name } = rows[0]!;
    const meds = rows.map((r) => r.median).filter((m) => m > 0);
    const first = Object.keys(rows[0]!.params)[0];
    if (first !== undefined && meds.length > 1 && Math.max(...meds) > 8 * Math.min(...meds)) {
      const sub = new Map<string, Result[]>();
      for (const r of rows) {
        const v = String(r.params[first]);
        const g = sub.get(v);
        if (g === undefined) sub.set(v, [r]);
        else g.push(r);
      }
      for (const [v, g] of sub)
        out.push({ title: `${name} ${first}=${v} — ${unit}`, unit, rows: g });
    } else {
      out.push({ title: `${name} — ${unit}`, unit, rows });
    }
  }
  return out;
}

const isRatio = (unit: string): boolean => unit.startsWith('ratio');

export function renderCharts(title: string, results: readonly Result[]): string {
  const series: string[] = [];
  for (const r of results) {
    if (!isRatio(r.unit) && !series.includes(seriesOf(r))) series.push(seriesOf(r));
  }
  const color = (r: Result): string =>
    isRatio(r.unit) ? '#6b7280' : PALETTE[series.indexOf(seriesOf(r)) % PALETTE.length]!;

  const out: string[] = [];
  let y = TITLE_H;
  out.push(`<text x="10" y="22" font-size="16" font-weight="bold">${escapeXml(title)}</text>`);
  if (series.length > 1) {
    let x = 10;
    for (const s of series) {
      out.push(
        `<rect x="${x}" y="${y}" width="12" height="12" fill="${PALETTE[series.indexOf(s) % PALETTE.length]}"/>`,
      );
      out.push(`<text x="${x + 16}" y="${y + 11}">${escapeXml(s)}</text>`);
      x += 26 + s.length * 7;
    }
    y += LEGEND_H;
  }
  const barX = LABEL_W + 10;
  const barW = WIDTH - barX - VALUE_W;
  for (const panel of panels(results)) {
    const rows = panel.rows;
    const ratio = isRatio(panel.unit);
    const top = Math.max(...rows.map((r) => Math.max(r.max, r.median)), ratio ? 1 : 0);
    const axisMax = niceCeil(top);
    const sx = (v: number): number => barX + (Math.max(0, v) / axisMax) * barW;
    out.push(
      `<text x="10" y="${y + 20}" font-size="13" font-weight="bold">${escapeXml(panel.title)}</text>`,
    );
    y += PANEL_HEAD;
    const h = rows.length * ROW_H;
    for (let i = 0; i <= 4; i++) {
      const v = (axisMax * i) / 4;
      const x = round(sx(v));
      out.push(`<line x1="${x}" y1="${y - 4}" x2="${x}" y2="${y + h}" stroke="#e5e7eb"/>`);
      out.push(
        `<text x="${x}" y="${y + h + 13}" text-anchor="middle" fill="#6b7280">` +
          `${escapeXml(formatNumber(v))}</text>`,
      );
    }
    if (ratio) {
      const x = round(sx(1));
      out.push(
        `<line x1="${x}" y1="${y - 4}" x2="${x}" y2="${y + h}" stroke="#111827" ` +
          `stroke-dasharray="4 3"/>`,
      );
    }
    rows.forEach((r, i) => {
      const cy = y + i * ROW_H + ROW_H / 2;
      out.push(
        `<text x="${LABEL_W}" y="${round(cy + 4)}" text-anchor="end">` +
          `${escapeXml(label(r.name, r.params))}</text>`,
        `<rect x="${barX}" y="${round(cy - BAR_H / 2)}" width="${round(sx(r.median) - barX)}" ` +
          `height="${BAR_H}" fill="${color(r)}"><title>${escapeXml(
            `${label(r.name, r.params)}: median ${formatNumber(r.median)} ${r.unit}, ` +
              `min ${formatNumber(r.min)}, max ${formatNumber(r.max)}, ${r.runs} runs`,
          )}</title></rect>`,
      );
      if (r.max > r.min) {
        const a = round(sx(r.min));
        const b = round(sx(r.max));
        out.push(
          `<path d="M${a} ${round(cy)}H${b}M${a} ${round(cy - 4)}V${round(cy + 4)}` +
            `M${b} ${round(cy - 4)}V${round(cy + 4)}" stroke="#111827" fill="none"/>`,
        );
      }
      out.push(
        `<text x="${round(Math.max(sx(r.max), sx(r.median)) + 6)}" y="${round(cy + 4)}">` +
          `${escapeXml(formatNumber(r.median))}</text>`,
      );
    });
    y += h + AXIS_H + GAP;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" ` +
      `viewBox="0 0 ${WIDTH} ${y}" font-family="sans-serif" font-size="11">`,
    `<rect width="${WIDTH}" height="${y}" fill="#ffffff"/>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}
