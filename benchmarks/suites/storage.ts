// storage — raft-storage-level on this machine's disk (shared/BENCHMARKS.md, "storage").
//
// - append: durable appends per second, one synced save() per batch of B entries (as one
//   Ready: the entries plus a hard state advancing the commit), for entries of 128 B and
//   4 KiB and B = 1, 16, 256. Each run opens a fresh store and saves for --seconds.
// - fdatasync: the disk's raw rate of a 4 KiB append followed by fdatasync, in a synchronous
//   loop in this process: the physical limit for B = 1. It alternates with our B = 1 runs,
//   and each pair gives one sample of the ratio ours/limit (the figure to read).
// - reopen: after --entries entries (default 1,000,000, in saves of 256) with a snapshot every
//   10,000 and compaction keeping 5,000 (raft-node's defaults), the time to close and open
//   the store again, and the memory the reopened store holds (V8 heap, and external memory:
//   the entry payloads' buffers), measured as the difference around open with a full GC.
//
// Options: --seconds S (per run, default 1), --runs R (default 5), --entries N, --dir D (where
// the stores live, default os.tmpdir(): put it on the disk you want to measure).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { type Entry, newConfState, newEntry } from '@tsraft/raft-core';
import { LevelStorage } from '@tsraft/raft-storage-level';
import { collectGarbage, sample } from '../lib/measure.js';
import type { SuiteContext } from '../lib/suite.js';

const BATCHES = [1, 16, 256];
const SIZES = [128, 4096];
const SNAPSHOT_EVERY = 10_000;
const KEEP = 5_000;

interface Options {
  seconds: number;
  runs: number;
  entries: number;
  dir: string;
}

function options(ctx: SuiteContext): Options {
  const { values } = parseArgs({
    args: [...ctx.args],
    options: {
      seconds: { type: 'string' },
      runs: { type: 'string' },
      entries: { type: 'string' },
      dir: { type: 'string' },
    },
  });
  const num = (s: string | undefined, d: number): number => {
    const v = s === undefined ? d : Number(s);
    if (!(v > 0)) throw new Error(`not a positive number: ${s}`);
    return v;
  };
  return {
    seconds: num(values.seconds, ctx.quick ? 0.25 : 1),
    runs: Math.round(num(values.runs, ctx.quick ? 2 : 5)),
    entries: Math.round(num(values.entries, ctx.quick ? 50_000 : 1_000_000)),
    dir: values.dir ?? os.tmpdir(),
  };
}

function freshDir(base: string): string {
  return fs.mkdtempSync(path.join(base, 'tsraft-bench-storage-'));
}

/** `count` entries of `size` bytes from index `from`, payloads distinct and incompressible. */
function makeEntries(from: number, count: number, size: number): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const data = new Uint8Array(size);
    let x = (from + i) * 2654435761;
    for (let j = 0; j < size; j++) {
      x = (x * 1103515245 + 12345) >>> 0;
      data[j] = x >>> 24;
    }
    out.push(newEntry({ index: from + i, term: 1, data }));
  }
  return out;
}

