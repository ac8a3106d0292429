// Config: what a RawNode needs to start, each field with what it costs and when to change it.
import { ErrInvalidConfig } from './errors.js';
import { type Logger, silentLogger } from './logger.js';
import type { Index, NodeId } from './raftpb.js';
import { ReadOnlyOption } from './read-only.js';
import type { Storage } from './storage.js';

/** Pseudo-target of MsgStorageAppend (async storage writes); never goes on the wire. */
export const LocalAppendThread: NodeId = Number.MAX_SAFE_INTEGER;
/** Pseudo-target of MsgStorageApply (async storage writes); never goes on the wire. */
export const LocalApplyThread: NodeId = Number.MAX_SAFE_INTEGER - 1;

export function isLocalMsgTarget(id: NodeId): boolean {
  return id === LocalAppendThread || id === LocalApplyThread;
}

export interface Config {
  /** This node's id; not 0, not a local pseudo-target. */
  id: NodeId;
  /**
   * Ticks without hearing from a leader before a follower campaigns (randomized in
   * [electionTick, 2*electionTick)). Must exceed heartbeatTick; 10x is customary.
   */
  electionTick: number;
  /** Ticks between leader heartbeats. */
  heartbeatTick: number;
  /** The log store RawNode reads; the application writes it from each Ready. */
  storage: Storage;
  /**
   * The last applied index, when restarting: committed entries up to it are not handed out
   * again. Only set it when restarting with state already applied.
   */
  applied?: Index;
  /**
   * Use messages to local pseudo-targets (MsgStorageAppend / MsgStorageApply) instead of the
   * synchronous Ready/advance contract, so several writes and applies may be in flight.
   */
  asyncStorageWrites?: boolean;
  /**
   * The most payload bytes per MsgApp (0: one entry per message). Larger messages mean fewer
   * round trips during catch-up and larger bursts on the wire. Default 1 MiB.
   */
  maxSizePerMsg?: number;
  /** The most bytes of committed entries per Ready. Default: maxSizePerMsg. */
  maxCommittedSizePerReady?: number;
  /**
   * The most payload bytes of uncommitted entries a leader holds; proposals beyond it are
   * dropped with ErrProposalDropped. Protects memory when followers are slow. Default: no limit.
   */
  maxUncommittedEntriesSize?: number;
  /**
   * The most MsgApps in flight to one follower in StateReplicate. Trades memory and burst
   * size for throughput on long pipes. Default 256.
   */
  maxInflightMsgs?: number;
  /** The most payload bytes in flight to one follower. Default: no limit (0). */
  maxInflightBytes?: number;
  /**
   * A leader steps down if it has not heard from a quorum within an election timeout. Needed
   * for lease-based reads; keeps a partitioned leader from believing it still leads.
   */
  checkQuorum?: boolean;
  /**
   * Run a pre-election round that asks peers whether they would vote, before raising the
   * term: a partitioned node rejoining cannot disrupt a healthy leader.
   */
  preVote?: boolean;
  /** How ReadIndex confirms leadership (Safe by default; LeaseBased requires checkQuorum). */
  readOnlyOption?: ReadOnlyOption;
  /** A pino-compatible logger; silent by default. */
  logger?: Logger;
  /** Followers drop proposals instead of forwarding them to the leader. */
  disableProposalForwarding?: boolean;
  /** Skip the leader's checks of proposed conf changes (one at a time, joint rules). */
  disableConfChangeValidation?: boolean;
  /** A leader removed from (or demoted in) the configuration steps down. Default true. */
  stepDownOnRemoval?: boolean;
  /** Draws randomized election timeouts; inject a seeded one to replay a simulation. */
  random?: () => number;
}

/** A Config with every default filled in, as the raft state machine uses it. */
export type ResolvedConfig = Required<Omit<Config, 'applied'>> & { applied: Index };

/** Checks a Config and fills in defaults; throws ErrInvalidConfig naming the bad field. */
export function validateConfig(c: Config): ResolvedConfig {
  const bad = (msg: string): never => {
    throw new ErrInvalidConfig(msg);
  };
  if (!Number.isSafeInteger(c.id) || c.id <= 0)
    bad(`id must be a positive safe integer, got ${c.id}`);
  if (isLocalMsgTarget(c.id)) bad('id must not be a local pseudo-target');
  if (!Number.isInteger(c.heartbeatTick) || c.heartbeatTick <= 0) {
    bad('heartbeatTick must be greater than 0');
  }
  if (!Number.isInteger(c.electionTick) || c.electionTick <= c.heartbeatTick) {
    bad('electionTick must be greater than heartbeatTick');
  }
  if (c.storage == null) bad('storage cannot be nil');
  const maxSizePerMsg = c.maxSizePerMsg ?? 1 << 20;
  if (!(maxSizePerMsg >= 0)) bad('maxSizePerMsg must be a non-negative number');
  // Byte limits: NaN or a negative value (say -1 meant as "no limit") would stall or unbound.
  const limits = {
    maxCommittedSizePerReady: c.maxCommittedSizePerReady,
    maxUncommittedEntriesSize: c.maxUncommittedEntriesSize,
    maxInflightBytes: c.maxInflightBytes,
  };
  for (const [k, v] of Object.entries(limits)) {
    if (v !== undefined && !(v >= 0)) bad(`${k} must be a non-negative number`);
  }
  const maxInflightMsgs = c.maxInflightMsgs ?? 256;
  if (!Number.isInteger(maxInflightMsgs) || maxInflightMsgs <= 0) {
    bad('maxInflightMsgs must be greater than 0');
  }
  const maxInflightBytes = c.maxInflightBytes ?? 0;
  if (maxInflightBytes !== 0 && maxInflightBytes < maxSizePerMsg) {
    bad('maxInflightBytes must be >= maxSizePerMsg');
  }
  const readOnlyOption = c.readOnlyOption ?? ReadOnlyOption.Safe;
  const checkQuorum = c.checkQuorum ?? false;
  if (readOnlyOption === ReadOnlyOption.LeaseBased && !checkQuorum) {
    bad('checkQuorum must be enabled when readOnlyOption is LeaseBased');
  }
  const applied = c.applied ?? 0;
  if (!Number.isSafeInteger(applied) || applied < 0) bad('applied must be a non-negative integer');
  return {
    id: c.id,
    electionTick: c.electionTick,
    heartbeatTick: c.heartbeatTick,
    storage: c.storage,
    applied,
    asyncStorageWrites: c.asyncStorageWrites ?? false,
    maxSizePerMsg,
    maxCommittedSizePerReady:
      c.maxCommittedSizePerReady || maxSizePerMsg || Number.POSITIVE_INFINITY,
    maxUncommittedEntriesSize: c.maxUncommittedEntriesSize || Number.POSITIVE_INFINITY,
    maxInflightMsgs,
    maxInflightBytes: maxInflightBytes === 0 ? Number.POSITIVE_INFINITY : maxInflightBytes,
    checkQuorum,
    preVote: c.preVote ?? false,
    readOnlyOption,
    logger: c.logger ?? silentLogger,
    disableProposalForwarding: c.disableProposalForwarding ?? false,
    disableConfChangeValidation: c.disableConfChangeValidation ?? false,
    stepDownOnRemoval: c.stepDownOnRemoval ?? true,
    random: c.random ?? Math.random,
  };
}
