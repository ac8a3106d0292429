// Mapping consensus failures to HTTP errors.
import { ConsensusError } from '../consensus.js';
import { ErrorCode, HttpError } from './errors.js';

export function consensusHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ConsensusError) {
    switch (err.kind) {
      case 'dropped':
        return new HttpError(
          503,
          ErrorCode.Unavailable,
          `not applied, safe to retry: ${err.message}`,
          undefined,
          { 'retry-after': '1' },
        );
      case 'indeterminate':
        return new HttpError(
          504,
          ErrorCode.Indeterminate,
          `the write may or may not have been applied: ${err.message}`,
        );
      case 'aborted':
        return new HttpError(504, ErrorCode.Timeout, `deadline exceeded: ${err.message}`);
      case 'stopped':
        return new HttpError(
          503,
          ErrorCode.Unavailable,
          `the node is stopping: ${err.message}`,
          undefined,
          {
            'retry-after': '1',
          },
        );
      case 'rejected':
        return new HttpError(409, ErrorCode.MembershipConflict, err.message);
    }
  }
  return new HttpError(500, ErrorCode.Internal, (err as Error)?.message ?? String(err));
}

/** Metric label of a proposal's outcome. */
export function outcomeOf(err: unknown): string {
  return err instanceof ConsensusError ? err.kind : 'error';
}
