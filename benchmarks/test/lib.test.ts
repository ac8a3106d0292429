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