/** Entries per second of synced saves of `batch` entries of `size` bytes, on a fresh store. */
async function appendRate(
  base: string,
  size: number,
  batch: number,
  seconds: number,
): Promise<number> {
  const dir = freshDir(base);
  const s = await LevelStorage.open(dir);
  try {
    // A pool of prepared batches, reused with fresh indexes: payload making stays off the clock.
    const pool = makeEntries(1, Math.max(batch, 64), size);
    let next = 1;
    let entries = 0;
    const t0 = performance.now();
    const until = t0 + seconds * 1000;
    do {
      const ents: Entry[] = [];
      for (let k = 0; k < batch; k++)
        ents.push({ ...pool[(next + k) % pool.length]!, index: next + k });
      next += batch;
      await s.save({ entries: ents, hardState: { term: 1, vote: 1, commit: next - 1 } });
      entries += batch;
    } while (performance.now() < until);
    return entries / ((performance.now() - t0) / 1000);
  } finally {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Appends of 4 KiB, each followed by fdatasync, per second: the disk's limit for batch 1. */
function fdatasyncRate(base: string, seconds: number): number {
  const dir = freshDir(base);
  const fd = fs.openSync(path.join(dir, 'raw'), 'w');
  try {
    const buf = Buffer.alloc(4096, 0x5a);
    let n = 0;
    const t0 = performance.now();
    const until = t0 + seconds * 1000;
    do {
      fs.writeSync(fd, buf);
      fs.fdatasyncSync(fd);
      n++;
    } while (performance.now() < until);
    return n / ((performance.now() - t0) / 1000);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Fills a store with `n` entries of 128 B, snapshotting and compacting as raft-node does. */
async function fill(dir: string, n: number, log: (s: string) => void): Promise<void> {
  const s = await LevelStorage.open(dir);
  const cs = newConfState({ voters: [1, 2, 3] });
  const pool = makeEntries(1, 256, 128);
  const t0 = performance.now();
  for (let next = 1; next <= n; ) {
    const count = Math.min(256, n - next + 1);
    const ents = pool.slice(0, count).map((e, k) => ({ ...e, index: next + k }));
    next += count;
    await s.save({ entries: ents, hardState: { term: 1, vote: 1, commit: next - 1 } });
    const applied = next - 1;
    if (Math.floor(applied / SNAPSHOT_EVERY) > Math.floor((applied - count) / SNAPSHOT_EVERY)) {
      await s.createSnapshot(applied, cs, new Uint8Array(1024));
      if (applied > KEEP) await s.compact(applied - KEEP);
    }
  }
  log(
    `filled ${n} entries in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${JSON.stringify(s.stats())}`,
  );
  await s.close();
}

export default async function run(ctx: SuiteContext): Promise<void> {
  const o = options(ctx);
  fs.mkdirSync(o.dir, { recursive: true });
  ctx.note(`stores in ${o.dir}; ${o.seconds} s per run`);

  // Batch 1, alternating with the raw fdatasync loop: the ratio of each pair is one sample.
  for (const size of SIZES) {
    const ours: number[] = [];
    const limit: number[] = [];
    await sample({ runs: o.runs }, async (run) => {
      const raw = fdatasyncRate(o.dir, o.seconds);
      const rate = await appendRate(o.dir, size, 1, o.seconds);
      if (run >= 0) {
        limit.push(raw);
        ours.push(rate);
      }
      return rate;
    });
    ctx.record({
      name: 'append',
      params: { entry: size, batch: 1 },
      unit: 'entries/s',
      samples: ours,
    });
    if (size === SIZES[0]) {
      ctx.record({ name: 'fdatasync', params: { write: 4096 }, unit: 'writes/s', samples: limit });
    }
    ctx.record({
      name: 'append',
      params: { entry: size, batch: 1, vs: 'fdatasync' },
      unit: 'ratio',
      samples: ours.map((r, i) => r / limit[i]!),
    });
    ctx.log(
      `entry ${size} B, batch 1: ${median(ours).toFixed(0)} entries/s, limit ${median(limit).toFixed(0)}`,
    );
  }

  for (const size of SIZES) {
    for (const batch of BATCHES.slice(1)) {
      const samples = await sample({ runs: o.runs }, () =>
        appendRate(o.dir, size, batch, o.seconds),
      );
      ctx.record({ name: 'append', params: { entry: size, batch }, unit: 'entries/s', samples });
      ctx.log(`entry ${size} B, batch ${batch}: ${median(samples).toFixed(0)} entries/s`);
    }
  }

  // Reopen after a long, compacted log.
  const dir = freshDir(o.dir);
  try {
    await fill(dir, o.entries, ctx.log);
    const heap: number[] = [];
    const external: number[] = [];
    const reopen = await sample({ runs: o.runs }, async (run) => {
      collectGarbage();
      const before = process.memoryUsage();
      const t0 = performance.now();
      const s = await LevelStorage.open(dir);
      const ms = performance.now() - t0;
      collectGarbage();
      const after = process.memoryUsage();
      if (run >= 0) {
        heap.push((after.heapUsed - before.heapUsed) / 2 ** 20);
        external.push((after.external - before.external) / 2 ** 20); // includes arrayBuffers
      }
      await s.close();
      return ms;
    });
    const params = { entries: o.entries, compactEvery: SNAPSHOT_EVERY };
    ctx.record({ name: 'reopen', params, unit: 'ms', samples: reopen });
    ctx.record({ name: 'memory', params: { ...params, kind: 'heap' }, unit: 'MiB', samples: heap });
    ctx.record({
      name: 'memory',
      params: { ...params, kind: 'external' },
      unit: 'MiB',
      samples: external,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
