// The benchmark library's pure parts: statistics, formatting, charts, parsing. Timings are
// never asserted.
import { describe, expect, it } from 'vitest';
import { parseCli } from '../lib/cli.js';
import { formatNumber, label } from '../lib/format.js';
import { markdownTable } from '../lib/report.js';
import { median, summarize } from '../lib/stats.js';
import type { Result, SuiteReport } from '../lib/suite.js';
import { escapeXml, niceCeil, panels, renderCharts } from '../lib/svg.js';
import { parse as parseEtcd } from '../peers/etcd-raft-go.js';
import { callsMatching, parseStraceLines } from '../lib/fsync-count.js';
import { logicalBytes, memKeySpace } from '../lib/kv-parts.js';
import {
  pairedRatios,
  parseParts,
  partOf,
  percentile,
  windowStats,
  withImpl,
} from '../lib/kv-rows.js';
import { hostPort, mergeWindows, withClient } from '../lib/kv-gen.js';
import { parseStatTicks, parseStatus } from '../lib/proc.js';

const result = (over: Partial<Result>): Result => ({
  name: 'W2',
  params: { batch: 16 },
  unit: 'entries/s',
  median: 100,
  min: 90,
  max: 110,
  runs: 5,
  ...over,
});

describe('stats', () => {
  it('takes the middle sample, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow();
  });

  it('summarizes samples into the results shape', () => {
    const s = summarize({
      name: 'W1',
      params: { batch: 1 },
      unit: 'entries/s',
      samples: [5, 1, 9, 3, 7],
    });
    expect(s).toEqual({
      name: 'W1',
      params: { batch: 1 },
      unit: 'entries/s',
      median: 5,
      min: 1,
      max: 9,
      runs: 5,
    });
    expect(Object.keys(s)).toEqual(['name', 'params', 'unit', 'median', 'min', 'max', 'runs']);
  });

  it('refuses a figure without samples or with a non-finite one', () => {
    expect(() => summarize({ name: 'x', params: {}, unit: 'u', samples: [] })).toThrow();
    expect(() =>
      summarize({ name: 'x', params: {}, unit: 'u', samples: [1, Number.NaN] }),
    ).toThrow();
  });
});

describe('format', () => {
  it('groups thousands and keeps 3 significant digits below 100', () => {
    expect(formatNumber(1234567.8)).toBe('1,234,568');
    expect(formatNumber(263.74)).toBe('263.7');
    expect(formatNumber(0.95312)).toBe('0.953');
    expect(formatNumber(0)).toBe('0');
  });

  it('labels a figure with its parameters', () => {
    expect(label('W2', { batch: 16, impl: 'coaty' })).toBe('W2 batch=16 impl=coaty');
    expect(label('W2', {})).toBe('W2');
  });
});

describe('report', () => {
  it('prints one Markdown row per result', () => {
    const r: SuiteReport = {
      suite: 'core',
      commit: 'c',
      node: 'v20',
      machine: 'm',
      results: [result({})],
    };
    const t = markdownTable(r).split('\n');
    expect(t).toHaveLength(3);
    expect(t[2]).toBe('| W2 | batch=16 | entries/s | 100 | 90 | 110 | 5 |');
  });
});

