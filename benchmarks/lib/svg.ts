// A small dependency-free SVG renderer: one panel of horizontal bars per unit. A bar is the
// median; the whisker spans min..max; colours tell implementations apart (params.impl, ours
// when absent). Ratio panels get a dashed line at 1 (parity).
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

const seriesOf = (r: Result): string =>
  typeof r.params.impl === 'string' ? r.params.impl : String(r.params.impl ?? OURS);

const round = (x: number): string => (Math.round(x * 10) / 10).toString();

export function renderCharts(title: string, results: readonly Result[]): string {
  const units: string[] = [];
  for (const r of results) if (!units.includes(r.unit)) units.push(r.unit);
  const series: string[] = [];
  for (const r of results) if (!series.includes(seriesOf(r))) series.push(seriesOf(r));
  const color = (s: string): string => PALETTE[series.indexOf(s) % PALETTE.length]!;

  const out: string[] = [];
  let y = TITLE_H;
  out.push(`<text x="10" y="22" font-size="16" font-weight="bold">${escapeXml(title)}</text>`);
  if (series.length > 1) {
    let x = 10;
    for (const s of series) {
      out.push(`<rect x="${x}" y="${y}" width="12" height="12" fill="${color(s)}"/>`);
      out.push(`<text x="${x + 16}" y="${y + 11}">${escapeXml(s)}</text>`);
      x += 26 + s.length * 7;
    }
    y += LEGEND_H;
  }
  const barX = LABEL_W + 10;
  const barW = WIDTH - barX - VALUE_W;
  for (const unit of units) {
    const rows = results.filter((r) => r.unit === unit);
    const isRatio = unit.startsWith('ratio');
    const top = Math.max(...rows.map((r) => Math.max(r.max, r.median)), isRatio ? 1 : 0);
    const axisMax = niceCeil(top);
    const sx = (v: number): number => barX + (Math.max(0, v) / axisMax) * barW;
    out.push(
      `<text x="10" y="${y + 20}" font-size="13" font-weight="bold">${escapeXml(unit)}</text>`,
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
    if (isRatio) {
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
          `height="${BAR_H}" fill="${color(seriesOf(r))}"><title>${escapeXml(
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
