// How far the V8 heap may grow past its live data before a full collection. V8 picks the
// factor itself, up to 4x when allocation is fast: under a steady put load a member's heap
// (a few tens of MiB live: caches, requests in flight) grew by 150-200 MiB of garbage, most of
// its RSS. raft-kv lets it double, as Go's default does for etcd (GOGC=100): at 64 clients
// putting, the leader's peak RSS was ~250 MiB instead of ~355. Growing by half (~230 MiB)
// cost ~9% of the puts per second in more full collections.
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 100;

/** Sets V8's heap growing factor, unless node was started with one of its own. */
export function boundHeapGrowth(): void {
  if (process.execArgv.some((a) => a.replaceAll('_', '-').startsWith('--heap-growing-percent'))) {
    return;
  }
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
