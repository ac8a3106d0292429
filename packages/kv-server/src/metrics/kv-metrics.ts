// The server's own metrics (HTTP requests, proposals, reads) and the gauges read from
// the store at scrape time. Raft-level figures (elections, fsync, transport bytes) are added
// by the raft adapter from raft-node's statistics.
import type { KvStateMachine } from '../kv/state-machine.js';
import { type Counter, type Histogram, Registry } from './registry.js';

export class KvMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter;
  readonly httpDuration: Histogram;
  readonly proposals: Counter;
  readonly proposalDuration: Histogram;
  readonly reads: Counter;
  readonly readIndexDuration: Histogram;

  constructor() {
    const r = this.registry;
    this.httpRequests = r.counter(
      'kv_http_requests_total',
      'HTTP requests served, by route, method and status code.',
    );
    this.httpDuration = r.histogram(
      'kv_http_request_duration_seconds',
      'HTTP request latency in seconds, by route.',
    );
    this.proposals = r.counter(
      'kv_proposals_total',
      'Proposals made by this node, by outcome (applied, dropped, indeterminate, aborted, stopped).',
    );
    this.proposalDuration = r.histogram(
      'kv_proposal_duration_seconds',
      'Time from propose to applied on this node, in seconds.',
    );
    this.reads = r.counter(
      'kv_reads_total',
      'Key reads, by consistency (linearizable, serializable).',
    );
    this.readIndexDuration = r.histogram(
      'kv_read_index_duration_seconds',
      'Time a linearizable read waits for its ReadIndex barrier, in seconds.',
    );
  }

  /** Gauges read from the state machine at scrape time. */
  watchStore(sm: KvStateMachine): void {
    this.registry.collected('kv_keys', 'Keys in the store.', 'gauge', () => sm.size);
    this.registry.collected(
      'kv_revision',
      'The store revision (successful mutations).',
      'gauge',
      () => sm.revision,
    );
  }
}
