// Writes a suite's results: <suite>.json (shared/BENCHMARKS.md's shape), <suite>.md (a table
// and notes) and <suite>.svg (bar charts).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatNumber, formatParams } from './format.js';
import type { SuiteReport } from './suite.js';
import { renderCharts } from './svg.js';

export function markdownTable(report: SuiteReport): string {
  const rows = report.results.map(
    (r) =>
      `| ${r.name} | ${formatParams(r.params)} | ${r.unit} | ${formatNumber(r.median)} | ` +
      `${formatNumber(r.min)} | ${formatNumber(r.max)} | ${r.runs} |`,
  );
  return [
    '| name | params | unit | median | min | max | runs |',
    '|---|---|---|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

export interface ReportExtras {
  /** The command that produced the figures, for the Markdown header. */
  command: string;
  /** ISO date of the run. */
  date: string;
  notes: readonly string[];
}

export function markdown(report: SuiteReport, extras: ReportExtras): string {
  const lines = [
    `# ${report.suite}`,
    '',
    `\`${extras.command}\` — ${extras.date}, commit ${report.commit}, Node ${report.node}, ` +
      `${report.machine}.`,
    '',
    markdownTable(report),
  ];
  if (extras.notes.length > 0) lines.push('', ...extras.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

/** Writes the three files; each through a temporary name, so a crash leaves the old ones. */
export function writeReport(dir: string, report: SuiteReport, extras: ReportExtras): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    [`${report.suite}.json`, `${JSON.stringify(report, null, 2)}\n`],
    [`${report.suite}.md`, markdown(report, extras)],
    [
      `${report.suite}.svg`,
      renderCharts(`${report.suite} — ${report.commit.slice(0, 12)}`, report.results),
    ],
  ];
  return files.map(([name, text]) => {
    const path = join(dir, name);
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
    return path;
  });
}
