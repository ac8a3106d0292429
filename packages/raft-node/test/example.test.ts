// The README opens with examples/counter.ts, verbatim, and it runs.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { expect, it, vi } from 'vitest';

/** A base port with the two after it free too (the example takes three in a row). */
async function threeFreePorts(): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await free(base)) && (await free(base + 1)) && (await free(base + 2))) return base;
  }
  throw new Error('no three consecutive free ports');
}

it('the README opens with examples/counter.ts, and it runs', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const first = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(first).toBe(readFileSync(new URL('../examples/counter.ts', import.meta.url), 'utf8'));

  process.env.PORT = String(await threeFreePorts());
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((x) => void lines.push(String(x)));
  try {
    await import('../examples/counter.js');
  } finally {
    spy.mockRestore();
    delete process.env.PORT;
  }
  expect(lines[0]).toMatch(/^node [123] leads$/);
  expect(lines.slice(1)).toEqual([
    '+5 -> 5',
    '+2 -> 7',
    expect.stringMatching(/^node [123] reads 7$/),
  ]);
});
