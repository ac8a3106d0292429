// abort-listeners.ts: one real listener per signal, whatever the number of requests on it.
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { unwatchAbort, watchAbort } from '../src/abort-listeners.js';

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
