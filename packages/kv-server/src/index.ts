export { KvServer } from './server.js';
export {
  KvStateMachine,
  type KvStateMachineOptions,
  type ApplyResult,
  type AppliedEntry,
  type GetResult,
  type RangeResult,
} from './kv/state-machine.js';
export type { KeyValue, CommandResult } from './kv/apply-batch.js';
export type { MemberRecord } from './kv/records.js';
export {
  KvStoreError,
  KvSnapshotError,
  KvCorruptionError,
  KvStoreStateError,
  KvApplyOrderError,
} from './kv/errors.js';
export { type Command, encodeCommand, decodeCommand, COMMAND_FORMAT } from './kv/command.js';
export { SNAPSHOT_FORMAT } from './kv/snapshot-stream.js';
export { KvCodecError } from './kv/bytes.js';
export {
  KvClient,
  KvHttpError,
  type KvClientOptions,
  type KvClientTls,
  type Consistency,
  type MemberView,
  type NodeStatusView,
} from './client.js';
export type {
  ServerConfig,
  ClientTls,
  PeerTls,
  ClusterMember,
  FollowerWrites,
} from './config.js';
export { type CliConfig, parseCli, USAGE } from './cli/args.js';
export { ConfigError, parseClusterSpec } from './cli/cluster-spec.js';
export type { Consensus, ConsensusStatus, ConsensusMember } from './consensus.js';
export { ConsensusError } from './consensus.js';
export { ErrorCode } from './http/errors.js';