describe('svg', () => {
  it('rounds axis ends up to 1, 2 or 5 times a power of ten', () => {
    expect(niceCeil(375_401)).toBe(500_000);
    expect(niceCeil(1.83)).toBe(2);
    expect(niceCeil(100)).toBe(100);
    expect(niceCeil(0)).toBe(1);
  });

  it('escapes text', () => {
    expect(escapeXml('a<b & "c"')).toBe('a&#60;b &#38; &#34;c&#34;');
  });

  it('draws one panel per unit and name, splits wide ranges, leaves ns/ units out', () => {
    const ps = panels([
      result({ name: 'encode', params: { msg: 'app', impl: 'a' }, median: 100_000 }),
      result({ name: 'encode', params: { msg: 'hb', impl: 'a' }, median: 3_000_000 }),
      result({ name: 'W1', median: 10 }),
      result({ name: 'W1', params: { batch: 64 }, median: 20 }),
      result({ name: 'W1', unit: 'ns/entry' }),
    ]);
    expect(ps.map((p) => p.title)).toEqual([
      'encode msg=app — entries/s',
      'encode msg=hb — entries/s',
      'W1 — entries/s',
    ]);
  });

  it('renders a standalone SVG document with a bar per result', () => {
    const svg = renderCharts('core <test>', [
      result({}),
      result({ params: { batch: 16, impl: 'etcd' }, median: 80 }),
      result({ unit: 'ratio ours/peer', params: { batch: 16, vs: 'etcd' }, median: 1.25 }),
    ]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('core &#60;test&#62;');
    expect(svg.match(/<title>/g)).toHaveLength(3);
    expect(svg).toContain('stroke-dasharray'); // parity line on the ratio panel
  });
});

describe('cli', () => {
  const suites = ['core', 'codec', 'storage'];

  it('reads leading words as suites and the rest as suite options', () => {
    expect(parseCli(['core', '--peers'], suites)).toEqual({
      suites: ['core'],
      args: ['--peers'],
      quick: false,
    });
    expect(parseCli(['core', '--runs', '3', '--quick'], suites)).toEqual({
      suites: ['core'],
      args: ['--runs', '3'],
      quick: true,
    });
  });

  it('runs every suite when none is named, and refuses an unknown one', () => {
    expect(parseCli(['--', '--quick'], suites)).toEqual({ suites, args: [], quick: true });
    expect(parseCli(['kv'], suites)).toBe('no suite "kv"');
  });
});

describe('etcd-raft-go output', () => {
  it('parses the rows main.go prints', () => {
    const out = [
      'go go1.19.8 GOMAXPROCS=1',
      'W1 B=1 entries/s median 739770 (min 700000 max 750000) ns/entry 1352 alloc B/entry 597',
      'W3 B=16 entries/s median 87501 (min 87000 max 88000) ns/entry 11428 alloc B/entry 12606',
    ].join('\n');
    const { version, rows } = parseEtcd(out, 5);
    expect(version).toBe('go go1.19.8 GOMAXPROCS=1');
    expect(rows).toEqual([
      {
        workload: 'W1',
        batch: 1,
        median: 739770,
        min: 700000,
        max: 750000,
        runs: 5,
        allocPerEntry: 597,
      },
      {
        workload: 'W3',
        batch: 16,
        median: 87501,
        min: 87000,
        max: 88000,
        runs: 5,
        allocPerEntry: 12606,
      },
    ]);
  });
});

describe('kv suite helpers', () => {
  it('reads memory from /proc/<pid>/status', () => {
    const text = [
      'Name:\tnode',
      'VmHWM:\t  204800 kB',
      'VmRSS:\t  102400 kB',
      'RssAnon:\t   81920 kB',
      'RssFile:\t   20480 kB',
    ].join('\n');
    expect(parseStatus(text)).toEqual({
      rssBytes: 100 * 2 ** 20,
      hwmBytes: 200 * 2 ** 20,
      anonBytes: 80 * 2 ** 20,
      fileBytes: 20 * 2 ** 20,
    });
    expect(parseStatus('Name: x').rssBytes).toBeNaN();
  });

  it('reads utime + stime from /proc/<pid>/stat, a name with spaces and parentheses too', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[14 - 3] = '250';
    fields[15 - 3] = '50';
    expect(parseStatTicks(`123 (we(ird) name) ${fields.join(' ')}`)).toBe(300);
  });

  it('counts strace -f -y lines per call and per file, resumed calls once', () => {
    const out = [
      '101 fdatasync(7</d/node-1/raft/000005.log>) = 0',
      '[pid 102] fdatasync(9</d/node-1/kv/000003.log> <unfinished ...>',
      '[pid 102] <... fdatasync resumed>) = 0',
      '103 fsync(4</d/m1/member/snap/db>) = 0',
      '103 fsync(4) = 0',
      '101 +++ exited with 0 +++',
    ].join('\n');
    const c = parseStraceLines(out);
    expect(c.total).toBe(4);
    expect(c.bySyscall).toEqual({ fdatasync: 2, fsync: 2 });
    expect(c.byFile['/d/node-1/raft/000005.log']).toBe(1);
    expect(c.byFile['?']).toBe(1);
    expect(callsMatching(c, ['/kv/', '/snap/db'])).toBe(2);
  });

  it('takes quantiles, the max and rates per window, and ratios window by window', () => {
    const w = (lat: number[]) => ({
      ops: lat.length,
      errors: 0,
      seconds: 2,
      latencies: Float64Array.from(lat),
    });
    const st = windowStats([w([3, 1, 2, 4]), w([10])]);
    expect(st.rate).toEqual([2, 0.5]);
    expect(st.q.p50).toEqual([2, 10]);
    expect(st.q.max).toEqual([4, 10]);
    expect(percentile(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 0.99)).toBe(10);
    expect(pairedRatios([2, 4, 6], [1, 2])).toEqual([2, 2]);
    expect(pairedRatios([1], [0])).toEqual([]);
    const merged = mergeWindows([[w([1, 2])], [w([3])]]);
    expect(merged[0]!.ops).toBe(3);
    expect([...merged[0]!.latencies]).toEqual([1, 2, 3]);
  });

  it('names parts and implementations', () => {
    expect(parseParts(undefined)).toEqual(['puts', 'tail', 'memory', 'join']);
    expect(parseParts('memory,join')).toEqual(['memory', 'join']);
    expect(parseParts('mem')).toMatch(/no part "mem"/);
    expect(partOf('memory peak rss')).toBe('memory');
    expect(partOf('join catch-up')).toBe('join');
    expect(partOf('tail put latency')).toBe('tail');
    expect(partOf('fsync per put')).toBe('puts');
    expect(withImpl({ clients: 1 }, 'tsraft')).toEqual({ clients: 1 });
    expect(withImpl({ clients: 1 }, 'etcd')).toEqual({ clients: 1, impl: 'etcd' });
  });

  it('names the client of a row, and points a gRPC client at a client URL', () => {
    const go = { name: 'go-clientv3', api: null };
    const http = { name: 'node-http', api: 'http' };
    expect(withImpl(withClient({ clients: 64 }, go), 'etcd')).toEqual({
      clients: 64,
      client: 'go-clientv3',
      impl: 'etcd',
    });
    expect(withClient({ clients: 64 }, http)).toEqual({
      clients: 64,
      api: 'http',
      client: 'node-http',
    });
    expect(hostPort('http://127.0.0.1:2379')).toBe('127.0.0.1:2379');
  });

  it("sizes the memory rows' data: 1M keys of 1 KiB are about 1 GiB", () => {
    const ks = memKeySpace(1_000_000);
    expect(logicalBytes(ks, 1_000_000) / 2 ** 30).toBeCloseTo(0.964, 2);
  });
});
