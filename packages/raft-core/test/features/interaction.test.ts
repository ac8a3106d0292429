// Runs every scenario under testdata/: each is a script of protocol steps and the output
// (Readys, messages, state) it must produce. UPDATE_GOLDEN=1 rewrites them from the code.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runGoldenFile } from '../util/interaction.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'testdata');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.txt'))
  .sort();

describe('interaction scenarios (testdata/*.txt)', () => {
  it('has scenarios', () => expect(files.length).toBeGreaterThan(0));
  for (const f of files) {
    it(f, () => {
      const { expected, actual } = runGoldenFile(join(dir, f));
      // On a mismatch, the diff names the directives whose output changed; rerun with
      // UPDATE_GOLDEN=1 if the change is intended, and review the rewritten file.
      expect(actual).toBe(expected);
    });
  }
});
