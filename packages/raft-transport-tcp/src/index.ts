export { TcpTransport, type TransportStats } from './transport.js';
export type { TcpTransportOptions, TlsOptions, Pem } from './options.js';
export { parseAddress } from './options.js';
export type { PeerStats, ConnectionState } from './peer.js';
export type { Direction } from './connection.js';
export { Backoff, type BackoffOptions } from './backoff.js';
export { CircuitBreaker, type BreakerState, type CircuitBreakerOptions } from './breaker.js';
export { TransportError, TransportErrorCode, RejectReason } from './errors.js';
export type {
  SnapshotSink,
  SnapshotSource,
  SnapshotStatus,
  SnapshotStreams,
} from './snapshot.js';
export { PROTOCOL_VERSION } from './handshake.js';
