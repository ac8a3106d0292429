// Typed errors with stable codes. A closed connection always carries one of these codes, in
// the log line and in the per-peer stats (`lastError`), so operators and tests switch on the
// code, never on the message text.
import { RaftError } from '@tsraft/raft-core';

export const TransportErrorCode = {
  /** Options failed validation (bad id, address, limits). */
  InvalidConfig: 'TRANSPORT_INVALID_CONFIG',
  /** The first bytes were not a tsraft handshake (garbage, HTTP, TLS to a plain port…). */
  BadMagic: 'TRANSPORT_BAD_MAGIC',
  /** A handshake record was malformed (bad kind, unsafe node id, bad cluster id…). */
  BadHandshake: 'TRANSPORT_BAD_HANDSHAKE',
  /** The two sides speak different protocol versions. */
  VersionMismatch: 'TRANSPORT_VERSION_MISMATCH',
  /** The two sides belong to different clusters. */
  ClusterMismatch: 'TRANSPORT_CLUSTER_MISMATCH',
  /** The remote node id is not one of our peers (or is our own id). */
  UnknownNode: 'TRANSPORT_UNKNOWN_NODE',
  /** The node answering at a peer's address is not the node we meant to reach. */
  WrongNode: 'TRANSPORT_WRONG_NODE',
  /** Both sides dialed at once; this connection lost to the one dialed by the lower id. */
  Duplicate: 'TRANSPORT_DUPLICATE',
  /** A newer connection from the same peer replaced this one. */
  Superseded: 'TRANSPORT_SUPERSEDED',
  /** The handshake (TLS included) did not finish within handshakeTimeout. */
  HandshakeTimeout: 'TRANSPORT_HANDSHAKE_TIMEOUT',
  /** A frame announced a length above maxFrameSize (or zero). */
  FrameTooLarge: 'TRANSPORT_FRAME_TOO_LARGE',
  /** A frame of unknown kind, or a snapshot stream out of order. */
  BadFrame: 'TRANSPORT_BAD_FRAME',
  /** A message frame did not decode as raftpb.Message. */
  Codec: 'TRANSPORT_CODEC',
  /** A message decoded but must not come from this connection (wrong from/to, local type). */
  BadMessage: 'TRANSPORT_BAD_MESSAGE',
  /** The connection ended in the middle of a frame. */
  Truncated: 'TRANSPORT_TRUNCATED',
  /** An incoming snapshot announced more than maxSnapshotSize bytes. */
  SnapshotTooLarge: 'TRANSPORT_SNAPSHOT_TOO_LARGE',
  /** The socket failed or was closed by the other side. */
  Socket: 'TRANSPORT_SOCKET',
  /** The TLS handshake failed (no or untrusted certificate, plain TCP to a TLS port…). */
  Tls: 'TRANSPORT_TLS',
  /** The transport is stopping. */
  Stopped: 'TRANSPORT_STOPPED',
  /** The peer was removed with removePeer(). */
  PeerRemoved: 'TRANSPORT_PEER_REMOVED',
  /**
   * The remote node id was removed from the cluster (markRemoved()): unlike UNKNOWN_NODE, which
   * may be a member we have not heard of yet, this is final. A dialer refused with it learns
   * that it is no longer a member (onRemoved).
   */
  Removed: 'TRANSPORT_REMOVED',
  /**
   * With TlsOptions.nodeName: the certificate the remote node presented does not name
   * nodeName(id) for the node id it claims (or for the peer we dialed).
   */
  IdentityMismatch: 'TRANSPORT_IDENTITY_MISMATCH',
} as const;

export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

export class TransportError extends RaftError {
  declare readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/**
 * Reason codes carried by a handshake REJECT record (one byte on the wire). New reasons need
 * no new protocol version: a node that does not know one reads it as BAD_HANDSHAKE.
 */
export const RejectReason = {
  VersionMismatch: 1,
  ClusterMismatch: 2,
  UnknownNode: 3,
  WrongNode: 4,
  Duplicate: 5,
  Stopping: 6,
  BadHandshake: 7,
  Removed: 8,
  IdentityMismatch: 9,
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

const REJECT_CODES: Record<number, TransportErrorCode> = {
  [RejectReason.VersionMismatch]: TransportErrorCode.VersionMismatch,
  [RejectReason.ClusterMismatch]: TransportErrorCode.ClusterMismatch,
  [RejectReason.UnknownNode]: TransportErrorCode.UnknownNode,
  [RejectReason.WrongNode]: TransportErrorCode.WrongNode,
  [RejectReason.Duplicate]: TransportErrorCode.Duplicate,
  [RejectReason.Stopping]: TransportErrorCode.Stopped,
  [RejectReason.BadHandshake]: TransportErrorCode.BadHandshake,
  [RejectReason.Removed]: TransportErrorCode.Removed,
  [RejectReason.IdentityMismatch]: TransportErrorCode.IdentityMismatch,
};

export function rejectReasonCode(reason: number): TransportErrorCode {
  return REJECT_CODES[reason] ?? TransportErrorCode.BadHandshake;
}

export function codeRejectReason(code: TransportErrorCode): RejectReason {
  for (const [reason, c] of Object.entries(REJECT_CODES)) {
    if (c === code) return Number(reason) as RejectReason;
  }
  return RejectReason.BadHandshake;
}
