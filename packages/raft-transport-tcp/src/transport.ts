// TcpTransport: the listener, the peer table and the routing of messages. Per-peer work
// (queue, connection, backoff, breaker, snapshots) lives in peer.ts.
import net from 'node:net';
import tls from 'node:tls';
import {
  type Logger,
  type Message,
  MessageType,
  type NodeId,
  silentLogger,
} from '@tsraft/raft-core';
import { Connection } from './connection.js';
import { TransportError, TransportErrorCode, codeRejectReason } from './errors.js';
import { HandshakeKind, type HandshakeRecord, PROTOCOL_VERSION } from './handshake.js';
import {
  type Limits,
  type TcpTransportOptions,
  formatAddress,
  isNodeId,
  parseAddress,
  peerEntries,
  resolveLimits,
  validateIdentity,
} from './options.js';
import { Peer, type PeerHost, type PeerStats, isMalformed } from './peer.js';
import { type SnapshotStatus, inlineSnapshots } from './snapshot.js';
import { checkPeerIdentity } from './tls-identity.js';

export interface TransportStats {
  id: NodeId;
  /** The bound address once started, else null. */
  addr: string | null;
  peers: PeerStats[];
  inbound: {
    /** Connections accepted by the listener (before the handshake). */
    accepted: number;
    /** Handshakes refused, by code (TLS failures included as TRANSPORT_TLS). */
    rejected: Partial<Record<TransportErrorCode, number>>;
    /** Connections closed for malformed input before they were tied to a peer. */
    malformed: number;
  };
  /** Messages for ids that are not peers (or for ourselves). */
  droppedUnknownPeer: number;
}

export class TcpTransport {
  readonly id: NodeId;
  readonly clusterId: string;
  private readonly limits: Limits;
  private readonly logger: Logger;
  private readonly peers = new Map<NodeId, Peer>();
  /** Inbound connections whose handshake has not finished. */
  private readonly pending = new Set<Connection>();
  private readonly raw = new Set<net.Socket>();
  private server: net.Server | null = null;
  private boundAddr: string | null = null;
  private started = false;
  private stopped = false;
  private readonly host: PeerHost;
  private readonly unreachable = new Set<NodeId>();
  /** Node ids removed from the cluster: their HELLOs are refused with REMOVED. */
  private readonly removed = new Set<NodeId>();
  private unreachableQueued = false;
  private readonly inbound = {
    accepted: 0,
    rejected: {} as TransportStats['inbound']['rejected'],
    malformed: 0,
  };
  private droppedUnknownPeer = 0;

  constructor(private readonly options: TcpTransportOptions) {
    validateIdentity(options);
    parseAddress(options.listen);
    this.id = options.id;
    this.clusterId = options.clusterId;
    this.limits = resolveLimits(options);
    this.logger = options.logger ?? silentLogger;
    this.host = {
      id: this.id,
      clusterId: this.clusterId,
      limits: this.limits,
      logger: this.logger,
      options,
      dial: (addr) => this.dial(addr),
      deliver: (m, group) => this.deliver(m, group),
      reportUnreachable: (peer) => this.queueUnreachable(peer),
      reportSnapshot: (peer, status, group) => this.queueSnapshotStatus(peer, status, group),
      snapshots: options.snapshots ?? inlineSnapshots,
      inlineSnapshots: options.snapshots === undefined,
      reportRemoved: (peer) => this.queueRemoved(peer),
      checkIdentity: (socket, id) => this.checkIdentity(socket, id),
      running: () => this.boundAddr !== null && !this.stopped,
    };
    for (const [id, addr] of peerEntries(options.peers)) this.addPeer(id, addr);
  }

  /** The listening address ("host:port", the real port when 0 was asked), once started. */
  get addr(): string | null {
    return this.boundAddr;
  }

