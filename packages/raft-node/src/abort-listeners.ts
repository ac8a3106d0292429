// Abort listeners for requests, one real listener per signal, and deadline signals shared by
// the requests that start close together. A timer and a signal per request were 3-5% of a busy
// server's CPU; a signal shared by many requests would otherwise carry one listener per request
// in flight, and node's EventTarget adds and removes each in time linear in their number: at a
// few hundred requests per signal, every request paid for all the others.
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';

type OnAbort = () => void;

/** How far apart shared deadlines are: a request's fires up to this much late. */
const DEADLINE_GRAIN_MS = 100;
const deadlines = new Map<number, { until: number; signal: AbortSignal }>();

/**
 * An abort signal that fires `ms` to `ms` + 100 ms from now, shared by the requests that ask
 * for the same `ms` within 100 ms of each other: a server's request timeout, say.
 */
export function sharedDeadline(ms: number): AbortSignal {
  const now = performance.now();
  const d = deadlines.get(ms);
  if (d !== undefined && now < d.until) return d.signal;
  const signal = AbortSignal.timeout(Math.ceil(ms) + DEADLINE_GRAIN_MS);
  // Requests hold one listener here (watchAbort), but their callers may listen too.
  setMaxListeners(0, signal);
  deadlines.set(ms, { until: now + DEADLINE_GRAIN_MS, signal });
  return signal;
}

const waiting = new WeakMap<AbortSignal, Set<OnAbort>>();

/** Calls `fn` once if `signal` aborts, until `unwatchAbort(signal, fn)`. */
export function watchAbort(signal: AbortSignal, fn: OnAbort): void {
  let fns = waiting.get(signal);
  if (fns === undefined) {
    const set = new Set<OnAbort>();
    fns = set;
    waiting.set(signal, set);
    signal.addEventListener(
      'abort',
      () => {
        waiting.delete(signal);
        for (const f of set) f();
      },
      { once: true },
    );
  }
  fns.add(fn);
}

/** Forgets `fn` (the request finished): constant time, whatever shares the signal. */
export function unwatchAbort(signal: AbortSignal, fn: OnAbort): void {
  waiting.get(signal)?.delete(fn);
}
