// The server's own metrics (HTTP requests, proposals, reads) and the gauges read from
// the store at scrape time, on prom-client. Raft-level figures (elections, fsync, transport
// bytes) are added by the raft adapter from raft-node's statistics (collected.ts).
import { Counter, Histogram, Registry } from 'prom-client';
import type { KvStateMachine } from '../kv/state-machine.js';
import { collected } from './collected.js';
import { watchProcess } from './process-metrics.js';

/** Latency buckets in seconds: 100 µs to 10 s. */
export const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** Seconds since `startNs` (process.hrtime.bigint()). */
export function secondsSince(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}

export class KvMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'route' | 'method' | 'code'>;
  readonly httpDuration: Histogram<'route'>;
  readonly proposals: Counter<'outcome'>;
  readonly proposalDuration: Histogram;
  readonly reads: Counter<'consistency'>;
  readonly readIndexDuration: Histogram;

  constructor() {
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'kv_http_requests_total',
      help: 'HTTP requests served, by route, method and status code.',
      labelNames: ['route', 'method', 'code'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'kv_http_request_duration_seconds',
      help: 'HTTP request latency in seconds, by route.',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.proposals = new Counter({
      name: 'kv_proposals_total',
      help: 'Proposals made by this node, by outcome (applied, dropped, indeterminate, aborted, stopped).',
      labelNames: ['outcome'],
      registers,
    });
    this.proposalDuration = new Histogram({
      name: 'kv_proposal_duration_seconds',
      help: 'Time from propose to applied on this node, in seconds.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.reads = new Counter({
      name: 'kv_reads_total',
      help: 'Key reads, by consistency (linearizable, serializable).',
      labelNames: ['consistency'],
      registers,
    });
    this.readIndexDuration = new Histogram({
      name: 'kv_read_index_duration_seconds',
      help: 'Time a linearizable read waits for its ReadIndex barrier, in seconds.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    watchProcess(this.registry);
  }

  /** Gauges read from the state machine at scrape time. */
  watchStore(sm: KvStateMachine): void {
    collected(this.registry, 'kv_keys', 'Keys in the store.', 'gauge', [], () => sm.size);
    collected(
      this.registry,
      'kv_revision',
      'The store revision (successful mutations).',
      'gauge',
      [],
      () => sm.revision,
    );
  }
}