  /** Starts listening, then dials every peer. */
  async start(): Promise<void> {
    if (this.started) throw new TransportError(TransportErrorCode.InvalidConfig, 'already started');
    this.started = true;
    const { host, port } = parseAddress(this.options.listen);
    const server = this.createServer();
    this.server = server;
    // Every accepted TCP socket, TLS handshakes in progress included, so stop() can end them.
    server.on('connection', (socket: net.Socket) => {
      this.raw.add(socket);
      socket.once('close', () => this.raw.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(
          new TransportError(
            TransportErrorCode.Socket,
            `listen on ${this.options.listen}: ${err.message}`,
            { cause: err },
          ),
        );
      };
      server.once('error', onError);
      server.listen({ host, port }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => {
      this.logger.error({ err: err.message }, 'raft-transport-tcp: listener error');
    });
    const a = server.address() as net.AddressInfo;
    this.boundAddr = formatAddress(a.address, a.port);
    this.logger.info(
      { id: this.id, addr: this.boundAddr, tls: this.options.tls !== undefined },
      'raft-transport-tcp: listening',
    );
    if (this.stopped) return;
    for (const p of this.peers.values()) p.connect();
  }

  /** Closes the listener and every connection. No callback fires after it resolves. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const err = new TransportError(TransportErrorCode.Stopped, 'transport stopped');
    for (const p of this.peers.values()) p.shutdown(err, false);
    for (const c of this.pending) c.close(err);
    this.pending.clear();
    for (const socket of this.raw) socket.destroy();
    this.raw.clear();
    const server = this.server;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Queues messages of raft group `group` for their peers (`to`). Many groups share each
   * connection: the receiver's onMessage gets the group with each message (group 0, the
   * default, is a transport's only group). Never calls back synchronously: what cannot be
   * sent is dropped and counted (Raft retransmits). Throws only for a group that is not a
   * non-negative safe integer (and sends nothing).
   */
  send(messages: readonly Message[], group = 0): void {
    if (!Number.isSafeInteger(group) || group < 0) {
      throw new TransportError(TransportErrorCode.InvalidConfig, `bad group id ${String(group)}`);
    }
    if (this.stopped) return;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const peer = this.peers.get(m.to);
      if (peer === undefined) {
        this.droppedUnknownPeer++;
        if (m.type === MessageType.MsgSnap) this.queueSnapshotStatus(m.to, 'failure', group);
        continue;
      }
      peer.send(m, group);
    }
  }

  /** Adds a peer (or changes its address for future dials) and dials it if started. */
  addPeer(id: NodeId, addr: string): void {
    if (!isNodeId(id) || id === this.id) {
      throw new TransportError(TransportErrorCode.InvalidConfig, `bad peer id ${String(id)}`);
    }
    parseAddress(addr);
    this.removed.delete(id);
    const cur = this.peers.get(id);
    if (cur !== undefined) {
      cur.addr = addr;
      return;
    }
    const peer = new Peer(this.host, id, addr);
    this.peers.set(id, peer);
    if (this.started && !this.stopped) peer.connect();
  }

  /** Forgets a peer: closes its connection, drops its queue, fails its snapshot in flight. */
  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    this.peers.delete(id);
    peer.shutdown(new TransportError(TransportErrorCode.PeerRemoved, `peer ${id} removed`), true);
  }

  /**
   * Node `id` was removed from the cluster: forget it (as removePeer) and refuse its
   * connections from now on with REMOVED, so that it learns it is no longer a member (its
   * transport calls onRemoved). addPeer(id) lifts it.
   */
  markRemoved(id: NodeId): void {
    if (!isNodeId(id) || id === this.id) return;
    this.removed.add(id);
    this.removePeer(id);
  }

  stats(): TransportStats {
    return {
      id: this.id,
      addr: this.boundAddr,
      peers: [...this.peers.values()].map((p) => p.stats()),
      inbound: { ...this.inbound, rejected: { ...this.inbound.rejected } },
      droppedUnknownPeer: this.droppedUnknownPeer,
    };
  }

