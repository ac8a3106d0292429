// The contract between the runner (benchmarks/run.ts) and a suite (benchmarks/suites/<name>.ts).
//
// A suite module default-exports `run(ctx)`. It measures, and calls `ctx.record` once per
// figure with the raw samples; the runner computes median/min/max, then writes
// benchmarks/results/<suite>.json (the shape of shared/BENCHMARKS.md), <suite>.md and
// <suite>.svg, and prints the table. Timings are never asserted anywhere.
//
//   import type { SuiteContext } from '../lib/suite.js';
//   export default async function run(ctx: SuiteContext): Promise<void> {
//     const samples = await sample({ runs: ctx.quick ? 2 : 5 }, () => work());
//     ctx.record({ name: 'append', params: { batch: 16 }, unit: 'entries/s', samples });
//   }

/** Parameters that tell figures of the same name apart, e.g. `{ batch: 16 }`. */
export type Params = Record<string, string | number | boolean>;

/** One figure as a suite measured it: every measured run (after a warm-up). */
export interface Figure {
  /** Short and stable, e.g. 'W2' or 'append': scripts compare runs by name + params. */
  name: string;
  params: Params;
  /** e.g. 'entries/s', 'ns/entry', 'B/entry', 'MB/s', 'ms', 'ratio'. */
  unit: string;
  /** The measured runs: at least 5 in a full run (fewer only with --quick). */
  samples: readonly number[];
}

/** A figure measured elsewhere (e.g. by a peer's harness) that arrives already summarized. */
export interface Summary {
  name: string;
  params: Params;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** One row of results/<suite>.json. */
export type Result = Summary;

/** results/<suite>.json, exactly as shared/BENCHMARKS.md shows it. */
export interface SuiteReport {
  suite: string;
  commit: string;
  node: string;
  machine: string;
  results: Result[];
}

export interface SuiteContext {
  /** The suite's name (its file name without .ts). */
  readonly suite: string;
  /** CLI arguments meant for the suite (everything that is not a suite name or --quick). */
  readonly args: readonly string[];
  /** Set by --quick: a short smoke run (small N, few runs); results go to results/quick/. */
  readonly quick: boolean;
  /** Records one figure; the runner summarizes its samples. */
  record(figure: Figure): void;
  /** Records a figure already summarized elsewhere (a peer's printed median/min/max). */
  recordSummary(summary: Summary): void;
  /** Prints a line of progress (to stderr, so stdout stays the table). */
  log(line: string): void;
  /** Prints a note and keeps it under the table in results/<suite>.md (e.g. a skipped peer). */
  note(line: string): void;
  /**
   * For a suite run in parts (e.g. kv's --only): keeps the rows of the previous
   * results/<suite>.json that `keepRow` accepts, and the notes of the previous <suite>.md that
   * `keepNote` accepts, beside this run's; the files then say which rows came from the
   * earlier run.
   */
  keepEarlier(keepRow: (r: Result) => boolean, keepNote: (note: string) => boolean): void;
}

/** What a suite module default-exports. */
export type SuiteRun = (ctx: SuiteContext) => Promise<void>;
