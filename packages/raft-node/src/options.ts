// RaftNode options, their defaults and validation. Raft's own knobs keep raft-core's names and
// meanings (see raft-core's Config); the defaults here are the driver's, as DESIGN.md fixes them.
import type { NodeId, ReadOnlyOption } from '@tsraft/raft-core';
import type { LevelStorageOptions } from '@tsraft/raft-storage-level';
import type { TcpTransportOptions, TlsOptions } from '@tsraft/raft-transport-tcp';
import type { Logger } from 'pino';
import { ErrInvalidOptions } from './errors.js';
import type { StorageFactory, TransportFactory } from './seams.js';
import { type AnyStateMachine, stateMachineProblem } from './state-machine.js';

/** Transport options RaftNode passes through (the rest it sets itself). */
export type TransportTuning = Omit<
  TcpTransportOptions,
  | 'id'
  | 'clusterId'
  | 'listen'
  | 'peers'
  | 'tls'
  | 'onMessage'
  | 'onUnreachable'
  | 'onSnapshotStatus'
  | 'onRemoved'
  | 'snapshots'
  | 'logger'
>;

export interface RaftNodeOptions<R = unknown> {
  /** This node's id: a positive safe integer, unique in the cluster, never reused. */
  id: NodeId;
  /**
   * The initial cluster, every member's raft address by id, this node included. Used once, to
   * bootstrap an empty data directory (or, with `join`, as the first addresses to talk to);
   * afterwards membership and addresses come from the log.
   */
  peers?: Record<NodeId, string> | Iterable<readonly [NodeId, string]>;
  /** Where the log, hard state and snapshots live (LevelDB in dataDir/db, files in dataDir/snap). */
  dataDir: string;
  /** The raft address to listen on, "host:port". */
  listen: string;
  /** In memory (StateMachine) or on disk (OnDiskStateMachine): see README, "State machines". */
  stateMachine: AnyStateMachine<R>;
  /** Nodes of different cluster ids refuse each other's connections. Default "tsraft". */
  clusterId?: string;
  /**
   * Join a running cluster instead of bootstrapping a new one: start with an empty log and
   * wait for the leader to contact us (after a member ran addNode/addLearner for our id).
   * Ignored when the data directory already holds a log.
   */
  join?: boolean;

  /** Milliseconds per raft tick. Default 100. */
  tickMs?: number;
  /** Ticks without a leader before a follower campaigns. Default 10. */
  electionTick?: number;
  /** Ticks between leader heartbeats. Default 1. */
  heartbeatTick?: number;
  /** Bytes of entries per append message. Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Append messages in flight per follower. Default 256. */
  maxInflightMsgs?: number;
  /** Bytes of appends in flight per follower (0: no limit). Default 8 MiB. */
  maxInflightBytes?: number;
  /** Bytes of uncommitted entries the leader accepts before dropping proposals (0: no limit). */
  maxUncommittedEntriesSize?: number;
  /** Bytes of committed entries handed out per apply batch. Default maxSizePerMsg. */
  maxCommittedSizePerReady?: number;
  /** Default true. */
  preVote?: boolean;
  /** Default true. */
  checkQuorum?: boolean;
  /** How read() confirms leadership. Default Safe (a heartbeat round). */
  readOnlyOption?: ReadOnlyOption;
  /** Followers drop proposals instead of forwarding them. Default false. */
  disableProposalForwarding?: boolean;
  /** Draws randomized election timeouts (inject a seeded one in simulations). */
  random?: () => number;

  /** Take a snapshot after this many applied entries. Default 10 000. */
  snapshotInterval?: number;
  /** Entries kept behind a snapshot, so slow followers catch up without one. Default 5 000. */
  snapshotCatchUpEntries?: number;

  /** A pino logger; the node logs under it with {node: id}. Default pino at "info". */
  logger?: Logger;
  /** Mutual TLS between members. */
  tls?: TlsOptions;
  /**
   * Further TcpTransport options (queue sizes, backoff, breaker, ...), or a factory of your own
   * transport (e.g. MemoryNetwork's `transport` for tests).
   */
  transport?: TransportTuning | TransportFactory;
  /**
   * Further LevelStorage options (default entryCacheBytes here: 4 MiB), or a factory of your
   * own storage for raft's log and hard state.
   */
  storage?: LevelStorageOptions | StorageFactory;
}

export interface ResolvedOptions {
  tickMs: number;
  electionTick: number;
  heartbeatTick: number;
  snapshotInterval: number;
  snapshotCatchUpEntries: number;
  clusterId: string;
  peers: Map<NodeId, string>;
}

function bad(msg: string): never {
  throw new ErrInvalidOptions(msg);
}

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v <= 0) bad(`${name} must be a positive integer, got ${v}`);
  return v;
}

export function resolveOptions(o: RaftNodeOptions<unknown>): ResolvedOptions {
  if (!Number.isSafeInteger(o.id) || o.id <= 0) bad(`id must be a positive safe integer`);
  if (typeof o.dataDir !== 'string' || o.dataDir === '') bad('dataDir is required');
  if (typeof o.listen !== 'string' || o.listen === '') bad('listen is required');
  const problem = stateMachineProblem(o.stateMachine);
  if (problem !== null) bad(problem);
  const peers = new Map<NodeId, string>();
  if (o.peers !== undefined) {
    const list =
      Symbol.iterator in o.peers
        ? [...(o.peers as Iterable<readonly [NodeId, string]>)]
        : Object.entries(o.peers).map(([k, v]) => [Number(k), v] as const);
    for (const [id, addr] of list) {
      if (!Number.isSafeInteger(id) || id <= 0) bad(`peer id ${id} is not a positive integer`);
      if (typeof addr !== 'string' || addr === '') bad(`peer ${id} has no address`);
      peers.set(id, addr);
    }
  }
  if (!peers.has(o.id) && !o.join) peers.set(o.id, o.listen);
  const snapshotInterval = positiveInt('snapshotInterval', o.snapshotInterval, 10_000);
  const catchUp = o.snapshotCatchUpEntries ?? 5_000;
  if (!Number.isSafeInteger(catchUp) || catchUp < 0) {
    bad('snapshotCatchUpEntries must be a non-negative integer');
  }
  return {
    tickMs: positiveInt('tickMs', o.tickMs, 100),
    electionTick: positiveInt('electionTick', o.electionTick, 10),
    heartbeatTick: positiveInt('heartbeatTick', o.heartbeatTick, 1),
    snapshotInterval,
    snapshotCatchUpEntries: catchUp,
    clusterId: o.clusterId ?? 'tsraft',
    peers,
  };
}
