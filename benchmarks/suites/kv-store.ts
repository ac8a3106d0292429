// kv-store — kv-server's on-disk state machine (LevelDB) in process, without raft or HTTP.
//
// - apply: puts per second through apply(), values of 256 B, B puts per apply call (B = 1,
//   64), into a store prefilled with --keys keys: `keys: new` inserts keys never seen,
//   `keys: overwrite` rewrites uniformly random existing ones (a prefetch of the previous
//   record per key, from the read cache or LevelDB). No fsync: the raft log is the durable
//   part; raft-node calls sync() before compacting.
// - get: microseconds per read (one at a time) of a present key, from the read cache (a hot
//   set of 1,000 keys) and from LevelDB (uniformly random keys, read cache off: LevelDB's
//   block cache and the OS page cache, which hold this store).
// - memory: a child process fills a store with --rss-keys keys of 1 KiB (default 50,000 and
//   200,000: ~50 and ~200 MiB) and reads them all back: its peak RSS, split into anonymous
//   memory and LevelDB's mapped table files, and V8's reserved heap; with the default heap
//   limit and with --max-old-space-size=64. One run each (a fill takes seconds to minutes).
//
// Options: --keys N (default 100,000), --seconds S per run (default 1), --runs R (default 5),
// --rss-keys N,M (default 50000,200000), --dir D (default os.tmpdir()).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { type Command, KvStateMachine, encodeCommand } from '@tsraft/kv-server';
import { runInChild } from '../lib/child.js';
import type { FillReport } from '../lib/kv-store-fill.js';
import { sample } from '../lib/measure.js';
import type { SuiteContext } from '../lib/suite.js';

interface Options {
  keys: number;
  seconds: number;
  runs: number;
  rssKeys: number[];
  dir: string;
}

function options(ctx: SuiteContext): Options {
  const { values } = parseArgs({
    args: [...ctx.args],
    options: {
      keys: { type: 'string' },
      seconds: { type: 'string' },
      runs: { type: 'string' },
      'rss-keys': { type: 'string' },
      dir: { type: 'string' },
    },
  });
  const num = (s: string | undefined, d: number): number => {
    const v = s === undefined ? d : Number(s);
    if (!(v > 0)) throw new Error(`not a positive number: ${s}`);
    return v;
  };
  return {
    keys: Math.round(num(values.keys, ctx.quick ? 20_000 : 100_000)),
    seconds: num(values.seconds, ctx.quick ? 0.25 : 1),
    runs: Math.round(num(values.runs, ctx.quick ? 2 : 5)),
    rssKeys: (values['rss-keys'] ?? (ctx.quick ? '20000' : '50000,200000'))
      .split(',')
      .map((s) => Math.round(num(s, 0))),
    dir: values.dir ?? os.tmpdir(),
  };
}

const VALUE = 'v'.repeat(256);
const key = (i: number) => `key/${i}`;

/** A store in a fresh directory holding `n` keys of 256 B. */
async function prefilled(base: string, n: number, cacheBytes?: number): Promise<KvStateMachine> {
  const dir = fs.mkdtempSync(path.join(base, 'tsraft-bench-kv-store-'));
  const sm = new KvStateMachine({ dir, ...(cacheBytes === undefined ? {} : { cacheBytes }) });
  await sm.open();
  for (let i = 0; i < n; i += 512) {
    const cmds: Command[] = [];
    for (let j = i; j < Math.min(n, i + 512); j++)
      cmds.push({ op: 'put', key: key(j), value: VALUE });
    await applyCommands(sm, cmds);
  }
  return sm;
}

function applyCommands(sm: KvStateMachine, cmds: Command[]) {
  const first = sm.appliedIndex() + 1;
  return sm.apply(cmds.map((c, i) => ({ index: first + i, data: encodeCommand(c) })));
}

async function dispose(sm: KvStateMachine): Promise<void> {
  await sm.close();
  fs.rmSync(sm.options.dir, { recursive: true, force: true });
}

