// The store holds more data than the process's heap: 200,000 keys of 1 KiB (~200 MiB) written,
// read back and deleted by one prefix delete, by a child limited to a 64 MiB heap.
import { afterAll, expect, it } from 'vitest';
import { startChild } from './support/child.js';
import { removeDir, tempDir } from './support/temp-store.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

it('holds, serves and deletes 200k keys of 1 KiB with a 64 MiB heap', async () => {
  const child = startChild(['fill', dir, '200000', '1024'], ['--max-old-space-size=64']);
  const { code, stderr } = await child.exited;
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const report = JSON.parse(child.lines.at(-1)!);
  expect(report).toMatchObject({ read: 200_000, size: 200_000, deleted: 200_000 });
  expect(report.heapUsed).toBeLessThan(64 << 20);
  // Anonymous memory: the heap, LevelDB's block cache and memtables, the record cache (in the
  // heap) and the head table (off it, full at 200k keys); not the data. LevelDB's mapped table
  // files add page cache on top (RssFile), which the kernel reclaims under pressure.
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  console.log(
    `200k keys of 1 KiB: peak RSS ${mib(report.peak.rss)} (anonymous ${mib(report.peak.rssAnon)}, file ${mib(report.peak.rssFile)}), heap used ${mib(report.heapUsed)}`,
  );
  const heads = report.headCacheBytes;
  if (report.peak.rssAnon > 0) expect(report.peak.rssAnon).toBeLessThan((150 << 20) + heads);
  else expect(report.peak.rss).toBeLessThan((250 << 20) + heads);
}, 300_000);
