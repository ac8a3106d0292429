// raft-core's Config from RaftNode's options: the driver always runs raft in asyncStorageWrites
// mode (see README, "The Ready loop"); the rest passes through or takes DESIGN.md's defaults.
import type { Config, Logger } from '@tsraft/raft-core';
import type { NodeContext } from './context.js';

export function rawConfig(ctx: NodeContext): Config {
  const o = ctx.opts;
  const c: Config = {
    id: ctx.id,
    storage: ctx.storage,
    asyncStorageWrites: true,
    electionTick: ctx.cfg.electionTick,
    heartbeatTick: ctx.cfg.heartbeatTick,
    maxSizePerMsg: o.maxSizePerMsg ?? 1 << 20,
    maxInflightMsgs: o.maxInflightMsgs ?? 256,
    // What the transport queues per peer (8 MiB): more in flight is dropped there anyway, and
    // a follower catching up would have the leader read 256 MiB of its log in one turn.
    maxInflightBytes: o.maxInflightBytes ?? 8 << 20,
    preVote: o.preVote ?? true,
    checkQuorum: o.checkQuorum ?? true,
    logger: raftLogger(ctx),
  };
  // The state machine was restored to the snapshot: entries up to it are not handed out again.
  if (ctx.applied > 0) c.applied = ctx.applied;
  if (o.maxUncommittedEntriesSize !== undefined) {
    c.maxUncommittedEntriesSize = o.maxUncommittedEntriesSize;
  }
  if (o.maxCommittedSizePerReady !== undefined) {
    c.maxCommittedSizePerReady = o.maxCommittedSizePerReady;
  }
  if (o.readOnlyOption !== undefined) c.readOnlyOption = o.readOnlyOption;
  if (o.disableProposalForwarding !== undefined) {
    c.disableProposalForwarding = o.disableProposalForwarding;
  }
  if (o.random !== undefined) c.random = o.random;
  return c;
}

/**
 * raft-core's lines (became follower, a higher term, ...). A RaftHost's groups log them at
 * debug, info and below alike: thousands of groups elect at once, and host liveness says
 * what matters (warn and error lines stay).
 */
function raftLogger(ctx: NodeContext): Logger {
  const l = ctx.logger.child({ component: 'raft' });
  return ctx.group === null ? l : new GroupRaftLogger(l);
}

/** Methods on the prototype, not closures: thousands of groups each have one. */
class GroupRaftLogger implements Logger {
  constructor(private readonly l: Logger) {}
  debug(obj: unknown, msg?: string): void {
    this.l.debug(obj, msg);
  }
  info(obj: unknown, msg?: string): void {
    this.l.debug(obj, msg);
  }
  warn(obj: unknown, msg?: string): void {
    this.l.warn(obj, msg);
  }
  error(obj: unknown, msg?: string): void {
    this.l.error(obj, msg);
  }
}
