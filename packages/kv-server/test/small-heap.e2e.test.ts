// A raft-kv process whose V8 heap is limited to 128 MiB holds 1.5 times that much KV data and
// serves all of it: the store lives on disk, and the process keeps only bounded caches.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { KvClient } from '../src/client.js';
import { cliCommand, freePorts } from '../src/process-cluster.js';
import { waitFor } from './support/e2e.js';
import { removeDir, tempDir } from './support/temp-store.js';

const dir = tempDir('kv-small-heap-');
afterAll(() => removeDir(dir));

const VALUE_BYTES = 256 << 10;
const KEYS = 768; // 192 MiB of values
const value = (i: number) => `${i}:`.padEnd(VALUE_BYTES, 'v');

/** RSS and its anonymous part (without LevelDB's mapped table files), MiB; 0 off Linux. */
function rssMiB(pid: number): { rss: number; anon: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) =>
      Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024 };
  } catch {
    return { rss: 0, anon: 0 };
  }
}

it('a node with a 128 MiB heap holds 192 MiB of values and serves them', async () => {
  const [clientPort, peerPort] = await freePorts(2);
  const { cmd, args, cwd } = cliCommand();
  const proc = spawn(
    cmd,
    [
      ...args,
      ...['--data-dir', dir, '--log-level', 'warn', '--snapshot-interval', '200'],
      ...['--listen-client', `127.0.0.1:${clientPort}`, '--listen-peer', `127.0.0.1:${peerPort}`],
    ],
    {
      cwd,
      env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=128' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  proc.stderr!.on('data', (d) => {
    stderr += d;
  });
  proc.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  try {
    const kv = new KvClient(`http://127.0.0.1:${clientPort}`);
    await waitFor('the node to lead', async () => (await kv.status()).leader === 1, 30_000);
    const peak = { rss: 0, anon: 0 };
    const sample = () => {
      const m = rssMiB(proc.pid!);
      peak.rss = Math.max(peak.rss, m.rss);
      peak.anon = Math.max(peak.anon, m.anon);
    };
    let next = 0;
    const writer = async () => {
      for (let i = next++; i < KEYS; i = next++) {
        await kv.put(`k/${String(i).padStart(4, '0')}`, value(i), { timeoutMs: 30_000 });
        if (i % 32 === 0) sample();
      }
    };
    await Promise.all(Array.from({ length: 8 }, writer));
    for (let i = 0; i < KEYS; i++) {
      const got = await kv.get(`k/${String(i).padStart(4, '0')}`, 'serializable');
      expect(got?.value === value(i)).toBe(true);
      if (i % 32 === 0) sample();
    }
    const { kvs, more } = await kv.range('k/', { limit: 3 });
    expect(kvs.map((x) => x.key)).toEqual(['k/0000', 'k/0001', 'k/0002']);
    expect(more).toBe(true);
    expect((await kv.status()).keys).toBe(KEYS);
    expect(proc.exitCode).toBeNull();
    console.log(
      `holding 192 MiB of values: peak RSS ${peak.rss.toFixed(0)} MiB, of which anonymous ${peak.anon.toFixed(0)} MiB`,
    );
  } catch (err) {
    process.stderr.write(`--- raft-kv stderr ---\n${stderr}\n`);
    throw err;
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
}, 300_000);
