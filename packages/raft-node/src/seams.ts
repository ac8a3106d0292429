// What RaftNode needs from its storage and its transport, so that an embedder can bring their
// own. The defaults are LevelStorage (raft-storage-level) and TcpTransport (raft-transport-tcp);
// memory-transport.ts is an in-process transport for tests.
import type {
  ConfState,
  Entry,
  HardState,
  Logger,
  Message,
  NodeId,
  Snapshot,
  Storage,
} from '@tsraft/raft-core';
import type { SnapshotStatus, SnapshotStreams, TransportStats } from '@tsraft/raft-transport-tcp';
import type { ReadyPass } from './host-pass.js';

/** Raft's durable state: raft-core's read side plus the writes RaftNode makes. */
export interface NodeStorage extends Storage {
  /** The last hard state saved. */
  hardState(): HardState;
  /** One atomic, synced write of a Ready's hard state, entries and snapshot. */
  save(input: {
    readonly hardState?: HardState | null;
    readonly entries?: readonly Entry[];
    readonly snapshot?: Snapshot | null;
  }): Promise<void>;
  /** Records a snapshot taken here at `index` (its term read from the log). */
  createSnapshot(
    index: number,
    confState: ConfState | undefined,
    data: Uint8Array,
  ): Promise<Snapshot>;
  /** Discards log entries up to `index`. */
  compact(index: number): Promise<void>;
  close(): Promise<void>;
}

/** Opens the storage of a data directory. */
export type StorageFactory = (dataDir: string) => Promise<NodeStorage>;

/** What RaftNode gives a transport: who it is, where to deliver, where snapshots stream. */
export interface TransportHooks {
  id: NodeId;
  clusterId: string;
  listen: string;
  /** Accept nodes not (yet) known as peers (a node joining with an empty log). */
  acceptUnknownPeers: boolean;
  /** A message from a peer, for raft group `group` (0 for a RaftNode's own). */
  onMessage(m: Message, group: number): void;
  onUnreachable(peer: NodeId): void;
  onSnapshotStatus(peer: NodeId, status: SnapshotStatus, group: number): void;
  /** A member refused us as removed from the cluster. */
  onRemoved(peer: NodeId): void;
  /** MsgSnap data comes from and goes to snapshot files, never whole in memory. */
  snapshots: SnapshotStreams;
  logger: Logger;
}

/** Messages between members; see raft-transport-tcp's README for the contract. */
export interface NodeTransport {
  /** The bound "host:port" once started. */
  readonly addr: string | null;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Never blocks: what cannot be sent is dropped (raft retransmits). `group` (default 0) is
   * the raft group the messages belong to; the receiver's onMessage gets it with each one.
   */
  send(messages: readonly Message[], group?: number): void;
  addPeer(id: NodeId, addr: string): void;
  removePeer(id: NodeId): void;
  /** `id` left the cluster: refuse it as removed from now on. */
  markRemoved(id: NodeId): void;
  stats(): TransportStats;
}

/** Makes the transport of a node. */
export type TransportFactory = (hooks: TransportHooks) => NodeTransport;

/**
 * @internal What a RaftHost gives each of its groups (a RaftNode): the group's id and the
 * host's one timer, instead of a timer per node.
 */
export interface GroupHooks {
  readonly groupId: number;
  /**
   * Calls `tick` on the host's timer while the ticker is active, and `onPeerDown` when the
   * host finds a peer host dead (host liveness).
   */
  addTicker(tick: () => void, onPeerDown: (peer: NodeId) => void): GroupTicker;
  /** Runs the group's Ready loop in the host's one pass per event-loop turn (host-pass.ts). */
  readonly pass?: ReadyPass;
  /**
   * The group's data directory is known not to exist (the host listed them all at start):
   * its snapshot files need no directory listing to find there are none.
   */
  readonly noDataDir?: boolean;
  /**
   * The group became leader (true) or stopped leading (false, also when it stops): the host
   * counts its leaderships from these instead of asking each of thousands of groups.
   */
  readonly onLeading?: (groupId: number, leading: boolean) => void;
}

/** @internal A group's place on the host's timer. */
export interface GroupTicker {
  /** A quiesced group is not ticked (false) until it wakes (true). */
  setActive(active: boolean): void;
  remove(): void;
  /** Whether the host finds `peer`'s host dead (host liveness). */
  isPeerDown(peer: NodeId): boolean;
  /** Called when a peer host found dead is heard from again (set while it matters). */
  onPeerUp: ((peer: NodeId) => void) | null;
}
