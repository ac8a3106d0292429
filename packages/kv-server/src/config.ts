// What one kv-server node is configured with. The server layer owns this shape; the CLI
// (cli/args.ts) is one way to fill it from argv, embedders and tests build it themselves.
import type { AutoCompactionConfig } from './auto-compaction.js';
import type { RaftNodeOptions } from '@tsraft/raft-node';

export interface ClusterMember {
  id: number;
  peerUrl: string;
  clientUrl?: string;
}

/** HTTPS on the client port (PEM contents, not paths). */
export interface ClientTls {
  /** This node's certificate (PEM): served on the client port, presented by --join. */
  cert: Buffer;
  key: Buffer;
  /** The CA of client certificates, and of the member a join dials. */
  ca?: Buffer;
  /** Refuse clients without a certificate from `ca` (needs `ca`). */
  clientCertAuth: boolean;
}

/** raft-transport-tcp's TlsOptions, as RaftNode takes them: mutual TLS between members. */
export type PeerTls = NonNullable<RaftNodeOptions<unknown>['tls']>;

/**
 * How a node that does not lead handles a write:
 * - 'forward' (default): proposes it locally; raft forwards the proposal to the leader and the
 *   response is sent once the entry is applied on this node (read-your-writes on this node).
 * - 'redirect': answers 307 with `Location` set to the leader's client URL (from the member
 *   records), so the client re-sends the request to the leader (`curl -L` does).
 */
export type FollowerWrites = 'forward' | 'redirect';

export interface ServerConfig {
  id: number;
  clientListen: string;
  peerListen: string;
  advertiseClient: string;
  advertisePeer: string;
  dataDir: string;
  /** The initial cluster (this node included); just this node when none was given. */
  cluster: ClusterMember[];
  /** A member's client URL to join through (an empty data dir asks it to add this node). */
  join?: string;
  learner: boolean;
  clusterId: string;
  snapshotInterval?: number;
  snapshotCatchUpEntries?: number;
  tickMs?: number;
  electionTick?: number;
  requestTimeoutMs: number;
  followerWrites: FollowerWrites;
  /** etcd's auto-compaction: the leader compacts the history on a schedule; off when absent. */
  autoCompaction?: AutoCompactionConfig;
  /** etcd's --experimental-watch-progress-notify-interval in ms; default 10 minutes. */
  watchProgressNotifyMs?: number;
  /** Mutual TLS between members; plain TCP when absent. */
  peerTls?: PeerTls;
  /** HTTPS on the client port; plain HTTP when absent. */
  clientTls?: ClientTls;
}
