// RaftHost: one process running many raft groups over one transport (one connection per peer
// host, frames tagged with the group id), one LevelDB (LevelStore: group-prefixed keys, one
// synced batch per loop turn for all groups) and one timer. Each group is a RaftNode — the
// same driver a standalone node runs — whose storage, transport and ticks come from the host
// (seams.ts). See README, "Many groups: RaftHost".
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { ErrUsage, type NodeId } from '@tsraft/raft-core';
import { LevelStore, type LevelStoreStats } from '@tsraft/raft-storage-level';
import { TcpTransport, type TransportStats } from '@tsraft/raft-transport-tcp';
import { type Logger, pino } from 'pino';
import { ErrStopped } from './errors.js';
import {
  type GroupOptions,
  type RaftHostOptions,
  type ResolvedHostOptions,
  checkGroupOptions,
  isId,
  resolveHostOptions,
} from './host-options.js';
import { balanceLeaders, balanceable } from './host-balance.js';
import { Liveness } from './host-liveness.js';
import { lazyChild } from './host-logger.js';
import { ReadyPass } from './host-pass.js';
import { HostTransport } from './host-transport.js';
import { RaftGroup } from './raft-group.js';
import type { GroupHooks, GroupTicker, TransportFactory } from './seams.js';

export type { GroupOptions, RaftHostOptions } from './host-options.js';

export { RaftGroup };

export interface HostMetrics {
  /** Groups open on this host. */
  groups: number;
  /** Groups in the data directory (open or not). */
  storedGroups: number;
  /** Open groups this host leads. */
  leaders: number;
  /** Open groups that are quiesced: not ticked, no heartbeats. */
  quiesced: number;
  /** Leadership transfers started by leader balancing. */
  leaderTransfers: number;
  /** Peer hosts not heard from for an election timeout. */
  deadPeers: NodeId[];
  /** Ticks of the host's timer, and group ticks they delivered. */
  ticks: number;
  groupTicks: number;
  /** Messages and snapshots for groups not open here, dropped. */
  droppedUnknownGroup: number;
  /** Messages of groups to peer hosts found dead, not sent (raft retries once they are back). */
  droppedToDeadHosts: number;
  /** Ready passes run (one per event-loop turn with work), and group Ready loops they ran. */
  readyPasses: { passes: number; groups: number };
  /**
   * Plain heartbeats and responses folded into coalesced messages, those messages, and
   * heartbeats skipped because the group had just sent that peer an append.
   */
  coalescedHeartbeats: { folded: number; messages: number; skipped: number };
  /** Messages from replicas their group removed, answered with a removal notice. */
  removalNotices: number;
  storage: LevelStoreStats | null;
  transport: TransportStats | null;
}

type HostState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/** A group's place on the host's timer (a class: a host has thousands). */
class Ticker implements GroupTicker {
  onPeerUp: ((peer: NodeId) => void) | null = null;

  constructor(
    readonly tick: () => void,
    readonly onPeerDown: (peer: NodeId) => void,
    private readonly all: Set<Ticker>,
    private readonly active: Set<Ticker>,
    private readonly liveness: Liveness,
  ) {}

  isPeerDown(peer: NodeId): boolean {
    return this.liveness.isDown(peer);
  }

  setActive(on: boolean): void {
    if (!this.all.has(this)) return;
    if (on) this.active.add(this);
    else this.active.delete(this);
  }

  remove(): void {
    this.all.delete(this);
    this.active.delete(this);
  }
}

export class RaftHost {
  readonly id: NodeId;
  readonly logger: Logger;
  private readonly cfg: ResolvedHostOptions;
  private state: HostState = 'new';
  private store: LevelStore | null = null;
  private net: HostTransport | null = null;
  private readonly groups = new Map<number, Promise<RaftGroup<unknown>>>();
  /** Every open group's place on the timer, and those ticked (not quiesced). */
  private readonly tickers = new Set<Ticker>();
  private readonly active = new Set<Ticker>();
  private liveness: Liveness | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticks = 0;
  private groupTicks = 0;
  private stopping: Promise<void> | null = null;
  /** Groups being removed (removeGroup). */
  private readonly removing = new Map<number, Promise<void>>();
  /** Ticks between leader balancing rounds (0: off). */
  private readonly balanceEvery: number;
  private transfers = 0;
  /** Every group's Ready loop, run in one pass per event-loop turn. */
  private readonly pass = new ReadyPass();

