// A child process driving an on-disk store, for the crash and memory tests:
//   apply <dir>                      applies batches forever, printing each applied index
//   restore <dir> <file> <chunk>     restores from a snapshot file, printing "chunk" per chunk
//   fill <dir> <keys> <valueBytes>   writes keys, reads them all back, deletes them with one
//                                    prefix delete, prints memory figures
import * as fs from 'node:fs';
import { encodeCommand } from '../../src/kv/command.js';
import { KvStateMachine } from '../../src/kv/state-machine.js';

const [mode, dir, a, b] = process.argv.slice(2);

/** The batch of the apply mode: every key of it gets the batch's number. */
const KEYS_PER_BATCH = 64;

async function applyForever(sm: KvStateMachine): Promise<void> {
  const pad = 'x'.repeat(200);
  for (let n = sm.appliedIndex() / KEYS_PER_BATCH + 1; ; n++) {
    const entries = [];
    for (let i = 0; i < KEYS_PER_BATCH; i++) {
      const cmd = { op: 'put' as const, key: `k${i}`, value: `${n}:${pad}` };
      entries.push({ index: (n - 1) * KEYS_PER_BATCH + i + 1, data: encodeCommand(cmd) });
    }
    await sm.apply(entries);
    process.stdout.write(`${sm.appliedIndex()}\n`);
  }
}

async function restoreFrom(sm: KvStateMachine, file: string, chunk: number): Promise<void> {
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for await (const c of fs.createReadStream(file, { highWaterMark: chunk })) {
      process.stdout.write('chunk\n');
      yield c as Buffer;
    }
  }
  await sm.restore(chunks());
  process.stdout.write('done\n');
}

async function fill(sm: KvStateMachine, keys: number, valueBytes: number): Promise<void> {
  const value = (i: number) => `${i}:`.padEnd(valueBytes, 'v');
  const key = (i: number) => `key/${String(i).padStart(6, '0')}`;
  // RSS splits into anonymous memory (heap, LevelDB's caches and memtables) and file pages
  // (LevelDB maps its table files: page cache, counted in RSS while mapped).
  const peak = { rss: 0, rssAnon: 0, rssFile: 0 };
  const sample = () => {
    peak.rss = Math.max(peak.rss, process.memoryUsage().rss);
    for (const [, k, v] of readProcStatus().matchAll(/^(RssAnon|RssFile):\s+(\d+) kB$/gm)) {
      const key = k === 'RssAnon' ? 'rssAnon' : 'rssFile';
      peak[key] = Math.max(peak[key], Number(v) * 1024);
    }
  };
  for (let i = 0; i < keys; i += 256) {
    const entries = [];
    for (let j = i; j < Math.min(keys, i + 256); j++) {
      entries.push({
        index: j + 1,
        data: encodeCommand({ op: 'put', key: key(j), value: value(j) }),
      });
    }
    await sm.apply(entries);
    if (i % 8192 === 0) sample();
  }
  // Read everything back: ranges of 1000 keys, then point reads across the whole key space.
  let read = 0;
  for (let p = 0; p * 1000 < keys; p++) {
    const prefix = `key/${String(p).padStart(3, '0')}`;
    const { kvs, more } = await sm.range(prefix, 1000);
    if (more) throw new Error(`more than 1000 keys under ${prefix}`);
    for (const kv of kvs) {
      if (kv.value !== value(Number(kv.key.slice(4)))) throw new Error(`bad value at ${kv.key}`);
    }
    read += kvs.length;
    sample();
  }
  for (let i = 0; i < keys; i += 97) {
    const { kv } = await sm.get(key(i));
    if (kv?.value !== value(i)) throw new Error(`bad value at ${key(i)}`);
  }
  sample();
  const size = sm.size;
  // One prefix delete of everything: its keys go to LevelDB's batch, not into the heap.
  const index = sm.appliedIndex() + 1;
  const [res] = await sm.apply([
    { index, data: encodeCommand({ op: 'deletePrefix', prefix: 'key/' }) },
  ]);
  const deleted = res !== undefined && res.op === 'deletePrefix' ? res.deleted : -1;
  if (sm.size !== 0 || (await sm.range('key/', 1)).kvs.length !== 0) throw new Error('not empty');
  sample();
  const m = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({ read, size, deleted, peak, rss: m.rss, heapUsed: m.heapUsed, headCacheBytes: HEAD_CACHE_BYTES })}\n`,
  );
}

function readProcStatus(): string {
  try {
    return fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return ''; // not Linux
  }
}

// The caches at their defaults, named: fill reports them, and the memory test's bound counts them.
const RECORD_CACHE_BYTES = 2 << 20;
const HEAD_CACHE_BYTES = 12 << 20;
const sm = new KvStateMachine({
  dir: dir!,
  cacheBytes: RECORD_CACHE_BYTES,
  headCacheBytes: HEAD_CACHE_BYTES,
});
await sm.open();
if (mode === 'apply') await applyForever(sm);
else if (mode === 'restore') await restoreFrom(sm, a!, Number(b));
else if (mode === 'fill') await fill(sm, Number(a), Number(b));
else throw new Error(`unknown mode ${mode}`);
await sm.close();