  /** Sockets open right now: peer connections, dials, and handshakes in progress. */
  openSockets(): number {
    let n = this.pending.size;
    for (const p of this.peers.values()) n += p.sockets;
    return n;
  }

  // ---- inbound ---------------------------------------------------------------------------

  private createServer(): net.Server {
    const t = this.options.tls;
    if (t === undefined) {
      return net.createServer({ noDelay: true }, (socket) => this.onInbound(socket));
    }
    const server = tls.createServer(
      {
        key: t.key,
        cert: t.cert,
        ca: t.ca,
        ...(t.passphrase !== undefined ? { passphrase: t.passphrase } : {}),
        requestCert: true,
        rejectUnauthorized: true,
        handshakeTimeout: this.limits.handshakeTimeout,
        minVersion: 'TLSv1.2',
      },
      (socket) => this.onInbound(socket),
    );
    server.on('tlsClientError', (err, socket) => {
      this.countRejected(TransportErrorCode.Tls);
      this.logger.warn(
        { code: TransportErrorCode.Tls, remote: socket.remoteAddress, err: err.message },
        'raft-transport-tcp: TLS handshake refused',
      );
    });
    return server;
  }

  private onInbound(socket: net.Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    this.inbound.accepted++;
    const c = new Connection(socket, 'inbound', null, this.limits);
    this.pending.add(c);
    c.onHandshake = (rec) => this.onInboundHandshake(c, rec);
    c.onClose = (err) => {
      this.pending.delete(c);
      if (err.code === TransportErrorCode.Stopped) return;
      if (isMalformed(err.code)) this.inbound.malformed++;
      this.countRejected(err.code);
      this.logger.warn(
        { code: err.code, remote: socket.remoteAddress, err: err.message },
        'raft-transport-tcp: inbound connection closed before handshake',
      );
    };
  }

  private onInboundHandshake(c: Connection, rec: HandshakeRecord): void {
    let bad = this.checkHello(c, rec);
    if (bad === null) {
      // checkHello made sure the peer exists.
      const code = this.peers.get(rec.from)!.acceptInbound(c);
      if (code === null) {
        this.pending.delete(c);
        // Queued frames follow in a microtask, so ACCEPT is the first thing the dialer reads.
        c.sendHandshake({
          kind: HandshakeKind.Accept,
          reason: 0,
          from: this.id,
          to: rec.from,
          clusterId: this.clusterId,
        });
        return;
      }
      bad = new TransportError(code, 'we already have a connection with the peer');
    }
    this.pending.delete(c);
    c.onClose = () => {}; // counted and logged here, once
    this.countRejected(bad.code);
    this.logger[bad.code === TransportErrorCode.Duplicate ? 'debug' : 'warn'](
      { code: bad.code, peer: rec.from, remote: c.socket.remoteAddress, err: bad.message },
      'raft-transport-tcp: inbound connection refused',
    );
    c.reject(
      {
        kind: HandshakeKind.Reject,
        reason: codeRejectReason(bad.code),
        from: this.id,
        to: rec.from,
        clusterId: this.clusterId,
      },
      bad,
    );
  }

