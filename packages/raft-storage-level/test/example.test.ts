// The README's example, run: a fresh single node, then the same node restarted from disk.
import * as fs from 'node:fs/promises';
import { expect, it } from 'vitest';
import { main } from '../examples/single-node.js';
import { tempDir } from './helpers.js';

it("the README's example runs and recovers its state after a restart", async () => {
  const dir = await tempDir('tsraft-example-');
  try {
    const lines: string[] = [];
    expect(await main(dir, (l) => lines.push(l))).toEqual([
      'put x=0',
      'put x=1',
      'put x=2',
      'put x=3',
      'put x=4',
    ]);
    const again = await main(dir, (l) => lines.push(l));
    expect(again).toHaveLength(10);
    expect(again[9]).toBe('put x=9');
    expect(lines[1]).toBe('applied 10 commands up to index 13; log is [12, 13]');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
