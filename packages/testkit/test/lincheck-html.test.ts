// The HTML timeline of a failing key: every operation of a small key; on a key of a long run,
// a bounded window around the operations involved.
import { describe, expect, it } from 'vitest';
import { checkHistory, operation, renderHtml } from '../src/index.js';
import { MAX_BARS } from '../src/lincheck/html.js';

const bars = (page: string) => page.split('<rect').length - 1;

describe('renderHtml', () => {
  it('draws every operation of a small key, the ones involved outlined', () => {
    const h = [
      operation({ client: 1, op: 'put', key: 'k', value: 'v1', call: 10, return: 20, ok: true }),
      operation({ client: 2, op: 'put', key: 'k', value: 'v2', call: 30, return: 40, ok: true }),
      operation({ client: 3, op: 'get', key: 'k', call: 50, return: 60, ok: true, output: 'v1' }),
    ];
    const page = renderHtml(h, checkHistory(h));
    expect(bars(page)).toBe(3);
    expect(page).toContain('stroke="#d00"');
    expect(page).not.toContain("of the key's");
  });

  it('draws at most MAX_BARS operations of a long key, the ones involved among them', () => {
    const h = [];
    for (let i = 0; i < 200_000; i++) {
      const t = i * 10;
      h.push(
        operation({
          client: i % 8,
          op: 'put',
          key: 'k',
          value: `v${i}`,
          call: t,
          return: t + 5,
          ok: true,
        }),
      );
    }
    // A stale read in the middle: it returns the value written 1,000 writes before.
    const t = 100_000 * 10 + 7;
    h.push(
      operation({
        client: 9,
        op: 'get',
        key: 'k',
        call: t,
        return: t + 1,
        ok: true,
        output: 'v99000',
      }),
    );
    const result = checkHistory(h);
    expect(result.verdict).toBe('not-linearizable');
    const page = renderHtml(h, result);
    expect(bars(page)).toBe(MAX_BARS);
    expect(page).toContain(`${MAX_BARS} of the key's ${h.length} operations`);
    expect(page).toContain('stroke="#d00"');
    expect(page).toContain('get v99000');
  });
});