  constructor(private readonly opts: RaftHostOptions) {
    this.cfg = resolveHostOptions(opts);
    this.id = opts.id;
    this.balanceEvery = this.cfg.balanceEvery;
    this.logger = (opts.logger ?? pino({ name: 'raft-host', level: 'info' })).child({
      host: opts.id,
    });
  }

  /** The address the transport listens on ("host:port"), once started. */
  get addr(): string | null {
    return this.net?.transport.addr ?? null;
  }

  /**
   * Opens the data directory's store and listens. Groups found there are opened by group():
   * until then, traffic for them is dropped (raft retries).
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new ErrUsage('start() may be called once');
    this.state = 'starting';
    const o = this.opts;
    try {
      this.store = await LevelStore.open(path.join(o.dataDir, 'raft'), {
        entryCacheBytes: 1 << 20,
        ...o.storage,
      });
      this.mayHaveDir = await listGroupDirs(o.dataDir);
      this.net = new HostTransport({
        id: this.id,
        clusterId: this.cfg.clusterId,
        listen: o.listen,
        logger: this.logger.child({ component: 'transport' }),
        factory: this.transportFactory(),
      });
      for (const [id, addr] of this.cfg.peers) this.net.addPeer(id, addr);
      const net = this.net;
      const liveness = new Liveness(
        this.id,
        [...this.cfg.peers.keys()],
        o.electionTick ?? 10,
        (ms) => net.transport.send(ms, 0),
        (peer, seen) => this.onPeerDown(peer, seen),
      );
      this.liveness = liveness;
      liveness.leading = () => this.led.size;
      liveness.onUp = (peer) => this.onPeerUp(peer);
      // A transport that does not report its connections (in-memory) counts as connected.
      liveness.connected = (peer) => {
        const p = net.transport.stats().peers.find((s) => s.id === peer);
        return p === undefined || p.connection === 'connected';
      };
      net.onHeard = (peer) => liveness.heard(peer);
      net.isDown = (peer) => liveness.isDown(peer);
      net.onPing = (m) => liveness.ping(m.from, m.commit);
      await net.transport.start();
    } catch (err) {
      this.state = 'stopped';
      await this.net?.transport.stop().catch(() => {});
      await this.store?.close().catch(() => {});
      throw err;
    }
    this.timer = setInterval(() => this.tick(), this.cfg.tickMs);
    this.state = 'running';
    this.logger.info(
      { addr: this.addr, storedGroups: this.store.groupIds().length },
      'raft host started',
    );
  }

  /**
   * Group `gid`: opened from the data directory if it is there, else created with `members`
   * (bootstrapped, or with `join` waiting for the group's leader). Resolves once it is open,
   * not once it has a leader. Calling it again returns the same group.
   */
  group<R = unknown>(gid: number, options: GroupOptions<R>): Promise<RaftGroup<R>> {
    if (this.state !== 'running') {
      return Promise.reject(new ErrStopped('dropped'));
    }
    const open = this.groups.get(gid);
    if (open !== undefined) return open as Promise<RaftGroup<R>>;
    // Removed meanwhile: once the replica and its data are gone, a new one is created.
    const removal = this.removing.get(gid);
    if (removal !== undefined) {
      return removal.catch(() => {}).then(() => this.group<R>(gid, options));
    }
    try {
      checkGroupOptions(gid, options as GroupOptions<unknown>, this.cfg);
    } catch (err) {
      return Promise.reject(err);
    }
    const p = this.openGroup(gid, options);
    this.groups.set(gid, p as Promise<RaftGroup<unknown>>);
    p.catch(() => this.groups.delete(gid));
    return p;
  }

  /** The groups of this host: open ones and those in the data directory, ascending. */
  groupIds(): number[] {
    const ids = new Set(this.store?.groupIds() ?? []);
    for (const id of this.groups.keys()) ids.add(id);
    return [...ids].sort((a, b) => a - b);
  }

  /**
   * Deletes this host's replica of group `gid` and its data (its log, its state machine
   * snapshots). Membership is the group's business: remove this host through the group
   * first, or the others keep sending to it (and the messages are dropped here).
   */
  async removeGroup(gid: number): Promise<void> {
    if (!isId(gid)) throw new ErrUsage(`group id must be a positive safe integer, got ${gid}`);
    if (this.state !== 'running') throw new ErrStopped('dropped');
    const running = this.removing.get(gid);
    if (running !== undefined) return running;
    const p = this.deleteGroup(gid);
    this.removing.set(gid, p);
    try {
      await p;
    } finally {
      this.removing.delete(gid);
    }
  }

