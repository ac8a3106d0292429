// Metrics read at scrape time from another component's statistics (raft-node's counters,
// status and cumulative histograms), on prom-client: counters and gauges refill themselves in
// their collect() hook; a histogram whose buckets another component already keeps is a small
// metric object of its own, since prom-client's Histogram only counts observations it sees.
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';

export type Labels = Record<string, string | number>;

/** What a scrape-time metric reads: a value, labelled values, or undefined (none now). */
export type Reading = number | ReadonlyArray<readonly [Labels, number]> | undefined;

/** A counter or gauge whose value is read at scrape time (labelled by what `read` returns). */
export function collected(
  registry: Registry,
  name: string,
  help: string,
  type: 'counter' | 'gauge',
  labelNames: readonly string[],
  read: () => Reading,
): void {
  const fill = (set: (labels: Labels, v: number) => void): void => {
    const v = read();
    if (v === undefined) return;
    if (typeof v === 'number') set({}, v);
    else for (const [labels, x] of v) set(labels, x);
  };
  if (type === 'counter') {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Counter) {
        // The source keeps the total: the counter is set to it, not incremented by it.
        this.reset();
        fill((labels, v) => this.inc(labels, v));
      },
    });
  } else {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Gauge) {
        this.reset();
        fill((labels, v) => this.set(labels, v));
      },
    });
  }
}

/** Cumulative buckets as another component keeps them: observations <= le. */
export interface HistogramData {
  buckets: ReadonlyArray<{ le: number; count: number }>;
  sum: number;
  count: number;
}

/**
 * A histogram read at scrape time from cumulative buckets. prom-client's registry renders
 * any registered metric from what its get() returns; this one builds that from `read`.
 */
class CollectedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => HistogramData | undefined,
  ) {}

  async get() {
    const h = this.read();
    const values: { value: number; labels: Labels; metricName: string }[] = [];
    if (h !== undefined) {
      for (const b of h.buckets) {
        values.push({ value: b.count, labels: { le: b.le }, metricName: `${this.name}_bucket` });
      }
      values.push({ value: h.count, labels: { le: '+Inf' }, metricName: `${this.name}_bucket` });
      values.push({ value: h.sum, labels: {}, metricName: `${this.name}_sum` });
      values.push({ value: h.count, labels: {}, metricName: `${this.name}_count` });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    };
  }

  reset(): void {}
}

export function collectedHistogram(
  registry: Registry,
  name: string,
  help: string,
  read: () => HistogramData | undefined,
): void {
  // prom-client types registerMetric() with its own classes; its registry needs only get().
  registry.registerMetric(new CollectedHistogram(name, help, read) as unknown as Metric);
}
