// abort-listeners.ts: one real listener per signal, whatever the number of requests on it, and
// deadline signals shared by the requests that start close together.
import { getEventListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sharedDeadline, unwatchAbort, watchAbort } from '../src/abort-listeners.js';

describe('abort listeners', () => {
  it('calls every watcher still registered, once, when the signal aborts', () => {
    const ac = new AbortController();
    const calls: number[] = [];
    const fns = [0, 1, 2, 3].map((i) => () => calls.push(i));
    for (const f of fns) watchAbort(ac.signal, f);
    unwatchAbort(ac.signal, fns[1]!);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    ac.abort();
    ac.abort();
    expect(calls).toEqual([0, 2, 3]);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('keeps signals apart', () => {
    const a = new AbortController();
    const b = new AbortController();
    let fired = '';
    watchAbort(a.signal, () => {
      fired += 'a';
    });
    watchAbort(b.signal, () => {
      fired += 'b';
    });
    b.abort();
    expect(fired).toBe('b');
    a.abort();
    expect(fired).toBe('ba');
  });
});

describe('shared deadlines', () => {
  afterEach(() => vi.restoreAllMocks());

  it('one signal per timeout and 100 ms of requests, a new one after', () => {
    let now = 1_000_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const a = sharedDeadline(5000);
    now += 99;
    expect(sharedDeadline(5000)).toBe(a);
    expect(sharedDeadline(2000)).not.toBe(a);
    now += 1;
    const b = sharedDeadline(5000);
    expect(b).not.toBe(a);
    expect(b.aborted).toBe(false);
  });
});
