// The benchmark runner: `pnpm bench [suite...] [--quick] [suite options]`.
//
// Leading words name suites (files in benchmarks/suites/); with none, every suite runs.
// From the first option on, arguments go to the suites (ctx.args), except --quick, which is
// the runner's: a short smoke run whose results go to results/quick/ (not committed), so a
// quick run never overwrites the committed figures.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Cli, parseCli } from './lib/cli.js';
import { commitId, loadPerCore, machine } from './lib/env.js';
import { markdownTable, writeReport } from './lib/report.js';
import { summarize } from './lib/stats.js';
import type { Result, SuiteContext, SuiteReport, SuiteRun } from './lib/suite.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..');
const SUITES_DIR = join(HERE, 'suites');
/** Run order when no suite is named: cheap and self-contained first. */
const ORDER = ['core', 'codec', 'storage', 'transport', 'kv', 'lincheck'];

const USAGE = `usage: npx -y pnpm@10 bench [suite...] [--quick] [suite options]
  suites: %s
  --quick   short smoke run (small N, few runs); results go to benchmarks/results/quick/
  core:     --peers  also run ../shared/peers (etcd/raft in Go, coaty) and report ratios`;

function availableSuites(): string[] {
  const names = readdirSync(SUITES_DIR)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3));
  const known = ORDER.filter((n) => names.includes(n));
  return [...known, ...names.filter((n) => !ORDER.includes(n)).sort()];
}

/** The rows and notes of the previous results of `suite` in `dir` (none when absent). */
function earlier(dir: string, suite: string): { report: SuiteReport | null; notes: string[] } {
  const json = join(dir, `${suite}.json`);
  const md = join(dir, `${suite}.md`);
  if (!existsSync(json)) return { report: null, notes: [] };
  try {
    const report = JSON.parse(readFileSync(json, 'utf8')) as SuiteReport;
    const notes = existsSync(md)
      ? readFileSync(md, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('- '))
          .map((l) => l.slice(2))
      : [];
    return { report, notes };
  } catch {
    return { report: null, notes: [] };
  }
}

async function runSuite(name: string, cli: Cli): Promise<void> {
  const results: Result[] = [];
  const notes: string[] = [];
  const dir = join(HERE, 'results', ...(cli.quick ? ['quick'] : []));
  let keep: { row: (r: Result) => boolean; note: (n: string) => boolean } | null = null;
  const ctx: SuiteContext = {
    suite: name,
    args: cli.args,
    quick: cli.quick,
    record: (f) => results.push(summarize(f)),
    recordSummary: (s) => results.push({ ...s, params: { ...s.params } }),
    log: (line) => process.stderr.write(`[${name}] ${line}\n`),
    note: (line) => {
      notes.push(line);
      process.stderr.write(`[${name}] note: ${line}\n`);
    },
    keepEarlier: (row, note) => {
      keep = { row, note };
    },
  };
  const load = loadPerCore();
  if (load > 0.5) {
    ctx.note(`load average was ${load.toFixed(2)} per core at the start: expect noise`);
  }
  const started = new Date();
  const mod = (await import(pathToFileURL(join(SUITES_DIR, `${name}.ts`)).href)) as {
    default?: SuiteRun;
  };
  if (typeof mod.default !== 'function') throw new Error(`suites/${name}.ts has no default run()`);
  await mod.default(ctx);
  if (results.length === 0) throw new Error(`suite ${name} recorded no figure`);
  const commit = commitId(REPO);
  const command = ['pnpm bench', name, ...(cli.quick ? ['--quick'] : []), ...cli.args].join(' ');
  const kept = keep as { row: (r: Result) => boolean; note: (n: string) => boolean } | null;
  if (kept !== null) {
    const prev = earlier(dir, name);
    const rows = prev.report?.results.filter(kept.row) ?? [];
    if (rows.length > 0) {
      results.unshift(...rows);
      notes.push(
        ...prev.notes.filter(
          (n) =>
            kept.note(n) &&
            !n.startsWith('load average was') &&
            !/^\d+ rows \(the parts not run/.test(n),
        ),
        `${rows.length} rows (the parts not run by \`${command}\`) are kept from the ` +
          `earlier run at commit ${prev.report!.commit}`,
      );
    }
  }

  const report: SuiteReport = {
    suite: name,
    commit,
    node: process.version,
    machine: machine(),
    results,
  };
  const files = writeReport(dir, report, { command, date: started.toISOString(), notes });
  const secs = ((Date.now() - started.getTime()) / 1000).toFixed(1);
  process.stdout.write(`\n## ${name} (${secs} s)\n\n${markdownTable(report)}\n`);
  for (const n of notes) process.stdout.write(`- ${n}\n`);
  process.stdout.write(`\nwrote ${files.map((f) => f.slice(REPO.length + 1)).join(', ')}\n`);
}

async function main(): Promise<number> {
  const available = availableSuites();
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE.replace('%s', available.join(', '))}\n`);
    return 0;
  }
  const cli = parseCli(argv, available);
  if (typeof cli === 'string') {
    process.stderr.write(`${cli}\n${USAGE.replace('%s', available.join(', '))}\n`);
    return 2;
  }
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
    process.stderr.write('note: run with --expose-gc (pnpm bench does) for clean runs\n');
  }
  let failed = 0;
  for (const name of cli.suites) {
    try {
      await runSuite(name, cli);
    } catch (err) {
      failed++;
      process.stderr.write(`suite ${name} failed: ${(err as Error).stack ?? err}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
