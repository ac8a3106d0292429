// Abort listeners for requests, one real listener per signal. A deadline signal shared by many
// requests (kv-server shares one per 100 ms of deadline) would otherwise carry one listener per
// request in flight, and node's EventTarget adds and removes each in time linear in their
// number: at a few hundred requests per signal, every request paid for all the others.

type OnAbort = () => void;

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
