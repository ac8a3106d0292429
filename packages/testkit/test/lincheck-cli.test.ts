// tsraft-lincheck as a user runs it: the bin (no build step), its first line and exit codes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatOperation, syntheticHistory } from '../src/index.js';

const BIN = new URL('../bin/tsraft-lincheck.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lincheck-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, lines: string[]): string {
  const p = join(dir, name);
  writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
}

describe('tsraft-lincheck', () => {
  it('--help', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /^usage: tsraft-lincheck \[--timeout-s N\] \[--html out.html\] history.jsonl/,
    );
  });

  it('exit 0 and "linearizable" first', () => {
    const h = syntheticHistory({ ops: 500, keys: 3, clients: 4, seed: 1 });
    const r = run([file('ok.jsonl', h.map(formatOperation))]);
    expect(r.stdout.split('\n')[0]).toMatch(/^linearizable \(500 ops, 3 keys/);
    expect(r.status).toBe(0);
  });

  it('exit 1, "NOT linearizable" naming the key and operations, and the HTML timeline', () => {
    const p = file('stale.jsonl', [
      '{"client":1,"op":"put","key":"k1","value":"v1","call":10,"return":20,"ok":true}',
      '{"client":2,"op":"put","key":"k1","value":"v2","call":30,"return":40,"ok":true}',
      '{"client":3,"op":"get","key":"k1","call":50,"return":60,"ok":true,"output":"v2"}',
      '{"client":3,"op":"get","key":"k1","call":70,"return":80,"ok":true,"output":"v1"}',
    ]);
    const html = join(dir, 'out.html');
    const r = run(['--html', html, p]);
    expect(r.status).toBe(1);
    const first = r.stdout.split('\n')[0]!;
    expect(first).toMatch(/^NOT linearizable: key "k1": stale-read: .*lines 4, 2, 1/);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<svg');
    expect(page).toContain('stroke="#d00"');
  });

  it('exit 2 naming the line of malformed input', () => {
    const p = file('bad.jsonl', [
      '{"client":1,"op":"put","key":"k1","value":"v1","call":10,"return":20,"ok":true}',
      '{"client":1,"op":"put","key":"k1","call":10,"return":20,"ok":true}',
    ]);
    const r = run([p]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/line 2: a put needs a string "value"/);
    expect(run(['--timeout-s', 'x', p]).status).toBe(2);
    expect(run([]).status).toBe(2);
  });

  it('exit 3 and "unknown" first when it gives up', () => {
    // Many writes of unknown outcome pending at once on one key: too many orders for 1 s.
    const h = syntheticHistory({ ops: 60_000, keys: 1, clients: 100, seed: 2, unknownRate: 0.05 });
    const r = run(['--timeout-s', '1', file('hard.jsonl', h.map(formatOperation))]);
    expect(r.stdout.split('\n')[0]).toMatch(
      /^unknown: gave up on 1 key\(s\) \("k0": (timeout|memory)\)/,
    );
    expect(r.status).toBe(3);
  });
});
