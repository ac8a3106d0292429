// etcd's gRPC errors (api/v3rpc/rpctypes/error.go): clients match the code and the message,
// so both are etcd's, "etcdserver: " prefix included.
import { type ServiceError, status } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { ConsensusError } from '../consensus.js';
import { KvRevisionError } from '../kv/range-read.js';
import { TXN_ERROR_MESSAGES, type TxnErrorCode } from '../kv/txn.js';

export class EtcdError extends Error implements Partial<ServiceError> {
  readonly metadata = new Metadata();
  readonly details: string;
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.details = message;
    this.name = 'EtcdError';
  }
}

const e = (code: status, message: string) => () => new EtcdError(code, `etcdserver: ${message}`);

export const Errors = {
  emptyKey: e(status.INVALID_ARGUMENT, 'key is not provided'),
  keyNotFound: e(status.INVALID_ARGUMENT, 'key not found'),
  valueProvided: e(status.INVALID_ARGUMENT, 'value is provided'),
  leaseProvided: e(status.INVALID_ARGUMENT, 'lease is provided'),
  tooManyOps: e(status.INVALID_ARGUMENT, 'too many operations in txn request'),
  duplicateKey: e(status.INVALID_ARGUMENT, 'duplicate key given in txn request'),
  compacted: e(status.OUT_OF_RANGE, 'mvcc: required revision has been compacted'),
  futureRev: e(status.OUT_OF_RANGE, 'mvcc: required revision is a future revision'),
  leaseNotFound: e(status.NOT_FOUND, 'requested lease not found'),
  leaseExists: e(status.FAILED_PRECONDITION, 'lease already exists'),
  leaseTtlTooLarge: e(status.OUT_OF_RANGE, 'too large lease TTL'),
  noLeader: e(status.UNAVAILABLE, 'no leader'),
  stopped: e(status.UNAVAILABLE, 'server stopped'),
  timeout: e(status.UNAVAILABLE, 'request timed out'),
  badEnum: (field: string, v: unknown) =>
    new EtcdError(status.INVALID_ARGUMENT, `raft-kv: ${field} ${String(v)} is not one of etcd's`),
};

export function txnError(code: TxnErrorCode): EtcdError {
  const f = Errors[code];
  return f === undefined ? new EtcdError(status.UNKNOWN, TXN_ERROR_MESSAGES[code]) : f();
}

/** Any error of a request as the gRPC status etcd would answer with. */
export function toEtcdError(err: unknown): EtcdError {
  if (err instanceof EtcdError) return err;
  if (err instanceof KvRevisionError) return txnError(err.reason);
  if (err instanceof ConsensusError) {
    switch (err.kind) {
      case 'dropped':
        return Errors.noLeader();
      case 'stopped':
        return Errors.stopped();
      case 'rejected':
        return new EtcdError(status.FAILED_PRECONDITION, `etcdserver: ${err.message}`);
      default:
        return Errors.timeout();
    }
  }
  return new EtcdError(status.UNKNOWN, (err as Error)?.message ?? String(err));
}
