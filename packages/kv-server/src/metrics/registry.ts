// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the
// text exposition format (version 0.0.4). Enough for /metrics without a dependency.

type Labels = Record<string, string | number>;

function labelKey(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabel(String(labels[k]))}"`);
  return parts.join(',');
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function fmt(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

interface Metric {
  readonly name: string;
  render(out: string[]): void;
}

abstract class Base implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: string,
  ) {}

  protected header(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    out.push(`# TYPE ${this.name} ${this.type}`);
  }

  abstract render(out: string[]): void;
}

export class Counter extends Base {
  private readonly values = new Map<string, number>();

  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }

  inc(labels?: Labels, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }

  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  override render(out: string[]): void {
    this.header(out);
    if (this.values.size === 0) out.push(`${this.name} 0`);
    for (const [k, v] of this.values) out.push(`${this.name}${k ? `{${k}}` : ''} ${fmt(v)}`);
  }
}

/** A value read at scrape time (counter or gauge) from another component's statistics. */
export class Collected extends Base {
  constructor(
    name: string,
    help: string,
    type: 'counter' | 'gauge',
    private readonly collect: () => number | ReadonlyArray<[Labels, number]> | undefined,
  ) {
    super(name, help, type);
  }

  override render(out: string[]): void {
    const v = this.collect();
    if (v === undefined) return;
    this.header(out);
    if (typeof v === 'number') {
      out.push(`${this.name} ${fmt(v)}`);
      return;
    }
    for (const [labels, x] of v) {
      const k = labelKey(labels);
      out.push(`${this.name}${k ? `{${k}}` : ''} ${fmt(x)}`);
    }
  }
}

/** Latency buckets in seconds: 100 µs to 10 s. */
export const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Cumulative buckets as another component keeps them: observations <= le. */
export interface HistogramData {
  buckets: ReadonlyArray<{ le: number; count: number }>;
  sum: number;
  count: number;
}

/** A histogram read at scrape time from another component's cumulative buckets. */
export class CollectedHistogram extends Base {
  constructor(
    name: string,
    help: string,
    private readonly collect: () => HistogramData | undefined,
  ) {
    super(name, help, 'histogram');
  }

  override render(out: string[]): void {
    const h = this.collect();
    if (h === undefined) return;
    this.header(out);
    for (const b of h.buckets) out.push(`${this.name}_bucket{le="${fmt(b.le)}"} ${b.count}`);
    out.push(`${this.name}_bucket{le="+Inf"} ${h.count}`);
    out.push(`${this.name}_sum ${fmt(h.sum)}`);
    out.push(`${this.name}_count ${h.count}`);
  }
}

interface HistogramSeries {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Base {
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    name: string,
    help: string,
    private readonly buckets: readonly number[] = LATENCY_BUCKETS,
  ) {
    super(name, help, 'histogram');
  }

  observe(value: number, labels?: Labels): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (s === undefined) {
      s = { counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    // Buckets are few: a linear scan from the low end is as fast as a binary search here.
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= this.buckets[i]!) {
        s.counts[i]++;
        break;
      }
    }
    s.sum += value;
    s.count++;
  }

  /** Observes seconds elapsed since `startNs` (process.hrtime.bigint()). */
  observeSince(startNs: bigint, labels?: Labels): void {
    this.observe(Number(process.hrtime.bigint() - startNs) / 1e9, labels);
  }

  count(labels?: Labels): number {
    return this.series.get(labelKey(labels))?.count ?? 0;
  }

  override render(out: string[]): void {
    this.header(out);
    if (this.series.size === 0)
      this.series.set('', { counts: this.buckets.map(() => 0), sum: 0, count: 0 });
    for (const [k, s] of this.series) {
      let cum = 0;
      const sep = k ? `${k},` : '';
      for (let i = 0; i < this.buckets.length; i++) {
        cum += s.counts[i]!;
        out.push(`${this.name}_bucket{${sep}le="${fmt(this.buckets[i]!)}"} ${cum}`);
      }
      out.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      const lbl = k ? `{${k}}` : '';
      out.push(`${this.name}_sum${lbl} ${fmt(s.sum)}`);
      out.push(`${this.name}_count${lbl} ${s.count}`);
    }
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];

  register<M extends Metric>(m: M): M {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} twice`);
    this.metrics.push(m);
    return m;
  }

  counter(name: string, help: string): Counter {
    return this.register(new Counter(name, help));
  }

  histogram(name: string, help: string, buckets?: readonly number[]): Histogram {
    return this.register(new Histogram(name, help, buckets));
  }

  collected(
    name: string,
    help: string,
    type: 'counter' | 'gauge',
    collect: () => number | ReadonlyArray<[Labels, number]> | undefined,
  ): void {
    this.register(new Collected(name, help, type, collect));
  }

  collectedHistogram(name: string, help: string, collect: () => HistogramData | undefined): void {
    this.register(new CollectedHistogram(name, help, collect));
  }

  /** The text exposition format. */
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics) m.render(out);
    return `${out.join('\n')}\n`;
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