/** Puts per second for `seconds`, `batch` per apply call. */
async function putRate(
  sm: KvStateMachine,
  batch: number,
  seconds: number,
  nextKey: () => string,
): Promise<number> {
  let puts = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  do {
    // Encoding is the proposer's work, but it is small; it stays on the clock.
    const cmds: Command[] = [];
    for (let k = 0; k < batch; k++) cmds.push({ op: 'put', key: nextKey(), value: VALUE });
    await applyCommands(sm, cmds);
    puts += batch;
  } while (performance.now() < until);
  return puts / ((performance.now() - t0) / 1000);
}

/** Microseconds per get, one at a time, of keys from `pick`. */
async function getLatency(sm: KvStateMachine, count: number, pick: () => string): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    if ((await sm.get(pick())).kv === undefined) throw new Error('a present key was not found');
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / count;
}

export default async function run(ctx: SuiteContext): Promise<void> {
  const o = options(ctx);
  fs.mkdirSync(o.dir, { recursive: true });
  ctx.note(`stores in ${o.dir}; ${o.keys} keys of 256 B prefilled; ${o.seconds} s per run`);
  const random = () => key(Math.floor(Math.random() * o.keys));

  for (const batch of [1, 64]) {
    const sm = await prefilled(o.dir, o.keys);
    try {
      let fresh = o.keys;
      const inserts = await sample({ runs: o.runs }, () =>
        putRate(sm, batch, o.seconds, () => key(fresh++)),
      );
      ctx.record({
        name: 'apply',
        params: { value: 256, batch, keys: 'new' },
        unit: 'puts/s',
        samples: inserts,
      });
      const overwrites = await sample({ runs: o.runs }, () =>
        putRate(sm, batch, o.seconds, random),
      );
      ctx.record({
        name: 'apply',
        params: { value: 256, batch, keys: 'overwrite' },
        unit: 'puts/s',
        samples: overwrites,
      });
      ctx.log(
        `batch ${batch}: new ${median(inserts).toFixed(0)}, overwrite ${median(overwrites).toFixed(0)} puts/s`,
      );
    } finally {
      await dispose(sm);
    }
  }

  const count = ctx.quick ? 2000 : 20_000;
  {
    const sm = await prefilled(o.dir, o.keys);
    try {
      const hot = () => key(Math.floor(Math.random() * 1000));
      const samples = await sample({ runs: o.runs }, () => getLatency(sm, count, hot));
      ctx.record({ name: 'get', params: { from: 'cache' }, unit: 'us/get', samples });
    } finally {
      await dispose(sm);
    }
  }
  {
    const sm = await prefilled(o.dir, o.keys, 0); // no read cache: every get goes to LevelDB
    try {
      const samples = await sample({ runs: o.runs }, () => getLatency(sm, count, random));
      ctx.record({ name: 'get', params: { from: 'leveldb' }, unit: 'us/get', samples });
    } finally {
      await dispose(sm);
    }
  }

  // Each size with V8's default heap limit (the heap grows well past what is live before a
  // full GC pays off) and with --max-old-space-size=64 (what the store itself needs).
  for (const keys of o.rssKeys) {
    for (const heap of ['default', '64']) {
      const dir = fs.mkdtempSync(path.join(o.dir, 'tsraft-bench-kv-store-rss-'));
      try {
        const r = await runInChild<FillReport>(
          {
            module: new URL('../lib/kv-store-fill.ts', import.meta.url).href,
            fn: 'fillAndRead',
            input: { dir, keys, valueBytes: 1024 },
          },
          heap === 'default' ? {} : { nodeFlags: [`--max-old-space-size=${heap}`] },
        );
        const params = { keys, value: 1024, heap };
        const figures: [string, number][] = [
          ['rss', r.peakRssMiB],
          ['anonymous', r.peakRssAnonMiB],
          ['V8 heap reserved', r.peakHeapTotalMiB],
          ['mapped files', r.peakRssFileMiB],
        ];
        for (const [kind, mib] of figures) {
          ctx.record({ name: 'memory', params: { ...params, kind }, unit: 'MiB', samples: [mib] });
        }
        ctx.log(`${keys} keys of 1 KiB, heap ${heap}: ${JSON.stringify(r)}`);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
