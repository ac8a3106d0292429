// TcpTransport options, their defaults and validation.
import type { Logger, Message, NodeId } from '@tsraft/raft-core';
import type { BackoffOptions } from './backoff.js';
import type { CircuitBreakerOptions } from './breaker.js';
import { TransportError, TransportErrorCode } from './errors.js';
import { MAX_CLUSTER_ID_BYTES } from './handshake.js';
import type { SnapshotStatus, SnapshotStreams } from './snapshot.js';

/** PEM strings or buffers, as node:tls takes them. */
export type Pem = string | Buffer | (string | Buffer)[];

export interface TlsOptions {
  /** This node's private key. */
  key: Pem;
  /** This node's certificate (chain), issued by a CA the peers trust. */
  cert: Pem;
  /** The CA(s) peer certificates must chain to; nothing else is trusted. */
  ca: Pem;
  passphrase?: string;
  /**
   * Server-name check when dialing. Default: node:tls's check (the peer's certificate must name
   * the host in the peer address, as a DNS or IP SAN). Pass `false` to trust any certificate
   * from the CA (node identity is still checked by the handshake).
   */
  checkServerIdentity?:
    | false
    | ((host: string, cert: import('node:tls').PeerCertificate) => Error | undefined);
  /**
   * Binds node ids to certificates (off by default: any certificate from `ca` may claim any
   * id). When set, a peer's certificate must carry `nodeName(id)` for the id it speaks for —
   * as its subject CN (exact) or a DNS SAN (ignoring case, no wildcards) — or the connection
   * is refused with IDENTITY_MISMATCH: the acceptor checks the dialer's certificate against
   * the id in its HELLO, the dialer checks the acceptor's against the id it dialed, before it
   * says HELLO. With one certificate per node whose CN is "tsraft node <id>", pass
   * (id) => `tsraft node ${id}`. Set it on every node: a node without it checks nothing.
   */
  nodeName?: (id: NodeId) => string;
}

export interface TcpTransportOptions {
  /** This node's id (a positive safe integer). */
  id: NodeId;
  /** Connections between different cluster ids are refused. At most 255 UTF-8 bytes. */
  clusterId: string;
  /** Where to listen, "host:port" ("[::1]:port" for IPv6). Port 0 picks a free port. */
  listen: string;
  /** The peers, id -> "host:port". More can be added with addPeer(). */
  peers?: Record<NodeId, string> | Iterable<readonly [NodeId, string]>;
  /** Mutual TLS. Without it, a node id is claimed by the handshake, not proven. */
  tls?: TlsOptions;
  /**
   * Accept connections from node ids that are not peers, adding each as a peer without an
   * address: it is never dialed (the connection it opened carries traffic both ways) until
   * addPeer() gives it one. For a node joining a running cluster, which hears from the leader
   * before it knows the members. Default false: unknown nodes are refused (UNKNOWN_NODE).
   */
  acceptUnknownPeers?: boolean;
  /**
   * Every message received from a peer, in order per lane, with the raft group it was sent
   * for (0 unless the sender passed one to send()). Must not throw (it is caught).
   */
  onMessage: (message: Message, group: number) => void;
  /** A peer is unreachable: its breaker opened, or a message to it was dropped. */
  onUnreachable?: (peer: NodeId) => void;
  /** How a MsgSnap send (of raft group `group`) ended: 'finish' once the peer got it all, else 'failure'. */
  onSnapshotStatus?: (peer: NodeId, status: SnapshotStatus, group: number) => void;
  /**
   * A peer refused our connection with REMOVED: it has removed this node from the cluster
   * (see markRemoved). A member that learns this should stop taking part, as etcd's do.
   */
  onRemoved?: (peer: NodeId) => void;
  /**
   * Where snapshot data comes from and goes to. By default it is the MsgSnap's snapshot.data,
   * streamed in chunks and reassembled whole on the receiver. With these hooks the MsgSnap
   * travels as it is and the data is streamed from `open(m)` into `receive(m)` (e.g. from a
   * file to a file), never whole in memory.
   */
  snapshots?: SnapshotStreams;
  logger?: Logger;

