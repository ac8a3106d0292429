// Which log lines of raft-node, raft-core and the transport an operator of raft-kv sees at
// INFO. The libraries log what they do; most of it is routine for a server (elections, vote
// tallies, connections) and would bury what deserves attention, so those lines go to DEBUG
// (--log-level debug shows them). Start-up dial failures are expected (the other members may
// not be up yet) and also go to DEBUG, until a grace period has passed.

export const LEVEL_DEBUG = 20;
export const LEVEL_INFO = 30;
export const LEVEL_WARN = 40;

export interface LogPolicyOptions {
  /** Conf change entries at indexes 1..bootstrapEntries bootstrapped the log: routine. */
  bootstrapEntries: number;
  /** For how long after start a peer that was never reached is not worth a warning. */
  startupGraceMs: number;
  now?: () => number;
}

/**
 * Routine transport lines, at any level below WARN. ('listening' stays: one line per node
 * that says where raft listens and whether with TLS.)
 */
const ROUTINE_TRANSPORT = new Set([
  'raft-transport-tcp: connected',
  'raft-transport-tcp: simultaneous dial, yielding',
]);

const INBOUND_CLOSED = 'raft-transport-tcp: inbound connection closed before handshake';

/** Lines about a peer that fails to answer. */
const PEER_DOWN = new Set([
  'raft-transport-tcp: dial failed',
  'raft-transport-tcp: circuit breaker',
]);

export class LogPolicy {
  private readonly started: number;
  private readonly now: () => number;
  /** Peers we have been connected to at least once. */
  private readonly reached = new Set<unknown>();

  constructor(private readonly opts: LogPolicyOptions) {
    this.now = opts.now ?? Date.now;
    this.started = this.now();
  }

  /** The level a line should be logged at (its own, or lower). */
  levelOf(
    level: number,
    bindings: Record<string, unknown>,
    msg: string,
    fields: Record<string, unknown>,
  ): number {
    const component = bindings.component;
    if (component === 'raft') return level <= LEVEL_INFO ? LEVEL_DEBUG : level;
    if (component === 'transport') return this.transportLevel(level, msg, fields);
    if (level !== LEVEL_INFO) return level;
    switch (msg) {
      case 'raft node started': // raft-kv's "ready" line says it, with the leader
        return LEVEL_DEBUG;
      case 'leader changed': // an election under way; the outcome is logged when known
        return fields.leader == null ? LEVEL_DEBUG : level;
      case 'membership changed': {
        const index = fields.index;
        return typeof index === 'number' && index <= this.opts.bootstrapEntries
          ? LEVEL_DEBUG
          : level;
      }
      default:
        return level;
    }
  }

  private transportLevel(level: number, msg: string, fields: Record<string, unknown>): number {
    if (msg === 'raft-transport-tcp: connected') this.reached.add(fields.peer);
    if (ROUTINE_TRANSPORT.has(msg) && level < LEVEL_WARN) return LEVEL_DEBUG;
    // Our own stop closing our connections.
    if (fields.code === 'TRANSPORT_STOPPED' && level < LEVEL_WARN) return LEVEL_DEBUG;
    const early = this.now() - this.started < this.opts.startupGraceMs;
    // Two members dialling each other at start: the one that yields hangs up, which the
    // other sees as a connection closed before its handshake. Only a plain close, not a
    // malformed or refused one.
    if (early && msg === INBOUND_CLOSED && fields.code === 'TRANSPORT_SOCKET') return LEVEL_DEBUG;
    if (PEER_DOWN.has(msg) && level <= LEVEL_WARN) {
      if (early && !this.reached.has(fields.peer)) return LEVEL_DEBUG;
      if (msg === 'raft-transport-tcp: circuit breaker' && fields.to !== 'open') return LEVEL_DEBUG;
    }
    return level;
  }
}
