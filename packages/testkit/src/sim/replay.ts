// Seeds and replay instructions for randomized tests.
import { SafetyViolation } from './checkers.js';
import type { Cluster } from './cluster.js';

/** The replay command line for a test file and seed (printed when a seeded run fails). */
export function replayCommand(testFile: string, seed: number, extraEnv = ''): string {
  const env = extraEnv === '' ? '' : `${extraEnv} `;
  return `SEED=${seed} ${env}npx vitest run ${testFile}`;
}

/** SEED from the environment (a replay), or undefined. */
export function seedFromEnv(): number | undefined {
  const s = process.env.SEED;
  if (s === undefined || s === '') return undefined;
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`SEED must be a non-negative integer, got ${s}`);
  return n;
}

/**
 * Runs `body` and, if it throws, rethrows with the seed, the replay command, the cluster's
 * state and (with TRACE=1) the last traced events.
 */
export function withSeedReport<T>(
  testFile: string,
  seed: number,
  body: (holder: { cluster: Cluster | null }) => T,
  /** The command that reruns it, when it is not `npx vitest run <testFile>`. */
  runCommand?: string,
): T {
  const holder: { cluster: Cluster | null } = { cluster: null };
  try {
    return body(holder);
  } catch (err) {
    const c = holder.cluster;
    const lines = [
      `seed ${seed} failed at tick ${c?.now ?? '?'}: ${(err as Error).message}`,
      `replay: ${runCommand === undefined ? replayCommand(testFile, seed) : `SEED=${seed} ${runCommand}`}   (add TRACE=1 for the event trace)`,
    ];
    if (!(err instanceof SafetyViolation)) {
      // Not a property violation: where it was thrown (raft-core or the harness).
      const stack = ((err as Error).stack ?? '').split('\n').slice(1, 9);
      lines.push(...stack);
    }
    if (c !== null) {
      lines.push(c.describeNodes());
      const tail = c.traceTail(Number(process.env.TRACE_LINES ?? 300));
      if (tail.length > 0) lines.push('--- last events ---', ...tail);
    }
    const e = new Error(lines.join('\n'));
    e.stack = `${e.message}\n${(err as Error).stack ?? ''}`;
    throw e;
  }
}