  private async deleteGroup(gid: number): Promise<void> {
    const open = this.groups.get(gid);
    this.groups.delete(gid);
    if (open !== undefined) {
      const g = await open.catch(() => null);
      await g?.stop();
      this.openNow.delete(gid);
    }
    await this.store!.removeGroup(gid);
    await rm(this.groupDir(gid), { recursive: true, force: true });
  }

  metrics(): HostMetrics {
    const leaders = this.led.size;
    return {
      groups: this.groups.size,
      storedGroups: this.store?.groupIds().length ?? 0,
      leaders,
      quiesced: this.tickers.size - this.active.size,
      leaderTransfers: this.transfers,
      deadPeers: this.liveness?.dead() ?? [],
      ticks: this.ticks,
      groupTicks: this.groupTicks,
      readyPasses: { passes: this.pass.passes, groups: this.pass.processed },
      droppedUnknownGroup: this.net?.droppedUnknownGroup ?? 0,
      droppedToDeadHosts: this.net?.droppedToDeadHost ?? 0,
      removalNotices: this.net?.removalNotices ?? 0,
      coalescedHeartbeats: {
        folded: this.net?.heartbeats.folded ?? 0,
        messages: this.net?.heartbeats.messages ?? 0,
        skipped: this.net?.heartbeats.skipped ?? 0,
      },
      storage: this.store?.stats() ?? null,
      transport: this.net?.transport.stats() ?? null,
    };
  }

  /** Stops every group (their pending requests reject with ErrStopped), then the host. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const all = [...this.groups.values()];
    this.groups.clear();
    this.openNow.clear();
    this.led.clear();
    this.toCampaign.clear();
    await Promise.allSettled(all.map(async (p) => (await p).stop()));
    await this.net?.transport.stop().catch(() => {});
    await this.store?.close().catch((err: unknown) => {
      this.logger.warn({ err }, 'closing the store failed');
    });
    this.state = 'stopped';
    this.logger.info('raft host stopped');
  }

  // ---- internals -------------------------------------------------------------------------

  private groupDir(gid: number): string {
    return path.join(this.opts.dataDir, 'groups', String(gid));
  }

  /**
   * The group directories found at start, and the groups opened since (whose directories
   * this process may have made): a group in neither has none. Opening 10,000 groups, a
   * failed directory listing each was 7% of a restart's CPU.
   */
  private mayHaveDir = new Set<string>();

  /** Groups whose open finished (a synchronous view for metrics and leader balance). */
  private readonly openNow = new Map<number, RaftGroup<unknown>>();
  /**
   * The groups this host leads, kept by GroupHooks.onLeading: counting them by asking each of
   * 10,000 groups once a second (for the liveness pings) was most of an idle host's CPU.
   */
  private readonly led = new Set<number>();

  /** GroupHooks.onLeading, shared by every group. */
  private readonly onLeading = (gid: number, leading: boolean): void => {
    if (leading) this.led.add(gid);
    else this.led.delete(gid);
  };
  /**
   * New groups this host campaigns for (isPreferredLeader) once their bootstrap conf changes
   * (this many) are applied: raft refuses to campaign before.
   */
  private readonly toCampaign = new Map<RaftGroup<unknown>, number>();

  private async openGroup<R>(gid: number, o: GroupOptions<R>): Promise<RaftGroup<R>> {
    const h = this.opts;
    const peers = o.members.map((m) => [m, this.cfg.peers.get(m)!] as const);
    const noDataDir = !this.mayHaveDir.has(String(gid));
    this.mayHaveDir.add(String(gid));
    const hooks: GroupHooks = {
      groupId: gid,
      addTicker: this.addTicker,
      pass: this.pass,
      noDataDir,
      onLeading: this.onLeading,
    };
    const net = this.net!;
    const store = this.store!;
    const node = new RaftGroup<R>(
      {
        id: this.id,
        peers,
        dataDir: this.groupDir(gid),
        listen: h.listen,
        stateMachine: o.stateMachine,
        clusterId: this.cfg.clusterId,
        ...(o.join !== undefined ? { join: o.join } : {}),
        ...knobs(h),
        ...knobs(o),
        tickMs: this.cfg.tickMs,
        logger: lazyChild(this.logger, { group: gid }),
        // Bound functions, not closures: a host makes one of each per group.
        transport: net.channel.bind(net, gid),
        storage: store.group.bind(store, gid),
      },
      hooks,
    );
    await node.start();
    if (this.state !== 'running' || this.groups.get(gid) === undefined) {
      await node.stop();
      throw new ErrStopped('dropped');
    }
    this.openNow.set(gid, node as RaftGroup<unknown>);
    if (o.join !== true && isPreferredLeader(this.id, gid, o.members, node)) {
      this.toCampaign.set(node as RaftGroup<unknown>, o.members.length);
    }
    return node;
  }

