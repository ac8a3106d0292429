// One transport for all the groups of a RaftHost: the messages each group sends are tagged with
// its group id, and what arrives is handed to that group's hooks. A group sees a NodeTransport
// of its own (a channel), so the RaftNode that runs it is the same code as a standalone one.
// Messages for a group this host has not opened are dropped (raft retries) and counted.
//
// Group 0 carries the hosts' own protocol, never a raft group's traffic:
//   MsgHeartbeat without a context     liveness ping; `commit` = groups the sender leads
//   MsgHeartbeat with a context        coalesced heartbeats (host-heartbeats.ts)
//   MsgHeartbeatResp with a context    coalesced heartbeat responses
//   MsgAppResp, reject, index = g      "you were removed from group g": a member of g answers
//                                      so a message from a replica g removed (a host's
//                                      transport refuses a removed *host* with REMOVED; a
//                                      replica is removed from one group only)
import { type Logger, type Message, MessageType, type NodeId, newMessage } from '@tsraft/raft-core';
import type { SnapshotSink, TransportStats } from '@tsraft/raft-transport-tcp';
import { HeartbeatCoalescer, coalescible, expand } from './host-heartbeats.js';
import { mergeProposals } from './host-proposals.js';
import type { NodeTransport, TransportFactory, TransportHooks } from './seams.js';

export interface HostTransportOptions {
  id: NodeId;
  clusterId: string;
  listen: string;
  logger: Logger;
  /** The factory of the transport the groups share. */
  factory: TransportFactory;
}

export class HostTransport {
  readonly transport: NodeTransport;
  private readonly self: NodeId;
  private readonly groups = new Map<number, TransportHooks>();
  /** Messages (and snapshots) for groups not open here. */
  droppedUnknownGroup = 0;
  /** A peer host was heard from (host liveness): any message of any group counts. */
  onHeard: (peer: NodeId) => void = () => {};
  /** A liveness ping (group 0) from a peer host. */
  onPing: (m: Message) => void = () => {};
  /** Plain heartbeats and responses of all groups, one message per peer host and turn. */
  readonly heartbeats: HeartbeatCoalescer;
  /** By group: the members it removed (their messages are answered with a notice). */
  private readonly removed = new Map<number, Set<NodeId>>();
  /** Removal notices sent. */
  removalNotices = 0;
  /** Whether host liveness finds `peer` down (host-liveness.ts). */
  isDown: (peer: NodeId) => boolean = () => false;
  /** Group messages not sent because their peer host was down. */
  droppedToDeadHost = 0;
  /** By peer host: the groups that sent it messages since it was last reported unreachable. */
  private readonly sentTo = new Map<NodeId, Set<number>>();

  constructor(o: HostTransportOptions) {
    this.self = o.id;
    const hooks: TransportHooks = {
      id: o.id,
      clusterId: o.clusterId,
      listen: o.listen,
      acceptUnknownPeers: false,
      onMessage: (m, g) => {
        if (!isRelayed(m)) this.onHeard(m.from);
        if (g === 0) {
          if (m.type === MessageType.MsgAppResp && m.reject) {
            this.groups.get(m.index)?.onRemoved(m.from);
            return;
          }
          const folded = expand(m);
          if (folded === null)
            this.onPing(m); // host-liveness.ts
          else for (const [gid, hb] of folded) this.receive(gid, hb);
          return;
        }
        this.receive(g, m);
      },
      // Reachability is per peer host, but only the groups that sent it something (other than
      // heartbeats) since the last report hear of it: a dead host is reported every turn that
      // something was sent its way, and thousands of quiesced groups have nothing to pace.
      onUnreachable: (peer) => {
        const gids = this.sentTo.get(peer);
        if (gids === undefined) return;
        this.sentTo.delete(peer);
        for (const g of gids) this.groups.get(g)?.onUnreachable(peer);
      },
      onSnapshotStatus: (peer, status, g) => this.groups.get(g)?.onSnapshotStatus(peer, status, g),
      // REMOVED refusals are per host; removal from a group is the group's business.
      onRemoved: () => {},
      snapshots: {
        open: (m, g) => {
          const h = this.groups.get(g);
          if (h === undefined) throw new Error(`group ${g} is not open`);
          return h.snapshots.open(m, g);
        },
        receive: (m, g): SnapshotSink => {
          const h = this.groups.get(g);
          if (h === undefined) {
            this.droppedUnknownGroup++;
            throw new Error(`group ${g} is not open here`);
          }
          return h.snapshots.receive(m, g);
        },
      },
      logger: o.logger,
    };
    this.transport = o.factory(hooks);
    this.heartbeats = new HeartbeatCoalescer(o.id, (ms) => this.transport.send(ms, 0));
  }

  /** A message of group `g`, unless its sender was removed from the group (then: a notice). */
  private receive(g: number, m: Message): void {
    if (!isRelayed(m) && this.removed.get(g)?.has(m.from)) {
      this.removalNotices++;
      const notice = newMessage({
        type: MessageType.MsgAppResp,
        from: this.self,
        to: m.from,
        reject: true,
        index: g,
      });
      this.transport.send([notice], 0);
      return;
    }
    this.deliver(g, m);
  }

