// The Consensus seam over a RaftNode: starts and stops it, maps its typed errors to
// ConsensusError kinds, and exports its statistics as Prometheus metrics.
import {
  ErrAborted,
  ErrBadMembership,
  ErrNodeFailed,
  ErrProposalDropped,
  ErrProposalIndeterminate,
  ErrStopped,
  ErrTransferFailed,
  RaftNode,
  type RaftNodeOptions,
} from '@tsraft/raft-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ServerConfig } from './config.js';
import {
  type Consensus,
  ConsensusError,
  type ConsensusMember,
  type ConsensusStatus,
  type PeerProgress,
} from './consensus.js';
import type { ApplyResult, KvStateMachine } from './kv/state-machine.js';
import { collected, collectedHistogram } from './metrics/collected.js';
import { ReadBatcher } from './read-batcher.js';

const PROGRESS_STATES = ['probe', 'replicate', 'snapshot'];

export interface RaftConsensusOptions {
  config: ServerConfig;
  /** Raft addresses by id: the initial cluster, or what --join learned. */
  peers: Map<number, string>;
  join: boolean;
  stateMachine: KvStateMachine;
  logger: Logger;
}

/** A ConsensusError for whatever RaftNode rejected with (other errors pass through). */
export function toConsensusError(err: unknown): unknown {
  if (err instanceof ErrProposalDropped)
    return new ConsensusError('dropped', err.message, { cause: err });
  if (err instanceof ErrProposalIndeterminate) {
    return new ConsensusError('indeterminate', err.message, { cause: err });
  }
  if (err instanceof ErrAborted) {
    // Aborted after the entry was handed to raft: its fate is unknown.
    return new ConsensusError(
      err.outcome === 'dropped' ? 'aborted' : 'indeterminate',
      'deadline exceeded',
      {
        cause: err,
      },
    );
  }
  if (err instanceof ErrStopped || err instanceof ErrNodeFailed) {
    return new ConsensusError(
      err.outcome === 'dropped' ? 'stopped' : 'indeterminate',
      err.message,
      {
        cause: err,
      },
    );
  }
  if (err instanceof ErrBadMembership)
    return new ConsensusError('rejected', err.message, { cause: err });
  if (err instanceof ErrTransferFailed)
    return new ConsensusError('dropped', err.message, { cause: err });
  return err;
}

export class RaftConsensus implements Consensus {
  readonly id: number;
  readonly node: RaftNode<ApplyResult>;
  private readonly reads: ReadBatcher;

  constructor(o: RaftConsensusOptions) {
    const c = o.config;
    this.id = c.id;
    const opts: RaftNodeOptions<ApplyResult> = {
      id: c.id,
      peers: o.peers,
      dataDir: c.dataDir,
      listen: c.peerListen,
      stateMachine: o.stateMachine,
      clusterId: c.clusterId,
      join: o.join,
      logger: o.logger,
    };
    if (c.snapshotInterval !== undefined) opts.snapshotInterval = c.snapshotInterval;
    if (c.snapshotCatchUpEntries !== undefined)
      opts.snapshotCatchUpEntries = c.snapshotCatchUpEntries;
    if (c.tickMs !== undefined) opts.tickMs = c.tickMs;
    if (c.electionTick !== undefined) opts.electionTick = c.electionTick;
    if (c.peerTls !== undefined) opts.tls = c.peerTls;
    this.node = new RaftNode<ApplyResult>(opts);
    this.reads = new ReadBatcher(async (signal) => {
      try {
        await this.node.read({ signal });
      } catch (err) {
        throw toConsensusError(err);
      }
    }, c.requestTimeoutMs);
  }

  start(): Promise<void> {
    return this.node.start();
  }

  stop(): Promise<void> {
    return this.node.stop();
  }

  async propose(data: Uint8Array, signal: AbortSignal): Promise<unknown> {
    try {
      return await this.node.propose(data, { signal });
    } catch (err) {
      throw toConsensusError(err);
    }
  }

