// RaftHost options and a group's options, their validation, and the RaftNode options a group
// runs with. Raft's knobs are host-wide; a group may override its raft timing in ticks (the
// host has one timer, so tickMs is the host's).
import type { NodeId } from '@tsraft/raft-core';
import type { LevelStoreOptions } from '@tsraft/raft-storage-level';
import type { TlsOptions } from '@tsraft/raft-transport-tcp';
import type { Logger } from 'pino';
import { ErrInvalidOptions } from './errors.js';
import type { RaftNodeOptions, TransportTuning } from './options.js';
import type { TransportFactory } from './seams.js';
import { type AnyStateMachine, stateMachineProblem } from './state-machine.js';

/** RaftNode's raft knobs that a host sets for all its groups. */
type RaftKnobs = Pick<
  RaftNodeOptions,
  | 'tickMs'
  | 'electionTick'
  | 'heartbeatTick'
  | 'maxSizePerMsg'
  | 'maxInflightMsgs'
  | 'maxInflightBytes'
  | 'maxUncommittedEntriesSize'
  | 'maxCommittedSizePerReady'
  | 'preVote'
  | 'checkQuorum'
  | 'readOnlyOption'
  | 'disableProposalForwarding'
  | 'random'
  | 'snapshotInterval'
  | 'snapshotCatchUpEntries'
>;

export interface RaftHostOptions extends RaftKnobs {
  /** This host's id: a positive safe integer, unique among the hosts, never reused. */
  id: NodeId;
  /** The raft address to listen on, "host:port". */
  listen: string;
  /** Where the groups' logs (one LevelDB, dataDir/raft) and state machine files live. */
  dataDir: string;
  /** Every host's raft address by host id (this host's may be included). */
  peers: Record<NodeId, string> | Iterable<readonly [NodeId, string]>;
  /** Hosts of different cluster ids refuse each other's connections. Default "tsraft". */
  clusterId?: string;
  /** A pino logger; groups log under it with {group: id}. Default pino at "info". */
  logger?: Logger;
  /** Mutual TLS between hosts. */
  tls?: TlsOptions;
  /** TcpTransport options, or a factory of your own (MemoryNetwork's `transport` in tests). */
  transport?: TransportTuning | TransportFactory;
  /** LevelStore options, per group (default entryCacheBytes here: 1 MiB per group). */
  storage?: LevelStoreOptions;
  /**
   * Keep this host's share of leaderships near 1/N of its groups by transferring the excess
   * to members on hosts that lead fewer: `true` (default) every 5 election timeouts,
   * `{ intervalTicks }` to choose, `false` off. Transfers drop proposals in flight on the
   * group (ErrProposalDropped), as any transfer does.
   */
  balanceLeaders?: boolean | { intervalTicks: number };
}

/** The raft timing a group may set for itself, in ticks of the host's timer. */
type GroupTiming = Pick<
  RaftNodeOptions,
  'electionTick' | 'heartbeatTick' | 'snapshotInterval' | 'snapshotCatchUpEntries'
>;

export interface GroupOptions<R = unknown> extends GroupTiming {
  /** The group's initial members, as host ids (this host among them unless `join`). */
  members: readonly NodeId[];
  /** This host's replica of the group's state machine. */
  stateMachine: AnyStateMachine<R>;
  /** Join the running group (after a member added this host) instead of bootstrapping it. */
  join?: boolean;
}

export interface ResolvedHostOptions {
  id: NodeId;
  /** Ticks between leader balancing rounds, 0 when off. */
  balanceEvery: number;
  peers: Map<NodeId, string>;
  clusterId: string;
  tickMs: number;
}

function bad(msg: string): never {
  throw new ErrInvalidOptions(msg);
}

export function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

export function resolveHostOptions(o: RaftHostOptions): ResolvedHostOptions {
  if (o === null || typeof o !== 'object') bad('options are required');
  if (!isId(o.id)) bad('id must be a positive safe integer');
  if (typeof o.listen !== 'string' || o.listen === '') bad('listen is required');
  if (typeof o.dataDir !== 'string' || o.dataDir === '') bad('dataDir is required');
  if (o.peers === null || typeof o.peers !== 'object') bad('peers is required');
  const list =
    Symbol.iterator in o.peers
      ? [...(o.peers as Iterable<readonly [NodeId, string]>)]
      : Object.entries(o.peers).map(([k, v]) => [Number(k), v] as const);
  const peers = new Map<NodeId, string>();
  for (const [id, addr] of list) {
    if (!isId(id)) bad(`peer id ${String(id)} is not a positive safe integer`);
    if (typeof addr !== 'string' || addr === '') bad(`peer ${id} has no address`);
    peers.set(id, addr);
  }
  if (!peers.has(o.id)) peers.set(o.id, o.listen);
  const tickMs = o.tickMs ?? 100;
  if (!isId(tickMs)) bad(`tickMs must be a positive integer, got ${tickMs}`);
  const b = o.balanceLeaders ?? true;
  let balanceEvery = 0;
  if (b === true) balanceEvery = 5 * (o.electionTick ?? 10);
  else if (b !== false) {
    if (b === null || typeof b !== 'object' || !isId(b.intervalTicks)) {
      bad('balanceLeaders must be a boolean or { intervalTicks: positive integer }');
    }
    balanceEvery = b.intervalTicks;
  }
  return { id: o.id, balanceEvery, peers, clusterId: o.clusterId ?? 'tsraft', tickMs };
}

/** Checks a group's options against the host; throws ErrInvalidOptions. */
export function checkGroupOptions(gid: number, o: GroupOptions<unknown>, h: ResolvedHostOptions) {
  if (!isId(gid)) bad(`group id must be a positive safe integer, got ${String(gid)}`);
  if (o === null || typeof o !== 'object') bad('group options are required');
  if (!Array.isArray(o.members) || o.members.length === 0) {
    bad(`group ${gid}: members must be a non-empty array of host ids`);
  }
  for (const m of o.members) {
    if (!isId(m)) bad(`group ${gid}: member ${String(m)} is not a positive safe integer`);
    if (!h.peers.has(m)) bad(`group ${gid}: member ${m} is not a known host (see peers)`);
  }
  if (new Set(o.members).size !== o.members.length) bad(`group ${gid}: members repeat`);
  if (o.join !== true && !o.members.includes(h.id)) {
    bad(`group ${gid}: members must include this host (${h.id}) unless it joins`);
  }
  const problem = stateMachineProblem(o.stateMachine);
  if (problem !== null) bad(`group ${gid}: ${problem}`);
}
