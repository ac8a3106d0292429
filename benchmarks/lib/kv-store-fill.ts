// Runs in a child (lib/child.ts): fills an on-disk KV store with `keys` keys of `valueBytes`,
// reads every key back, and reports the process's peak memory meanwhile. RSS is split into
// anonymous memory (V8's heap, LevelDB's block cache and memtables, the read cache) and file
// pages (LevelDB maps its table files; page cache the kernel reclaims under pressure).
import * as fs from 'node:fs';
import { KvStateMachine, encodeCommand } from '@tsraft/kv-server';

export interface FillInput {
  dir: string;
  keys: number;
  valueBytes: number;
}

export interface FillReport {
  seconds: number;
  peakRssMiB: number;
  peakRssAnonMiB: number;
  peakRssFileMiB: number;
  /** V8's heap as reserved (it grows well past what is live before a full GC pays off). */
  peakHeapTotalMiB: number;
  heapUsedMiB: number;
}

function procStatus(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    const text = fs.readFileSync('/proc/self/status', 'utf8');
    for (const [, k, v] of text.matchAll(/^(\w+):\s+(\d+) kB$/gm)) out.set(k!, Number(v) * 1024);
  } catch {}
  return out;
}

export async function fillAndRead(input: FillInput): Promise<FillReport> {
  const sm = new KvStateMachine({ dir: input.dir });
  await sm.open();
  const peak = { rss: 0, anon: 0, file: 0, heapTotal: 0 };
  const sampleMemory = () => {
    const s = procStatus();
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal);
    peak.anon = Math.max(peak.anon, s.get('RssAnon') ?? 0);
    peak.file = Math.max(peak.file, s.get('RssFile') ?? 0);
  };
  const key = (i: number) => `key/${String(i).padStart(7, '0')}`;
  const value = (i: number) => `${i}:`.padEnd(input.valueBytes, 'v');
  const t0 = performance.now();
  for (let i = 0; i < input.keys; i += 256) {
    const entries = [];
    for (let j = i; j < Math.min(input.keys, i + 256); j++) {
      entries.push({
        index: j + 1,
        data: encodeCommand({ op: 'put', key: key(j), value: value(j) }),
      });
    }
    await sm.apply(entries);
    if (i % 4096 === 0) sampleMemory();
  }
  for (let i = 0; i < input.keys; i += 1000) {
    const { kvs } = await sm.range(`key/${String(i / 1000).padStart(4, '0')}`, 1000);
    if (kvs.length !== Math.min(1000, input.keys - i)) throw new Error(`short range at ${i}`);
    sampleMemory();
  }
  const seconds = (performance.now() - t0) / 1000;
  await sm.close();
  const mib = (n: number) => n / 2 ** 20;
  return {
    seconds,
    peakRssMiB: mib(peak.rss),
    peakRssAnonMiB: mib(peak.anon),
    peakRssFileMiB: mib(peak.file),
    peakHeapTotalMiB: mib(peak.heapTotal),
    heapUsedMiB: mib(process.memoryUsage().heapUsed),
  };
}
