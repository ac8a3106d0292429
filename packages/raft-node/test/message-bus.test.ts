// The message bus example (examples/message-bus): each partition a raft group of a RaftHost,
// consumer offsets in raft too. Its main.ts runs as documented; and on a MemoryNetwork, keyed
// records keep their order in their partition, offsets are consecutive per partition, every
// host consumes the same records, and committed offsets read back linearizably.
import { rm } from 'node:fs/promises';
import { afterEach, expect, it, vi } from 'vitest';
import { MessageBus } from '../examples/message-bus/bus.js';
import { MemoryNetwork, RaftHost } from '../src/index.js';
import net from 'node:net';
import { logger, tempDir } from './helpers.js';

/** A base port with the two after it free too (main.ts takes three in a row). */
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

let hosts: RaftHost[] = [];
let dirs: string[] = [];
afterEach(async () => {
  await Promise.allSettled(hosts.map((h) => h.stop()));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  hosts = [];
  dirs = [];
});

it('examples/message-bus/main.ts runs', async () => {
  process.env.PORT = String(await threeFreePorts());
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((x) => void lines.push(String(x)));
  try {
    await import('../examples/message-bus/main.js');
  } finally {
    spy.mockRestore();
    delete process.env.PORT;
  }
  expect(lines).toEqual([
    expect.stringMatching(/^produced alice:book -> partition (\d), offset 0$/),
    expect.stringMatching(/^produced bob:lamp -> partition \d, offset \d$/),
    expect.stringMatching(/^produced alice:pen -> partition \d, offset 1$/),
    expect.stringMatching(/^consumed partition \d: 0:alice:book 1:alice:pen$/),
    expect.stringMatching(/^billing's offset on partition \d: 2$/),
  ]);
});

it('keyed records keep their order per partition, on every host', async () => {
  const network = new MemoryNetwork();
  const peers = { 1: 'mem:1', 2: 'mem:2', 3: 'mem:3' };
  for (const id of [1, 2, 3]) {
    const dataDir = await tempDir();
    dirs.push(dataDir);
    const h = new RaftHost({
      id,
      listen: peers[id as 1],
      dataDir,
      peers,
      logger,
      tickMs: 10,
      balanceLeaders: false,
      transport: network.transport,
    });
    await h.start();
    hosts.push(h);
  }
  const buses = hosts.map((h) => new MessageBus(h, { orders: 4, audit: 1 }, [1, 2, 3]));
  await Promise.all(buses.map((b) => b.open()));
  const enc = new TextEncoder();
  const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  // Sequential per key, concurrent across keys, through different hosts.
  const produced = await Promise.all(
    keys.map(async (k, i) => {
      const out = [];
      for (let n = 0; n < 5; n++) {
        out.push(await buses[i % 3]!.produce('orders', k, enc.encode(`${k}${n}`)));
      }
      return out;
    }),
  );
  for (const out of produced) {
    expect(new Set(out.map((p) => p.partition)).size).toBe(1); // a key stays in its partition
  }
  const dec = new TextDecoder();
  for (let p = 0; p < 4; p++) {
    const expected = produced.flat().filter((x) => x.partition === p).length;
    const seqs = await Promise.all(
      buses.map(async (b) => {
        const ac = new AbortController();
        const got: string[] = [];
        if (expected === 0) return got;
        for await (const r of b.consume('orders', p, 0, { signal: ac.signal })) {
          expect(r.offset).toBe(got.length); // consecutive offsets from 0
          got.push(`${r.key}:${dec.decode(r.value)}`);
          if (got.length === expected) ac.abort();
        }
        return got;
      }),
    );
    expect(seqs[1]).toEqual(seqs[0]);
    expect(seqs[2]).toEqual(seqs[0]);
    for (const k of keys) {
      const mine = seqs[0]!.filter((s) => s.startsWith(`${k}:`));
      expect(mine).toEqual(mine.length === 0 ? [] : [0, 1, 2, 3, 4].map((n) => `${k}:${k}${n}`));
    }
  }
  await buses[0]!.commitOffset('billing', 'orders', 2, 7);
  expect(await buses[2]!.committedOffset('billing', 'orders', 2)).toBe(7);
  expect(await buses[1]!.committedOffset('billing', 'orders', 3)).toBe(0);
  await expect(buses[0]!.produce('nope', 'k', enc.encode('x'))).rejects.toThrow(RangeError);
});
