// Memory bounded by the working set, not the data: a raft-kv process whose V8 heap is capped at
// 128 MiB (--max-old-space-size=128) takes 160 MiB of values, serves them, and restarts from
// its data dir with them; an in-memory store would die of heap exhaustion on the way. Values
// are random (LevelDB compresses, and the data on disk must really outgrow the heap).
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KvClient } from '../src/client.js';
import { TestCluster, waitFor } from './support/e2e.js';

const KEYS = 40_000;
const HEAP_MIB = 128;
/** 4 KiB of incompressible text for key i (the same every time it is asked for). */
const seed = randomBytes(3072).toString('base64');
const value = (i: number) => `${i}:${seed.slice(i % 1000)}${seed.slice(0, i % 1000)}`;

let tc: TestCluster;

beforeAll(async () => {
  tc = new TestCluster([], undefined, { nodeFlags: [`--max-old-space-size=${HEAP_MIB}`] });
  await tc.cluster.start(1);
  await tc.leader(30_000);
}, 60_000);

afterAll(async () => {
  await tc?.stop();
}, 30_000);

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

it(`a node with a ${HEAP_MIB} MiB heap holds ${KEYS / 1000}k values of 4 KiB and serves them`, async () => {
  const c = new KvClient(tc.cluster.node(1).clientUrl);
  try {
    let next = 0;
    const deadline = Date.now() + 240_000;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < KEYS && Date.now() < deadline) {
          const i = next++;
          await c.put(`k/${String(i).padStart(6, '0')}`, value(i), { timeoutMs: 30_000 });
        }
      }),
    );
    expect(next).toBe(KEYS);
    const data = dirBytes(tc.cluster.node(1).spec.dataDir);
    expect(data).toBeGreaterThan(HEAP_MIB * 1024 * 1024);
    const pid = tc.cluster.node(1).proc!.pid!;
    process.stdout.write(
      `small heap: ${KEYS} keys, data dir ${(data / 2 ** 20).toFixed(0)} MiB, peak RSS ${peakRssMiB(pid).toFixed(0)} MiB\n`,
    );

    const check = async (cl: KvClient) => {
      expect((await cl.status()).keys).toBe(KEYS);
      for (const i of [0, 1, 7_777, 29_999, KEYS - 1]) {
        const kv = await cl.get(`k/${String(i).padStart(6, '0')}`);
        expect(kv?.value).toBe(value(i));
      }
      const r = await cl.range('k/0099', { limit: 1000 });
      expect(r.kvs.map((kv) => kv.key)).toEqual(
        Array.from({ length: 100 }, (_, j) => `k/0099${String(j).padStart(2, '0')}`),
      );
    };
    await check(c);

    // And from its data dir alone, with the same small heap.
    await tc.cluster.node(1).kill('SIGTERM');
    tc.cluster.restart(1);
    const c2 = new KvClient(tc.cluster.node(1).clientUrl);
    try {
      await waitFor('the restarted node to serve', async () => (await c2.status()).leader === 1);
      await check(c2);
    } finally {
      c2.close();
    }
  } finally {
    c.close();
  }
}, 300_000);