  /** Why a HELLO must be refused, or null. */
  private checkHello(c: Connection, rec: HandshakeRecord): TransportError | null {
    const E = TransportErrorCode;
    if (rec.kind !== HandshakeKind.Hello) {
      return new TransportError(E.BadHandshake, `expected HELLO, got kind ${rec.kind}`);
    }
    if (rec.version !== PROTOCOL_VERSION) {
      const msg = `peer speaks protocol ${rec.version}, we speak ${PROTOCOL_VERSION}`;
      return new TransportError(E.VersionMismatch, msg);
    }
    if (rec.clusterId !== this.clusterId) {
      const msg = `peer is in cluster "${rec.clusterId}", we are in "${this.clusterId}"`;
      return new TransportError(E.ClusterMismatch, msg);
    }
    if (rec.to !== this.id) {
      return new TransportError(E.WrongNode, `peer meant node ${rec.to}, we are ${this.id}`);
    }
    // Before the peer table is consulted: an impostor must not learn whether the id it claims
    // is removed, nor be added as an unknown peer.
    const impostor = this.checkIdentity(c.socket, rec.from);
    if (impostor !== null) return impostor;
    if (this.removed.has(rec.from)) {
      return new TransportError(E.Removed, `node ${rec.from} was removed from the cluster`);
    }
    if (!this.peers.has(rec.from)) {
      if (this.options.acceptUnknownPeers === true && isNodeId(rec.from) && rec.from !== this.id) {
        this.logger.info({ peer: rec.from }, 'raft-transport-tcp: accepting unknown peer');
        this.peers.set(rec.from, new Peer(this.host, rec.from, ''));
        return null;
      }
      return new TransportError(E.UnknownNode, `node ${rec.from} is not a peer`);
    }
    return null;
  }

  /** With tls.nodeName: why the certificate on `socket` may not speak for node `id`, or null. */
  private checkIdentity(socket: net.Socket, id: NodeId): TransportError | null {
    const nodeName = this.options.tls?.nodeName;
    return nodeName === undefined ? null : checkPeerIdentity(socket, id, nodeName);
  }

  private countRejected(code: TransportErrorCode): void {
    this.inbound.rejected[code] = (this.inbound.rejected[code] ?? 0) + 1;
  }

  // ---- dialing and callbacks -------------------------------------------------------------

  private dial(addr: string): { socket: net.Socket; readyEvent: 'connect' | 'secureConnect' } {
    const { host, port } = parseAddress(addr);
    const t = this.options.tls;
    if (t === undefined)
      return { socket: net.connect({ host, port, noDelay: true }), readyEvent: 'connect' };
    const check = t.checkServerIdentity;
    const socket = tls.connect({
      host,
      port,
      key: t.key,
      cert: t.cert,
      ca: t.ca,
      ...(t.passphrase !== undefined ? { passphrase: t.passphrase } : {}),
      ...(net.isIP(host) === 0 ? { servername: host } : {}),
      ...(check === false
        ? { checkServerIdentity: () => undefined }
        : check !== undefined
          ? { checkServerIdentity: check }
          : {}),
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    });
    return { socket, readyEvent: 'secureConnect' };
  }

  private deliver(m: Message, group: number): boolean {
    if (this.stopped) return false;
    try {
      this.options.onMessage(m, group);
      return true;
    } catch (err) {
      this.logger.error(
        { err: (err as Error)?.message, from: m.from, type: MessageType[m.type] },
        'raft-transport-tcp: onMessage threw',
      );
      return false;
    }
  }

  /** Coalesced per peer and deferred: never called back from inside send(). */
  private queueUnreachable(peer: NodeId): void {
    if (this.options.onUnreachable === undefined) return;
    this.unreachable.add(peer);
    if (this.unreachableQueued) return;
    this.unreachableQueued = true;
    queueMicrotask(() => {
      this.unreachableQueued = false;
      const ids = [...this.unreachable];
      this.unreachable.clear();
      if (this.stopped) return;
      for (const id of ids) this.safeCall(() => this.options.onUnreachable?.(id));
    });
  }

  private queueRemoved(peer: NodeId): void {
    if (this.options.onRemoved === undefined) return;
    queueMicrotask(() => {
      if (!this.stopped) this.safeCall(() => this.options.onRemoved?.(peer));
    });
  }

  private queueSnapshotStatus(peer: NodeId, status: SnapshotStatus, group: number): void {
    if (this.options.onSnapshotStatus === undefined) return;
    queueMicrotask(() => {
      if (!this.stopped) this.safeCall(() => this.options.onSnapshotStatus?.(peer, status, group));
    });
  }

  private safeCall(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.logger.error({ err: (err as Error)?.message }, 'raft-transport-tcp: callback threw');
    }
  }
}
