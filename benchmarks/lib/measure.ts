// Timing helpers: a warm-up, then the measured runs, with a full GC before each run (when
// --expose-gc is on) so that one run's garbage is not collected on the next one's clock.

const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** Forces a full GC when the process runs with --expose-gc; a no-op otherwise. */
export function collectGarbage(): void {
  gc();
}

/** Nanoseconds `fn` takes. */
export function timeNs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0);
}

export async function timeNsAsync(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0);
}

export interface SampleOptions {
  /** Measured runs (>= 5 in a full run). */
  runs: number;
  /** Unmeasured runs first, so the JIT has settled (default 1). */
  warmup?: number;
}

/**
 * Calls `fn` `warmup` times, then `runs` times, and returns what the measured calls returned
 * (typically a rate or a duration the caller computed around the part that matters).
 */
export async function sample(
  opts: SampleOptions,
  fn: (run: number) => number | Promise<number>,
): Promise<number[]> {
  const warmup = opts.warmup ?? 1;
  for (let i = 0; i < warmup; i++) {
    collectGarbage();
    await fn(-1 - i);
  }
  const out: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    collectGarbage();
    out.push(await fn(i));
  }
  return out;
}