  /** GroupHooks.addTicker, shared by every group. */
  private readonly addTicker = (
    tick: () => void,
    onPeerDown: (peer: NodeId) => void,
  ): GroupTicker => {
    const e = new Ticker(tick, onPeerDown, this.tickers, this.active, this.liveness!);
    this.tickers.add(e);
    this.active.add(e);
    return e;
  };

  /** One tick of the host's timer: host liveness, then every group that is not quiesced. */
  private tick(): void {
    this.ticks++;
    this.liveness?.tick();
    for (const e of this.active) {
      this.groupTicks++;
      e.tick();
    }
    for (const [g, applied] of this.toCampaign) {
      if (g.state !== 'running' || g.leader() !== 0) this.toCampaign.delete(g);
      else if (g.appliedIndex() >= applied) {
        this.toCampaign.delete(g);
        g.campaign();
      }
    }
    const every = this.balanceEvery;
    if (every > 0 && this.ticks % every === 0 && this.liveness !== null) {
      this.balance(this.liveness);
    }
  }

  /** A round of leader balance (host-balance.ts). */
  private balance(liveness: Liveness): void {
    let total = 0;
    for (const g of this.openNow.values()) if (balanceable(g)) total++;
    const mine: RaftGroup<unknown>[] = [];
    for (const gid of this.led) {
      const g = this.openNow.get(gid);
      if (g !== undefined && balanceable(g)) mine.push(g);
    }
    this.transfers += balanceLeaders(this.id, this.cfg.peers.size, total, mine, liveness);
  }

  private onPeerDown(peer: NodeId, seen: boolean): void {
    // A peer not up yet (hosts of a cluster start one after another) is no news: the
    // transport warns if dialing it keeps failing.
    if (seen) this.logger.warn({ peer }, 'peer host not heard from for an election timeout');
    else this.logger.info({ peer }, 'peer host not up yet');
    for (const e of this.tickers) e.onPeerDown(peer);
  }

  /** A peer host is back: leaders that quiesced without it wake to bring it up to date. */
  private onPeerUp(peer: NodeId): void {
    this.logger.info({ peer }, 'peer host heard from again');
    for (const e of this.tickers) e.onPeerUp?.(peer);
  }

  private transportFactory(): TransportFactory {
    const t = this.opts.transport;
    if (typeof t === 'function') return t;
    const tls = this.opts.tls;
    return (hooks) =>
      new TcpTransport({
        maxSnapshotSize: Number.MAX_SAFE_INTEGER,
        ...(t ?? {}),
        ...(tls !== undefined ? { tls } : {}),
        ...hooks,
      });
  }
}

/**
 * A group just bootstrapped (term 1, no leader yet) campaigns at once on one member chosen by
 * its id, and its other members wait for their election timeout: a host's groups start with
 * their leaderships spread over the members instead of going to whichever host opened them
 * first (leader balancing would then move thousands of them, a few per round).
 */
function isPreferredLeader(
  self: NodeId,
  gid: number,
  members: readonly NodeId[],
  g: RaftGroup<unknown>,
): boolean {
  if (members.length < 2 || members[gid % members.length] !== self) return false;
  const s = g.status();
  return s.hardState.term <= 1 && s.leader === null && s.hardState.commit <= members.length;
}

/** The raft knobs set in `o` (undefined ones left out, for exactOptionalPropertyTypes). */
function knobs(o: object): Record<string, unknown> {
  const keys = [
    'electionTick',
    'heartbeatTick',
    'maxSizePerMsg',
    'maxInflightMsgs',
    'maxInflightBytes',
    'maxUncommittedEntriesSize',
    'maxCommittedSizePerReady',
    'preVote',
    'checkQuorum',
    'readOnlyOption',
    'disableProposalForwarding',
    'random',
    'snapshotInterval',
    'snapshotCatchUpEntries',
  ];
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = (o as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** The names in `dataDir/groups` (group ids), none if it does not exist. */
async function listGroupDirs(dataDir: string): Promise<Set<string>> {
  try {
    return new Set(await readdir(path.join(dataDir, 'groups')));
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return new Set();
    throw err;
  }
}
