// Typed errors with stable `code` strings: callers switch on the class or the code, never
// on the message text.

export class RaftError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The requested index is older than the storage's first index: it was compacted away. */
export class ErrCompacted extends RaftError {
  constructor(message = 'requested index is unavailable due to compaction') {
    super('RAFT_COMPACTED', message);
  }
}

/** The requested index is newer than anything the storage has. */
export class ErrUnavailable extends RaftError {
  constructor(message = 'requested entry at index is unavailable') {
    super('RAFT_UNAVAILABLE', message);
  }
}

/** A snapshot older than the storage's current one was offered. */
export class ErrSnapOutOfDate extends RaftError {
  constructor(message = 'requested index is older than the existing snapshot') {
    super('RAFT_SNAP_OUT_OF_DATE', message);
  }
}

/** The storage is still producing its snapshot; ask again later. */
export class ErrSnapshotTemporarilyUnavailable extends RaftError {
  constructor(message = 'snapshot is temporarily unavailable') {
    super('RAFT_SNAPSHOT_TEMPORARILY_UNAVAILABLE', message);
  }
}

/** The storage is loading the requested entries; raft retries once they are reported loaded. */
export class ErrLogTemporarilyUnavailable extends RaftError {
  constructor(message = 'log entries are temporarily unavailable') {
    super('RAFT_LOG_TEMPORARILY_UNAVAILABLE', message);
  }
}

/** A proposal was refused and never appended (no leader, transfer in progress, size limit…). */
export class ErrProposalDropped extends RaftError {
  constructor(message = 'raft proposal dropped') {
    super('RAFT_PROPOSAL_DROPPED', message);
  }
}

/** A message was stepped that a RawNode must not receive from the outside (e.g. a local one). */
export class ErrStepLocalMsg extends RaftError {
  constructor(message = 'raft: cannot step raft local message') {
    super('RAFT_STEP_LOCAL_MSG', message);
  }
}

/** A response came from a peer the node does not know. */
export class ErrStepPeerNotFound extends RaftError {
  constructor(message = 'raft: cannot step as peer not found') {
    super('RAFT_STEP_PEER_NOT_FOUND', message);
  }
}

/** A Config failed validation; the message says which field and why. */
export class ErrInvalidConfig extends RaftError {
  constructor(message: string) {
    super('RAFT_INVALID_CONFIG', message);
  }
}

/** A configuration change is invalid (would break an invariant); nothing was changed. */
export class ErrInvalidConfChange extends RaftError {
  constructor(message: string) {
    super('RAFT_INVALID_CONF_CHANGE', message);
  }
}

/** The RawNode was used against its contract (bootstrap on non-empty storage, advance without ready…). */
export class ErrUsage extends RaftError {
  constructor(message: string) {
    super('RAFT_USAGE', message);
  }
}

/** Bytes could not be decoded into a raftpb value; nothing was returned. */
export class ErrCodec extends RaftError {
  constructor(message: string) {
    super('RAFT_CODEC', message);
  }
}