  private deliver(g: number, m: Message): void {
    const h = this.groups.get(g);
    if (h === undefined) this.droppedUnknownGroup++;
    else h.onMessage(m, g);
  }

  /** The NodeTransport of group `gid` (whose RaftNode passes `hooks`). */
  channel(gid: number, hooks: TransportHooks): NodeTransport {
    return new GroupChannel(this, gid, hooks);
  }

  /** @internal Group `gid` sent messages to the host of `peer` (see onUnreachable). */
  noteSent(peer: NodeId, gid: number): void {
    let gids = this.sentTo.get(peer);
    if (gids === undefined) {
      gids = new Set();
      this.sentTo.set(peer, gids);
    }
    gids.add(gid);
  }

  /** @internal */
  attach(gid: number, hooks: TransportHooks): void {
    this.groups.set(gid, hooks);
  }

  /** @internal */
  detach(gid: number, hooks: TransportHooks): void {
    if (this.groups.get(gid) !== hooks) return;
    this.groups.delete(gid);
    this.removed.delete(gid); // the group's next start marks them again from its log
  }

  /** @internal Group `gid` removed `id` (true) or took it back (false). */
  setRemoved(gid: number, id: NodeId, removed: boolean): void {
    let ids = this.removed.get(gid);
    if (removed) {
      if (ids === undefined) {
        ids = new Set();
        this.removed.set(gid, ids);
      }
      ids.add(id);
    } else if (ids?.delete(id) && ids.size === 0) this.removed.delete(gid);
  }

  /** Peers the shared transport knows, so that groups only add hosts it does not. */
  readonly known = new Set<NodeId>();

  addPeer(id: NodeId, addr: string): void {
    if (id === this.self) return;
    this.transport.addPeer(id, addr);
    this.known.add(id);
  }
}

/** Forwarded proposals and reads keep the `from` of the node that asked, not the sender's. */
function isRelayed(m: Message): boolean {
  return m.type === MessageType.MsgProp || m.type === MessageType.MsgReadIndex;
}

class GroupChannel implements NodeTransport {
  /**
   * Peers this group sent an append since its last heartbeat to them. A plain heartbeat to
   * one of them is skipped: the append already reset the follower's election clock and told
   * it the commit index, and its response counts as the follower's activity, as the heartbeat
   * response would. Busy groups then send no heartbeats at all; a lost append is still
   * retried a heartbeat interval later (the next heartbeat goes, and its response resends).
   */
  private appendedTo: Set<NodeId> | null = null;

  constructor(
    private readonly host: HostTransport,
    private readonly gid: number,
    private readonly hooks: TransportHooks,
  ) {}

  get addr(): string | null {
    return this.host.transport.addr;
  }

  async start(): Promise<void> {
    this.host.attach(this.gid, this.hooks);
  }

  async stop(): Promise<void> {
    this.host.detach(this.gid, this.hooks);
  }

  send(all: readonly Message[]): void {
    const messages = mergeProposals(all);
    // Plain heartbeats and responses are coalesced per peer host; the rest go as they are.
    let rest: Message[] | null = null;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      // Nothing goes to a host found dead (raft retries once it is back, as after any loss):
      // after a failover thousands of groups would encode, queue and have reported unreachable
      // every message of theirs to it. Snapshots still go, so that raft hears of their failure.
      if (m.type !== MessageType.MsgSnap && this.host.isDown(m.to)) {
        rest ??= messages.slice(0, i);
        this.host.droppedToDeadHost++;
        continue;
      }
      if (coalescible(m)) {
        rest ??= messages.slice(0, i);
        if (m.type === MessageType.MsgHeartbeat && this.appendedTo?.delete(m.to)) {
          this.host.heartbeats.skipped++;
        } else this.host.heartbeats.add(this.gid, m);
      } else {
        if (m.type === MessageType.MsgApp) {
          this.appendedTo ??= new Set();
          this.appendedTo.add(m.to);
        }
        this.host.noteSent(m.to, this.gid);
        rest?.push(m);
      }
    }
    const out = rest ?? messages;
    if (out.length > 0) this.host.transport.send(out, this.gid);
  }

  /** A host the log names that the host does not know yet (added by a conf change). */
  addPeer(id: NodeId, addr: string): void {
    this.host.setRemoved(this.gid, id, false); // (added back to the group)
    if (!this.host.known.has(id)) this.host.addPeer(id, addr);
  }

  // Other groups may still talk to the host: the connection stays.
  removePeer(): void {}

  /** The group removed `id`: its messages to the group are answered with a removal notice. */
  markRemoved(id: NodeId): void {
    this.host.setRemoved(this.gid, id, true);
  }

  stats(): TransportStats {
    return this.host.transport.stats();
  }
}
