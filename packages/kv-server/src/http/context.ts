// What every route handler gets: the consensus seam, the state machine, limits, metrics and
// the per-request deadline.
import type { Logger } from 'pino';
import type { FollowerWrites } from '../config.js';
import type { Consensus } from '../consensus.js';
import type { KvStateMachine } from '../kv/state-machine.js';
import type { KvMetrics } from '../metrics/kv-metrics.js';
import type { Limits } from './validate.js';

export interface ApiOptions {
  limits: Limits;
  /** Deadline of one request (propose, read barrier, membership change). */
  requestTimeoutMs: number;
  followerWrites: FollowerWrites;
}

export interface ApiContext {
  consensus: Consensus;
  sm: KvStateMachine;
  metrics: KvMetrics;
  logger: Logger;
  options: ApiOptions;
}
