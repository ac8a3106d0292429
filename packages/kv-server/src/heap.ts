// How far the V8 heap may grow past its live data before a full collection. V8 picks the
// factor itself, up to 4x when allocation is fast: under a steady put load a member's heap
// (a few tens of MiB live: caches, requests in flight) grew to 150-200 MiB of garbage, most of
// its RSS. Go's default (GOGC=100, etcd's) lets it double; raft-kv lets it grow by half. A
// full collection is mostly concurrent, and under load one runs every few seconds.
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;

/** Sets V8's heap growing factor, unless node was started with one of its own. */
export function boundHeapGrowth(): void {
  if (process.execArgv.some((a) => a.replaceAll('_', '-').startsWith('--heap-growing-percent'))) {
    return;
  }
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
