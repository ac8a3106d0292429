// Array helpers for the hot path: raft's internal queues are emptied and refilled on every
// Ready, and in V8 `a.length = 0` frees an array's backing store, so the next push
// allocates a new one. These keep it (an oversized one is still trimmed by V8).

/** Empties `a`, keeping its backing store for the next push. */
export function clearArray(a: unknown[]): void {
  if (a.length > 1) a.length = 1;
  a.pop();
}

/** Drops the first `n` elements of `a` in place (n <= a.length). */
export function dropFront(a: unknown[], n: number): void {
  if (n >= a.length) {
    clearArray(a);
    return;
  }
  a.copyWithin(0, n);
  a.length -= n;
}
