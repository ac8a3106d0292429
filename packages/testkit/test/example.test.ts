// The README opens with examples/bank-under-faults.ts, verbatim, and it runs.
import { readFileSync } from 'node:fs';
import { expect, it, vi } from 'vitest';

it('the README example tests a user state machine under faults', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const first = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(first).toBe(
    readFileSync(new URL('../examples/bank-under-faults.ts', import.meta.url), 'utf8'),
  );
  const lines: unknown[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((x) => void lines.push(x));
  try {
    await import('../examples/bank-under-faults.js');
  } finally {
    spy.mockRestore();
  }
  expect(lines[0]).toMatch(/^10 seeds: \d+ transfers applied, every node's Bank agrees$/);
}, 120_000);
