export {
  RaftNode,
  type LeaderState,
  type Lifecycle,
  type NodeStatus,
  type RaftNodeEvents,
  type RequestOptions,
  type Role,
} from './raft-node.js';
export type { RaftNodeOptions, TransportTuning } from './options.js';
export {
  RaftHost,
  RaftGroup,
  type GroupOptions,
  type HostMetrics,
  type RaftHostOptions,
} from './host.js';
export {
  type AppliedEntry,
  type AnyStateMachine,
  type OnDiskStateMachine,
  type PreparedRestore,
  type SnapshotSource,
  type StateMachine,
  isOnDisk,
  readAll,
  snapshotOf,
} from './state-machine.js';
export type {
  NodeStorage,
  NodeTransport,
  StorageFactory,
  TransportFactory,
  TransportHooks,
} from './seams.js';
export { sharedDeadline } from './abort-listeners.js';
export { MemoryNetwork } from './memory-transport.js';
export { ErrSnapshotFile } from './snapshot-files.js';
export { ErrSnapshotNotInstalled } from './snapshot-receive.js';
export type { CommittedEntry } from './committed.js';
export type { Member, MemberRole } from './membership.js';
export type { NodeMetrics, HistogramSnapshot } from './metrics.js';
export { LATENCY_BUCKETS } from './metrics.js';
export {
  ErrAborted,
  ErrBadMembership,
  ErrInvalidOptions,
  ErrNodeFailed,
  ErrProposalIndeterminate,
  ErrRemoved,
  ErrStopped,
  ErrTransferFailed,
  NodeRequestError,
  type Outcome,
  outcomeOf,
} from './errors.js';
// Re-exported so that users of the driver need not depend on raft-core for these.
export { ErrProposalDropped, ReadOnlyOption } from '@tsraft/raft-core';
