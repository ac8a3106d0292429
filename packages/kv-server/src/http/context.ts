// What every route handler gets: the consensus seam, the state machine, limits, metrics and
// the per-request deadline.
import type { Logger } from 'pino';
import type { Consensus } from '../consensus.js';
import type { KvStateMachine } from '../kv/state-machine.js';
import type { KvMetrics } from '../metrics/kv-metrics.js';
import type { Limits } from './validate.js';

/**
 * How a node that does not lead handles a write:
 * - 'forward' (default): proposes it locally; raft forwards the proposal to the leader and the
 *   response is sent once the entry is applied on this node (read-your-writes on this node).
 * - 'redirect': answers 307 with `Location` set to the leader's client URL (from the member
 *   records), so the client re-sends the request to the leader (`curl -L` does).
 */
export type FollowerWrites = 'forward' | 'redirect';

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
