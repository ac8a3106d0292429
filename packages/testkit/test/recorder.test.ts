// The recorder: one clock, one JSON line per operation, outcomes from resolutions and errors.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { HistoryRecorder, checkHistory, parseHistory } from '../src/index.js';

it('records calls, returns and outcomes as lincheck reads them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'recorder-'));
  try {
    const file = join(dir, 'h.jsonl');
    const rec = new HistoryRecorder({
      file,
      failedForSure: (err) => (err as { code?: string }).code === 'REFUSED',
    });
    const store = new Map<string, string>();
    await rec.put(1, 'k', 'a', async () => store.set('k', 'a'));
    expect(await rec.get(2, 'k', async () => store.get('k') ?? null)).toBe('a');
    expect(await rec.cas(1, 'k', 'a', 'b', async () => true)).toBe(true);
    expect(await rec.cas(1, 'k', 'a', 'c', async () => false)).toBe(false);
    const refused = Object.assign(new Error('no'), { code: 'REFUSED' });
    await expect(rec.put(3, 'k', 'x', () => Promise.reject(refused))).rejects.toThrow('no');
    await expect(
      rec.put(3, 'k', 'y', () => Promise.reject(new Error('timeout'))),
    ).rejects.toThrow();
    void rec.delete(4, 'k', () => new Promise(() => {})); // never settles
    await rec.close();

    const h = parseHistory(readFileSync(file, 'utf8'));
    expect(h.map((o) => [o.client, o.op, o.ok])).toEqual([
      [1, 'put', true],
      [2, 'get', true],
      [1, 'cas', true],
      [1, 'cas', false],
      [3, 'put', false],
      [3, 'put', null],
      [4, 'delete', null],
    ]);
    expect(h[1]!.output).toBe('a');
    expect(h[4]!.error).toBe('REFUSED: no');
    for (const o of h) expect(o.return!).toBeGreaterThanOrEqual(o.call);
    for (let i = 1; i < 4; i++) expect(h[i]!.call).toBeGreaterThanOrEqual(h[i - 1]!.return!);
    expect(checkHistory(h).verdict).toBe('linearizable');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