  /** A linearizable read barrier, shared with the reads that arrived since the last one began. */
  read(signal: AbortSignal): Promise<void> {
    return this.reads.read(signal);
  }

  isLeader(): boolean {
    return this.node.isLeader();
  }

  term(): number {
    return this.node.leaderState().term;
  }

  status(): ConsensusStatus {
    const s = this.node.status();
    const progress: PeerProgress[] = [];
    for (const [id, p] of s.progress) {
      progress.push({
        id,
        match: p.match,
        next: p.next,
        state: PROGRESS_STATES[p.state] ?? String(p.state),
        recentActive: p.recentActive,
        isLearner: p.isLearner,
        pendingSnapshot: p.pendingSnapshot,
        inflight: p.inflights.count,
      });
    }
    progress.sort((a, b) => a.id - b.id);
    return {
      id: s.id,
      role: s.role,
      term: s.hardState.term,
      vote: s.hardState.vote,
      leader: s.leader ?? 0,
      commit: s.hardState.commit,
      applied: s.appliedIndex,
      snapshotIndex: s.snapshotIndex,
      firstIndex: s.firstIndex,
      lastIndex: s.lastIndex,
      voters: [...s.config.voters].sort((a, b) => a - b),
      learners: [...s.config.learners].sort((a, b) => a - b),
      progress,
    };
  }

  members(): ConsensusMember[] {
    return this.node.members().map((m) => {
      const out: ConsensusMember = { id: m.id, isLearner: m.role === 'learner' };
      if (m.addr !== '') out.peerAddr = m.addr;
      return out;
    });
  }

  async addMember(
    id: number,
    peerAddr: string,
    learner: boolean,
    signal: AbortSignal,
  ): Promise<void> {
    try {
      if (learner) await this.node.addLearner(id, peerAddr, { signal });
      else await this.node.addNode(id, peerAddr, { signal });
    } catch (err) {
      throw toConsensusError(err);
    }
  }

  async promoteMember(id: number, signal: AbortSignal): Promise<void> {
    try {
      await this.node.promote(id, { signal });
    } catch (err) {
      throw toConsensusError(err);
    }
  }

  async updateMember(id: number, peerAddr: string, signal: AbortSignal): Promise<void> {
    try {
      await this.node.updateNode(id, peerAddr, { signal });
    } catch (err) {
      throw toConsensusError(err);
    }
  }

  async removeMember(id: number, signal: AbortSignal): Promise<void> {
    try {
      await this.node.removeNode(id, { signal });
    } catch (err) {
      throw toConsensusError(err);
    }
  }

  async transferLeadership(to: number, signal: AbortSignal): Promise<void> {
    try {
      await this.node.transferLeadership(to, { signal });
    } catch (err) {
      throw toConsensusError(err);
    }
  }

