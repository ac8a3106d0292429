// The README's examples, run, so they cannot rot.
import { readFileSync } from 'node:fs';
import { expect, it, vi } from 'vitest';
import { main } from '../examples/three-nodes.js';

it('the README opens with examples/ping.ts, verbatim, and it runs', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const first = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(first).toBe(readFileSync(new URL('../examples/ping.ts', import.meta.url), 'utf8'));
  const lines: unknown[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((x) => void lines.push(x));
  try {
    await import('../examples/ping.js');
  } finally {
    spy.mockRestore();
  }
  expect(lines[0]).toBe('node 1 got MsgHeartbeatResp from node 2');
  expect(lines[1]).toMatchObject({ connection: 'connected', messagesSent: 1 });
});

it('three RawNodes elect a leader and replicate over TCP', async () => {
  const log: string[] = [];
  const applied = await main((l) => log.push(l));
  expect(applied).toEqual([
    ['x=1', 'y=2', 'z=3'],
    ['x=1', 'y=2', 'z=3'],
    ['x=1', 'y=2', 'z=3'],
  ]);
  expect(log[0]).toMatch(/^node \d leads$/);
});