  /** Largest frame (kind byte + body), bytes. Larger messages are dropped. Default 16 MiB. */
  maxFrameSize?: number;
  /** Per-peer bound of queued appends and proposals, bytes. Default 8 MiB. */
  maxQueueBytes?: number;
  /** Per-peer bound of queued control messages (heartbeats, votes, responses). Default 1 MiB. */
  maxControlQueueBytes?: number;
  /** Bytes of appends per socket write; bounds how long a heartbeat can wait. Default 256 KiB. */
  maxBatchBytes?: number;
  /**
   * Flow-control window, bytes: appends and snapshot frames sent but not yet consumed by the
   * peer. It bounds what a heartbeat can be queued behind in socket buffers, and also the
   * throughput to one peer (at most sendWindow per round trip): raise it for links with a large
   * bandwidth-delay product. Default 4 MiB.
   */
  sendWindow?: number;
  /** Snapshot data per chunk frame, bytes. Default 256 KiB (less if maxFrameSize is smaller). */
  snapshotChunkSize?: number;
  /** Largest snapshot accepted from a peer, bytes. Default 1 GiB (held in memory without `snapshots`). */
  maxSnapshotSize?: number;
  /** Time to connect, secure and handshake, ms. Default 5000. */
  handshakeTimeout?: number;
  /** TCP keep-alive initial delay, ms (0: off). Default 10000. */
  keepAlive?: number;
  /** Reconnect delays. Defaults: 50 ms doubling to 5 s, ±20 % jitter. */
  backoff?: Omit<BackoffOptions, 'random'>;
  /** Per-peer breaker. Defaults: opens after 5 failed dials, half-opens after 5 s. */
  breaker?: Omit<CircuitBreakerOptions, 'now' | 'onStateChange'>;
  /** Milliseconds clock for breakers. Default Date.now. */
  now?: () => number;
  /** Uniform [0, 1) for backoff jitter. Default Math.random. */
  random?: () => number;
}

export interface Limits {
  maxFrameSize: number;
  maxQueueBytes: number;
  maxControlQueueBytes: number;
  maxBatchBytes: number;
  sendWindow: number;
  snapshotChunkSize: number;
  maxSnapshotSize: number;
  handshakeTimeout: number;
  keepAlive: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxFrameSize: 16 << 20,
  maxQueueBytes: 8 << 20,
  maxControlQueueBytes: 1 << 20,
  maxBatchBytes: 256 << 10,
  sendWindow: 4 << 20,
  snapshotChunkSize: 256 << 10,
  maxSnapshotSize: 1 << 30,
  handshakeTimeout: 5000,
  keepAlive: 10_000,
};

function invalid(msg: string): never {
  throw new TransportError(TransportErrorCode.InvalidConfig, msg);
}

export function isNodeId(id: unknown): id is NodeId {
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0;
}

export function resolveLimits(o: TcpTransportOptions): Limits {
  const l: Limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    const v = o[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 0) invalid(`${key} must be a non-negative integer`);
    l[key] = v;
  }
  if (l.maxFrameSize < 64 || l.maxFrameSize > 0xffffffff) invalid('maxFrameSize out of range');
  // A small maxFrameSize shrinks the default chunk with it (a chunk frame has 5 bytes of header).
  if (o.snapshotChunkSize === undefined) {
    l.snapshotChunkSize = Math.min(l.snapshotChunkSize, l.maxFrameSize - 16);
  }
  if (l.snapshotChunkSize < 1 || l.snapshotChunkSize + 16 > l.maxFrameSize) {
    invalid('snapshotChunkSize must be >= 1 and fit in maxFrameSize');
  }
  if (l.handshakeTimeout < 1) invalid('handshakeTimeout must be >= 1');
  if (l.sendWindow < 1 || l.maxBatchBytes < 1) invalid('sendWindow and maxBatchBytes must be >= 1');
  return l;
}

export function validateIdentity(o: TcpTransportOptions): void {
  if (!isNodeId(o.id)) invalid(`id ${String(o.id)} is not a positive safe integer`);
  if (typeof o.clusterId !== 'string') invalid('clusterId must be a string');
  if (Buffer.byteLength(o.clusterId, 'utf8') > MAX_CLUSTER_ID_BYTES) {
    invalid('clusterId is longer than 255 UTF-8 bytes');
  }
  if (typeof o.onMessage !== 'function') invalid('onMessage is required');
  const nodeName = o.tls?.nodeName;
  if (nodeName !== undefined && typeof nodeName !== 'function') {
    invalid('tls.nodeName must be a function of the node id');
  }
}

/** Splits "host:port" / "[v6]:port". */
export function parseAddress(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\s]*)):(\d{1,5})$/.exec(addr);
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || port > 65535) invalid(`bad address "${addr}": want host:port`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function peerEntries(peers: TcpTransportOptions['peers']): [NodeId, string][] {
  if (peers === undefined) return [];
  const list: [NodeId, string][] =
    Symbol.iterator in peers
      ? [...(peers as Iterable<readonly [NodeId, string]>)].map(([id, a]) => [id, a])
      : Object.entries(peers).map(([id, a]) => [Number(id), a]);
  for (const [id, addr] of list) {
    if (!isNodeId(id)) invalid(`peer id ${String(id)} is not a positive safe integer`);
    parseAddress(addr);
  }
  return list;
}
