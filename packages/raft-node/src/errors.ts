// Typed errors of the driver, with stable `code` strings. Every error a request (propose, a
// membership change, read) rejects with says what became of the request in `outcome`:
// - 'dropped': it was never appended to the log and never will be; retrying is safe.
// - 'indeterminate': it may have been appended and may still be applied (here and on every
//   other member), or not; only an idempotent retry or a read can tell.
// A refusal by raft itself (no leader, leadership transfer in progress, size limit) is
// raft-core's ErrProposalDropped, which is always 'dropped': see `outcomeOf`.
import { ErrProposalDropped, RaftError } from '@tsraft/raft-core';

export type Outcome = 'dropped' | 'indeterminate';

/** Base of the errors RaftNode requests reject with (besides raft-core's ErrProposalDropped). */
export class NodeRequestError extends RaftError {
  readonly outcome: Outcome;
  constructor(code: string, message: string, outcome: Outcome) {
    super(code, message);
    this.outcome = outcome;
  }
}

/**
 * The entry was appended, but leadership changed (or the entry was overwritten by a new
 * leader) before it was known to be committed: it may or may not be applied.
 */
export class ErrProposalIndeterminate extends NodeRequestError {
  constructor(message = 'proposal outcome unknown: leadership changed before it committed') {
    super('RAFT_NODE_INDETERMINATE', message, 'indeterminate');
  }
}

/** The node stopped (or was never started) before the request completed. */
export class ErrStopped extends NodeRequestError {
  constructor(
    outcome: Outcome = 'dropped',
    message = 'raft node is stopped',
    code = 'RAFT_NODE_STOPPED',
  ) {
    super(code, message, outcome);
  }
}

/**
 * This node was removed from the cluster (it applied its own removal, or a member refused it
 * as removed) and stopped taking part. An ErrStopped, with its own code.
 */
export class ErrRemoved extends ErrStopped {
  constructor(outcome: Outcome = 'dropped') {
    super(outcome, 'raft node was removed from the cluster', 'RAFT_NODE_REMOVED');
  }
}

/** The caller's AbortSignal fired before the request completed. */
export class ErrAborted extends NodeRequestError {
  constructor(outcome: Outcome, reason?: unknown) {
    super('RAFT_NODE_ABORTED', 'request aborted', outcome);
    if (reason !== undefined) this.cause = reason;
  }
}

/** A leadership transfer did not complete within the election timeout. */
export class ErrTransferFailed extends NodeRequestError {
  constructor(message: string) {
    super('RAFT_NODE_TRANSFER_FAILED', message, 'dropped');
  }
}

/**
 * The node hit an unrecoverable error (a failed storage write, a throwing state machine) and
 * stopped; `cause` holds the original error. Restart it from its data directory.
 */
export class ErrNodeFailed extends NodeRequestError {
  constructor(cause: unknown) {
    super(
      'RAFT_NODE_FAILED',
      `raft node failed: ${(cause as Error)?.message ?? cause}`,
      'indeterminate',
    );
    this.cause = cause;
  }
}

/** RaftNode options are invalid; the message names the field. */
export class ErrInvalidOptions extends RaftError {
  constructor(message: string) {
    super('RAFT_NODE_INVALID_OPTIONS', message);
  }
}

/** A membership request that makes no sense for the current configuration. */
export class ErrBadMembership extends NodeRequestError {
  constructor(message: string) {
    super('RAFT_NODE_BAD_MEMBERSHIP', message, 'dropped');
  }
}

/**
 * What became of a failed request: 'dropped' (never applied, safe to retry) or
 * 'indeterminate'. Errors that are not request errors count as 'indeterminate'.
 */
export function outcomeOf(err: unknown): Outcome {
  if (err instanceof NodeRequestError) return err.outcome;
  if (err instanceof ErrProposalDropped) return 'dropped';
  return 'indeterminate';
}