  /** raft-node's counters, histograms, status gauges and transport bytes, read at scrape time. */
  registerMetrics(r: Registry): void {
    const m = () => (this.node.state === 'running' ? this.node.metrics() : undefined);
    const status = () => (this.node.state === 'running' ? this.node.status() : undefined);
    const counter = (
      name: string,
      help: string,
      pick: (x: ReturnType<RaftNode['metrics']>) => number,
    ) =>
      collected(r, name, help, 'counter', [], () => {
        const x = m();
        return x === undefined ? undefined : pick(x);
      });
    counter(
      'raft_proposals_submitted_total',
      'Proposals accepted by raft (appended as leader, or forwarded).',
      (x) => x.proposalsSubmitted,
    );
    counter(
      'raft_proposals_dropped_total',
      'Proposals raft refused (no leader, transfer, size limit).',
      (x) => x.proposalsDropped,
    );
    counter(
      'raft_proposals_failed_total',
      'Proposals that ended indeterminate, aborted or stopped.',
      (x) => x.proposalsFailed,
    );
    counter(
      'raft_proposals_applied_total',
      "This node's proposals applied here.",
      (x) => x.proposalsApplied,
    );
    counter(
      'raft_entries_applied_total',
      'Committed entries applied on this node (commits).',
      (x) => x.entriesApplied,
    );
    counter(
      'raft_storage_saves_total',
      'Synced storage writes (one per group commit).',
      (x) => x.saves,
    );
    counter(
      'raft_storage_entries_saved_total',
      'Entries written by those saves.',
      (x) => x.entriesSaved,
    );
    counter(
      'raft_elections_total',
      'Elections this node started (candidate or pre-candidate).',
      (x) => x.elections,
    );
    counter('raft_leader_changes_total', 'Times the known leader changed.', (x) => x.leaderChanges);
    counter(
      'raft_snapshots_created_total',
      'Snapshots taken on this node.',
      (x) => x.snapshotsCreated,
    );
    counter(
      'raft_snapshots_restored_total',
      'Snapshots restored (at start, or from the leader).',
      (x) => x.snapshotsRestored,
    );
    counter(
      'raft_reads_total',
      'Linearizable read barriers (ReadIndex) requested.',
      (x) => x.reads,
    );
    collectedHistogram(
      r,
      'raft_fsync_duration_seconds',
      'Seconds per synced storage write.',
      () => m()?.fsyncSeconds,
    );
    collectedHistogram(
      r,
      'raft_apply_duration_seconds',
      'Seconds per state machine apply call.',
      () => m()?.applySeconds,
    );

    const gauge = (
      name: string,
      help: string,
      pick: (s: ReturnType<RaftNode['status']>) => number,
    ) =>
      collected(r, name, help, 'gauge', [], () => {
        const s = status();
        return s === undefined ? undefined : pick(s);
      });
    gauge('raft_term', 'The current term.', (s) => s.hardState.term);
    gauge('raft_commit_index', 'The highest index known committed.', (s) => s.hardState.commit);
    gauge(
      'raft_applied_index',
      'The highest index applied to the state machine.',
      (s) => s.appliedIndex,
    );
    gauge('raft_snapshot_index', 'The index of the latest snapshot.', (s) => s.snapshotIndex);
    gauge('raft_log_first_index', 'The first index kept in the log.', (s) => s.firstIndex);
    gauge('raft_log_last_index', 'The last index in the log.', (s) => s.lastIndex);
    gauge('raft_is_leader', '1 when this node leads.', (s) => (s.role === 'leader' ? 1 : 0));
    gauge('raft_leader_id', 'The known leader (0: none).', (s) => s.leader ?? 0);

    const transport = () => (this.node.state === 'running' ? this.node.transportStats() : null);
    const perPeer = (
      name: string,
      help: string,
      pick: (p: NonNullable<ReturnType<typeof transport>>['peers'][number]) => number,
    ) =>
      collected(r, name, help, 'counter', ['peer'], () => {
        const t = transport();
        return t === null ? undefined : t.peers.map((p) => [{ peer: p.id }, pick(p)] as const);
      });
    perPeer('raft_transport_sent_bytes_total', 'Bytes sent to each peer.', (p) => p.bytesSent);
    perPeer(
      'raft_transport_received_bytes_total',
      'Bytes received from each peer.',
      (p) => p.bytesReceived,
    );
    perPeer(
      'raft_transport_sent_messages_total',
      'Raft messages sent to each peer.',
      (p) => p.messagesSent,
    );
    perPeer(
      'raft_transport_received_messages_total',
      'Raft messages received from each peer.',
      (p) => p.messagesReceived,
    );
    perPeer(
      'raft_transport_dropped_messages_total',
      'Messages to each peer dropped (queue full, unreachable, too large, invalid).',
      (p) => p.dropped.queueFull + p.dropped.unreachable + p.dropped.tooLarge + p.dropped.invalid,
    );
  }
}
