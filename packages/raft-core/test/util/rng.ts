// A small seeded random number generator for deterministic tests. Every randomized test takes
// its seed from TSRAFT_SEED when set (to replay a failure, or `random` to explore new seeds),
// else a fixed default, so CI runs are reproducible; it reports the seed when it fails.

/** mulberry32: a 32-bit state PRNG, uniform in [0, 1). Good enough for tests, and fast. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The default seed of every randomized test (CI is deterministic). */
export const DEFAULT_SEED = 20261123;

/** The seed to use: TSRAFT_SEED if set (`random` draws a fresh one), else DEFAULT_SEED. */
export function pickSeed(): number {
  const env = process.env.TSRAFT_SEED;
  if (env === undefined || env === '') return DEFAULT_SEED;
  if (env !== 'random') {
    const n = Number(env);
    if (!Number.isSafeInteger(n)) throw new Error(`TSRAFT_SEED must be an integer, got ${env}`);
    return n;
  }
  return Math.floor(Math.random() * 0x7fffffff);
}

/**
 * Runs `f` with a seed (see pickSeed); if it throws, the error's message is prefixed with the
 * seed and how to replay it, so the failure can be reproduced exactly.
 */
export function withSeed<T>(name: string, f: (seed: number) => T): T {
  const seed = pickSeed();
  try {
    return f(seed);
  } catch (err) {
    const hint = `[${name}] failed with seed ${seed}; replay with TSRAFT_SEED=${seed}`;
    console.error(hint);
    if (err instanceof Error) err.message = `${hint}\n${err.message}`;
    throw err;
  }
}
