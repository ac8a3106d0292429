// Everything about one peer: its send queue, its single connection (dialed by us or accepted
// from it), the dial/backoff/breaker cycle, snapshot streams in both directions, and counters.
//
// Connection rules (see README, "One connection per pair"):
// - We keep the peer connected: dial at start, and redial after a loss with backoff.
// - A HELLO from the peer while we are dialing it: the dial of the lower node id wins, so the
//   higher id drops its own dial, the lower id refuses the HELLO with DUPLICATE.
// - A HELLO from the peer while a connection is open: if the peer had dialed that one, the peer
//   has given it up (it only dials when it has none), so the new one replaces it; if we had
//   dialed it, it is refused with DUPLICATE and our connection is pinged: a stale one fails
//   (no Pong within handshakeTimeout, or a reset) and we redial.
import type { Socket } from 'node:net';
import {
  type Logger,
  type Message,
  MessageType,
  type NodeId,
  encodedMessageSize,
  isLocalMsg,
  isLocalMsgTarget,
} from '@tsraft/raft-core';
import { Backoff } from './backoff.js';
import { type BreakerState, CircuitBreaker } from './breaker.js';
import { Connection, type Direction } from './connection.js';
import { TransportError, TransportErrorCode, rejectReasonCode } from './errors.js';
import { FRAME_HEADER, FrameBatch, FrameKind } from './framing.js';
import { HandshakeKind, type HandshakeRecord, PROTOCOL_VERSION } from './handshake.js';
import { type Limits, type TcpTransportOptions, isNodeId } from './options.js';
import { GROUP_ID_BYTES, Lane, SendQueue, laneOf } from './queue.js';
import {
  IncomingSnapshot,
  OutgoingSnapshot,
  SnapAckStatus,
  type SnapshotStatus,
  type SnapshotSink,
  type SnapshotStreams,
  decodeFrameMessage,
  decodeSnapAck,
  encodeSnapAck,
  readGroupId,
} from './snapshot.js';

export type ConnectionState = 'disconnected' | 'connecting' | 'connected';

export interface PeerStats {
  id: NodeId;
  addr: string;
  connection: ConnectionState;
  /** Who dialed the open connection. */
  direction: Direction | null;
  breaker: BreakerState;
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  queuedMessages: number;
  queuedBytes: number;
  dropped: {
    /** The lane was full. */
    queueFull: number;
    /** The breaker was open (including messages discarded from the queue when it opened). */
    unreachable: number;
    /** Encoded larger than maxFrameSize. */
    tooLarge: number;
    /** Could not be encoded, or a local message type. */
    invalid: number;
  };
  snapshots: { sent: number; failed: number; received: number };
  /** Handshakes completed, either direction. */
  connects: number;
  /** Dials that failed (refused, timed out, rejected). */
  connectFailures: number;
  /** Connections closed because the peer sent malformed input. */
  malformed: number;
  lastError: TransportErrorCode | null;
}

/** What a Peer needs from its transport. */
export interface PeerHost {
  readonly id: NodeId;
  readonly clusterId: string;
  readonly limits: Limits;
  readonly logger: Logger;
  readonly options: TcpTransportOptions;
  dial(addr: string): { socket: Socket; readyEvent: 'connect' | 'secureConnect' };
  /** Hands a message of raft group `group` to onMessage; false if it threw. */
  deliver(m: Message, group: number): boolean;
  reportUnreachable(peer: NodeId): void;
  reportSnapshot(peer: NodeId, status: SnapshotStatus, group: number): void;
  /** The peer refused us with REMOVED: this node is no longer a member. */
  reportRemoved(peer: NodeId): void;
  /** Where snapshot data comes from and goes to; `inline` when it is snapshot.data itself. */
  readonly snapshots: SnapshotStreams;
  readonly inlineSnapshots: boolean;
  /** With tls.nodeName: why the certificate on `socket` may not speak for `id`, or null. */
  checkIdentity(socket: Socket, id: NodeId): TransportError | null;
  /** Started and not stopped: dials are allowed. */
  running(): boolean;
}

const EMPTY = Buffer.alloc(0);

/**
 * Bytes of a batch snapshot frames may fill (appends: maxBatchBytes). Written at once to a
 * local socket this is well under a millisecond, so heartbeats behind it do not wait long.
 */
const SNAPSHOT_BATCH_BYTES = 1 << 20;

/**
 * Credit below a quarter of our window rides on the next batch to the peer (a follower's
 * append response, usually a few ms later) instead of costing a socket write, and a wake-up of
 * the peer, of its own; it waits at most CREDIT_DELAY_MS, so a peer whose window is smaller
 * than ours is slowed, never stalled.
 */
const CREDIT_DELAY_MS = 5;

/** Groups whose snapshot may wait for the stream in flight; more fail at once (raft retries). */
const MAX_WAITING_SNAPSHOTS = 64;

const MALFORMED = new Set<TransportErrorCode>([
  TransportErrorCode.BadMagic,
  TransportErrorCode.BadHandshake,
  TransportErrorCode.FrameTooLarge,
  TransportErrorCode.BadFrame,
  TransportErrorCode.Codec,
  TransportErrorCode.BadMessage,
  TransportErrorCode.Truncated,
  TransportErrorCode.SnapshotTooLarge,
]);

export function isMalformed(code: TransportErrorCode): boolean {
  return MALFORMED.has(code);
}

export class Peer {
  /** The open connection (handshake done), or null. */
  private conn: Connection | null = null;
  /** Our dial in progress (socket connecting or handshake pending), or null. */
  private dialing: Connection | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  private readonly queue: SendQueue;
  private readonly batch = new FrameBatch();
  private flushQueued = false;
  private immediate: NodeJS.Immediate | null = null;
  private creditTimer: NodeJS.Timeout | null = null;
  private readonly creditFn = (): void => {
    this.creditTimer = null;
    if (this.creditOwed > 0 && this.conn !== null) this.scheduleFlush();
  };
  private readonly flushFn = (): void => this.flush();
  private readonly immediateFn = (): void => {
    this.immediate = null;
    this.flush();
  };

  private readonly backoff: Backoff;
  private readonly breaker: CircuitBreaker;

  private snapOut: OutgoingSnapshot | null = null;
  /**
   * MsgSnaps of other raft groups waiting for the stream in flight to end, by group, in
   * arrival order: many groups share this peer, and a host back after a while may need a
   * snapshot for many of them.
   */
  private readonly snapWaiting = new Map<number, Message>();
  /** Whose turn it is to go first in the next batch: the snapshot's or the appends'. */
  private snapFirst = false;
  private nextStreamId = 1;
  private snapIn: IncomingSnapshot | null = null;
  private readonly acks: Buffer[] = [];
  /** Ping and Pong frames to send with the next batch. */
  private readonly control: FrameKind[] = [];
  private pingTimer: NodeJS.Timeout | null = null;

  // Flow control (see README, "Flow control"): bytes of bulk frames (appends, proposals,
  // snapshot frames) we sent that the peer has not yet credited back, and bytes of such frames
  // we consumed and owe the peer credit for. Invariant: 0 <= inflight, and the peer's creditOwed
  // plus the Window frames on the wire add up to our inflight. Reset with each connection.
  private inflight = 0;
  private creditOwed = 0;

  private readonly s: Omit<PeerStats, 'id' | 'addr' | 'connection' | 'direction' | 'breaker'>;

  constructor(
    private readonly host: PeerHost,
    readonly id: NodeId,
    public addr: string,
  ) {
    const { limits, options } = host;
    this.queue = new SendQueue(limits.maxControlQueueBytes, limits.maxQueueBytes);
    this.backoff = new Backoff({ ...options.backoff, random: options.random ?? Math.random });
    this.breaker = new CircuitBreaker({
      ...options.breaker,
      now: options.now ?? Date.now,
      onStateChange: (to, from) => this.onBreakerChange(to, from),
    });
    this.s = {
      bytesSent: 0,
      bytesReceived: 0,
      messagesSent: 0,
      messagesReceived: 0,
      queuedMessages: 0,
      queuedBytes: 0,
      dropped: { queueFull: 0, unreachable: 0, tooLarge: 0, invalid: 0 },
      snapshots: { sent: 0, failed: 0, received: 0 },
      connects: 0,
      connectFailures: 0,
      malformed: 0,
      lastError: null,
    };
  }

  stats(): PeerStats {
    const c = this.conn;
    return {
      id: this.id,
      addr: this.addr,
      connection: c !== null ? 'connected' : this.dialing !== null ? 'connecting' : 'disconnected',
      direction: c?.direction ?? null,
      breaker: this.breaker.state,
      ...this.s,
      queuedMessages: this.queue.length,
      queuedBytes: this.queue.bytes,
      dropped: { ...this.s.dropped },
      snapshots: { ...this.s.snapshots },
    };
  }

  /** Open sockets this peer owns (for tests and stats). */
  get sockets(): number {
    return (this.conn !== null ? 1 : 0) + (this.dialing !== null ? 1 : 0);
  }

  // ---- sending ---------------------------------------------------------------------------

  /** Queues `m` of raft group `group` (0: the transport's only group, as before v3). */
  send(m: Message, group = 0): void {
    if (this.closed) return;
    if (m.type === MessageType.MsgSnap) {
      this.sendSnapshot(m, group);
      return;
    }
    if (this.breaker.state === 'open') {
      this.s.dropped.unreachable++;
      this.host.reportUnreachable(this.id);
      return;
    }
    if (isLocalMsg(m.type)) {
      this.dropInvalid(m, 'local message type');
      return;
    }
    // Sized (and validated) first, then encoded straight into the queue's slab.
    let size: number;
    try {
      size = encodedMessageSize(m);
    } catch (err) {
      this.dropInvalid(m, (err as Error).message);
      return;
    }
    if (size + 1 + (group === 0 ? 0 : GROUP_ID_BYTES) > this.host.limits.maxFrameSize) {
      this.s.dropped.tooLarge++;
      this.host.logger.warn(
        { peer: this.id, type: MessageType[m.type], bytes: size },
        'raft-transport-tcp: message larger than maxFrameSize dropped',
      );
      return;
    }
    if (!this.queue.pushMessage(laneOf(m.type), m, size, group)) {
      this.s.dropped.queueFull++;
      // As etcd's rafthttp does: a lost append makes the leader probe the peer again.
      if (m.type === MessageType.MsgApp) this.host.reportUnreachable(this.id);
      return;
    }
    if (this.conn !== null) this.scheduleFlush();
    else this.connect();
  }

  private dropInvalid(m: Message, why: string): void {
    this.s.dropped.invalid++;
    this.host.logger.warn(
      { peer: this.id, type: MessageType[m.type] ?? m.type, why },
      'raft-transport-tcp: message not sendable, dropped',
    );
  }

  private sendSnapshot(m: Message, group: number): void {
    if (m.snapshot === null || m.to !== this.id) {
      this.dropInvalid(m, 'MsgSnap without a snapshot');
      this.failSnapshot(group);
      return;
    }
    const busy = this.snapOut !== null;
    if (
      busy &&
      this.breaker.state !== 'open' &&
      this.snapOut!.group !== group &&
      !this.snapWaiting.has(group) &&
      this.snapWaiting.size < MAX_WAITING_SNAPSHOTS
    ) {
      // Another group's stream is in flight: this one goes next (one stream at a time).
      this.snapWaiting.set(group, m);
      return;
    }
    if (this.breaker.state === 'open' || busy) {
      // Raft retries after the failure report.
      if (this.breaker.state === 'open') this.s.dropped.unreachable++;
      this.host.logger.debug({ peer: this.id, busy }, 'raft-transport-tcp: snapshot not sent');
      this.failSnapshot(group);
      return;
    }
    try {
      this.snapOut = new OutgoingSnapshot(
        this.nextStreamId++ >>> 0,
        m,
        this.host.limits.snapshotChunkSize,
        this.host.snapshots,
        this.host.inlineSnapshots,
        () => this.scheduleFlush(),
        group,
      );
    } catch (err) {
      this.dropInvalid(m, (err as Error).message);
      this.failSnapshot(group);
      return;
    }
    if (this.snapOut.headerBytes + 13 + GROUP_ID_BYTES > this.host.limits.maxFrameSize) {
      this.snapOut = null;
      this.s.dropped.tooLarge++;
      this.failSnapshot(group);
      return;
    }
    if (this.conn !== null) this.scheduleFlush();
    else this.connect();
  }

  /**
   * The snapshot in flight, if any, will not be delivered, nor those waiting: raft hears of
   * each as a failure (and sends its newest once the peer answers again).
   */
  private abandonSnapshot(): void {
    const out = this.snapOut;
    if (out !== null) {
      out.close();
      this.snapOut = null;
      this.failSnapshot(out.group);
    }
    const waiting = [...this.snapWaiting.keys()];
    this.snapWaiting.clear();
    for (const g of waiting) this.failSnapshot(g);
  }

  /** The stream in flight ended: the next group's waiting snapshot starts. */
  private startNextSnapshot(): void {
    while (this.snapOut === null && this.snapWaiting.size > 0) {
      const [group, m] = this.snapWaiting.entries().next().value as [number, Message];
      this.snapWaiting.delete(group);
      this.sendSnapshot(m, group);
    }
  }

  private failSnapshot(group: number): void {
    this.s.snapshots.failed++;
    this.host.reportSnapshot(this.id, 'failure', group);
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    // Everything sent in the current turn of the event loop goes out in one write.
    queueMicrotask(this.flushFn);
  }

  /**
   * Writes one batch: transport frames (snapshot acks, window credit), the whole control lane,
   * then appends and at most one snapshot frame within both maxBatchBytes and the room left in
   * the send window.
   */
  private flush(): void {
    this.flushQueued = false;
    const c = this.conn;
    if (c === null || c.needsDrain) return; // onDrain calls us again
    const batch = this.batch;
    const limits = this.host.limits;
    for (const ack of this.acks) batch.add(FrameKind.SnapAck, null, ack);
    this.acks.length = 0;
    for (const kind of this.control) batch.add(kind, null, EMPTY);
    this.control.length = 0;
    if (this.creditOwed > 0) {
      const n = Math.min(this.creditOwed, 0xffffffff);
      const b = Buffer.allocUnsafe(4);
      b.writeUInt32BE(n, 0);
      batch.add(FrameKind.Window, null, b);
      this.creditOwed -= n;
    }
    let sent = this.queue.fillControl(batch);
    const before = batch.bytes;
    const room = Math.min(limits.maxBatchBytes, limits.sendWindow - this.inflight);
    const snap = this.snapOut;
    if (room > 0) {
      const snapPending = snap?.ready === true;
      // When both appends and a snapshot wait, they take turns going first, so neither starves.
      if (snapPending && (this.snapFirst || this.queue.bulkLength === 0)) {
        snap.addNextFrame(batch);
        sent += this.queue.fillBulk(batch, room - (batch.bytes - before));
      } else {
        sent += this.queue.fillBulk(batch, room);
        if (snapPending && batch.bytes - before < room) snap.addNextFrame(batch);
      }
      // More snapshot frames already read from the source, up to SNAPSHOT_BATCH_BYTES, so a
      // stream is not held to one frame per write.
      const snapRoom = Math.min(limits.sendWindow - this.inflight, SNAPSHOT_BATCH_BYTES);
      while (snap?.ready === true && batch.bytes - before < snapRoom) {
        snap.addNextFrame(batch);
      }
      this.snapFirst = !this.snapFirst;
    }
    if (batch.count === 0) return;
    this.inflight += batch.bytes - before;
    this.s.bytesSent += batch.bytes;
    this.s.messagesSent += sent;
    c.write(batch.take());
    const more = this.queue.bulkLength > 0 || snap?.ready === true;
    if (more && this.inflight < limits.sendWindow && !c.needsDrain && this.immediate === null) {
      // Let reads and timers run between batches; the next batch starts with control messages.
      this.immediate = setImmediate(this.immediateFn);
    }
  }

  // ---- connecting ------------------------------------------------------------------------

  /** Dials unless connected, dialing, waiting for a retry, or held off by the breaker. */
  connect(): void {
    if (this.closed || this.conn !== null || this.dialing !== null || this.retryTimer !== null) {
      return;
    }
    if (!this.host.running()) return; // start() dials every peer
    if (this.addr === '') return; // accepted unknown peer: it dials us (acceptUnknownPeers)
    if (!this.breaker.tryAcquire()) {
      this.scheduleRetry(this.breaker.remaining());
      return;
    }
    let dialed: { socket: Socket; readyEvent: 'connect' | 'secureConnect' };
    try {
      dialed = this.host.dial(this.addr);
    } catch (err) {
      this.onDialFailed(
        new TransportError(TransportErrorCode.Socket, (err as Error).message, { cause: err }),
      );
      return;
    }
    const c = new Connection(dialed.socket, 'outbound', dialed.readyEvent, this.host.limits);
    this.dialing = c;
    c.onReady = () => {
      // An impostor answering at the peer's address hears nothing from us, not even our id.
      const impostor = this.host.checkIdentity(c.socket, this.id);
      if (impostor !== null) {
        c.close(impostor); // a failed dial, as a refused HELLO is (onClose below)
        return;
      }
      c.sendHandshake({
        kind: HandshakeKind.Hello,
        reason: 0,
        from: this.host.id,
        to: this.id,
        clusterId: this.host.clusterId,
      });
    };
    c.onHandshake = (rec) => this.onDialHandshake(c, rec);
    c.onClose = (err) => {
      if (this.dialing !== c) return; // we aborted it ourselves
      this.dialing = null;
      this.onDialFailed(err);
    };
  }

  private onDialHandshake(c: Connection, rec: HandshakeRecord): void {
    const bad = this.checkAccept(rec);
    if (bad !== null) {
      c.close(bad);
      return;
    }
    this.dialing = null;
    this.breaker.recordSuccess();
    this.backoff.reset();
    c.open();
    this.attach(c);
  }

  /** Why the acceptor's answer to our HELLO is not an ACCEPT we can use, or null. */
  private checkAccept(rec: HandshakeRecord): TransportError | null {
    const E = TransportErrorCode;
    if (rec.kind === HandshakeKind.Reject && rec.version !== PROTOCOL_VERSION) {
      // An older (or newer) peer: its record's first bytes keep their layout in every version.
      const msg = `peer ${this.id} at ${this.addr} speaks protocol ${rec.version}, we speak ${PROTOCOL_VERSION}: it refused us`;
      return new TransportError(E.VersionMismatch, msg);
    }
    if (rec.kind === HandshakeKind.Reject) {
      const code = rejectReasonCode(rec.reason);
      return new TransportError(code, `peer ${this.id} at ${this.addr} refused us: ${code}`);
    }
    if (rec.version !== PROTOCOL_VERSION) {
      const msg = `peer speaks protocol ${rec.version}, we speak ${PROTOCOL_VERSION}`;
      return new TransportError(E.VersionMismatch, msg);
    }
    if (rec.kind !== HandshakeKind.Accept) {
      return new TransportError(E.BadHandshake, `expected ACCEPT, got kind ${rec.kind}`);
    }
    if (rec.clusterId !== this.host.clusterId) {
      const msg = `peer is in cluster "${rec.clusterId}", we are in "${this.host.clusterId}"`;
      return new TransportError(E.ClusterMismatch, msg);
    }
    if (rec.from !== this.id || rec.to !== this.host.id) {
      const msg = `node ${rec.from} answered at ${this.addr}, expected node ${this.id}`;
      return new TransportError(E.WrongNode, msg);
    }
    return null;
  }

  private onDialFailed(err: TransportError): void {
    if (this.closed) return;
    if (err.code === TransportErrorCode.Duplicate) {
      // The peer has a dial of its own that wins; not a failure. Retry in case that one fails.
      this.host.logger.debug({ peer: this.id }, 'raft-transport-tcp: simultaneous dial, yielding');
      this.breaker.release();
      this.scheduleRetry(this.backoff.next());
      return;
    }
    this.s.connectFailures++;
    this.s.lastError = err.code;
    if (err.code === TransportErrorCode.Removed) this.host.reportRemoved(this.id);
    if (isMalformed(err.code)) this.s.malformed++;
    const level = this.s.connectFailures === 1 || !isQuiet(err.code) ? 'warn' : 'debug';
    this.host.logger[level](
      { peer: this.id, addr: this.addr, code: err.code, err: err.message },
      'raft-transport-tcp: dial failed',
    );
    this.breaker.recordFailure();
    // A snapshot waiting for this dial is stale by the time a later one succeeds (the leader
    // compacts meanwhile): fail it now, and raft sends its newest once the peer answers again,
    // as rafthttp's single POST per snapshot does.
    this.abandonSnapshot();
    if (this.closed) return;
    const open = this.breaker.state === 'open';
    this.scheduleRetry(open ? this.breaker.remaining() : this.backoff.next());
  }

  private scheduleRetry(delay: number): void {
    if (this.closed || this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private onBreakerChange(to: BreakerState, from: BreakerState): void {
    this.host.logger[to === 'open' ? 'warn' : 'info'](
      { peer: this.id, from, to, failures: this.breaker.failures },
      'raft-transport-tcp: circuit breaker',
    );
    if (to !== 'open') return;
    // Unreachable: what waits for the peer is stale by the time it comes back.
    this.s.dropped.unreachable += this.queue.clear();
    this.abandonSnapshot();
    this.host.reportUnreachable(this.id);
  }

  /**
   * A HELLO from this peer reached our listener and passed the transport's checks. Returns
   * null when the connection is adopted, or the code it must be refused with.
   */
  acceptInbound(c: Connection): TransportErrorCode | null {
    if (this.closed) return TransportErrorCode.UnknownNode;
    const cur = this.conn;
    if (cur !== null) {
      if (cur.direction === 'outbound') {
        this.ping(cur);
        return TransportErrorCode.Duplicate;
      }
      cur.close(new TransportError(TransportErrorCode.Superseded, 'peer opened a new connection'));
    } else if (this.dialing !== null) {
      if (this.host.id < this.id) return TransportErrorCode.Duplicate;
      const d = this.dialing;
      this.dialing = null;
      d.close(new TransportError(TransportErrorCode.Duplicate, 'peer dialed us first'));
    }
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    this.breaker.recordSuccess();
    this.backoff.reset();
    c.open();
    this.attach(c);
    return null;
  }

  /**
   * Probes a connection the peer seems to have lost (it dialed us while we hold one we dialed):
   * without a Pong within handshakeTimeout it is closed, and we redial. A dead connection with
   * a live peer behind it usually fails at once (RST); the timeout covers a silent one.
   */
  private ping(c: Connection): void {
    if (this.pingTimer !== null) return;
    this.pingTimer = setTimeout(() => {
      this.pingTimer = null;
      if (this.conn !== c) return;
      c.close(
        new TransportError(TransportErrorCode.Socket, 'no answer to ping: connection is stale'),
      );
    }, this.host.limits.handshakeTimeout);
    this.pingTimer.unref();
    this.control.push(FrameKind.Ping);
    this.scheduleFlush();
  }

  private clearPing(): void {
    if (this.pingTimer !== null) clearTimeout(this.pingTimer);
    this.pingTimer = null;
  }

  private attach(c: Connection): void {
    this.conn = c;
    this.s.connects++;
    this.dropIncoming(new TransportError(TransportErrorCode.Socket, 'connection replaced'));
    this.inflight = 0;
    this.creditOwed = 0;
    this.control.length = 0;
    this.clearPing();
    c.onFrame = (kind, body) => this.onFrame(kind, body);
    c.onMessageFrame = (buf, start, end) => this.onMessageFrame(buf, start, end);
    c.onDrain = this.flushFn;
    c.onClose = (err) => this.onConnClosed(c, err);
    this.host.logger.info(
      { peer: this.id, direction: c.direction },
      'raft-transport-tcp: connected',
    );
    this.scheduleFlush();
  }

  private onConnClosed(c: Connection, err: TransportError): void {
    if (this.conn !== c) return;
    this.conn = null;
    this.dropIncoming(err);
    this.acks.length = 0;
    this.control.length = 0;
    this.clearPing();
    this.s.lastError = err.code;
    if (isMalformed(err.code)) this.s.malformed++;
    this.host.logger[isMalformed(err.code) ? 'warn' : 'info'](
      { peer: this.id, code: err.code, err: err.message },
      'raft-transport-tcp: connection closed',
    );
    this.abandonSnapshot();
    if (this.closed) return;
    this.scheduleRetry(this.backoff.next());
  }

  // ---- receiving -------------------------------------------------------------------------

  /** One frame from the open connection. Throws TransportError on bad input (closes it). */
  private onFrame(kind: FrameKind, body: Buffer): void {
    const size = body.length + FRAME_HEADER;
    this.s.bytesReceived += size;
    switch (kind) {
      case FrameKind.Message:
        this.receive(decodeFrameMessage(body), size, 0);
        return;
      case FrameKind.GroupMessage: {
        if (body.length < GROUP_ID_BYTES) {
          throw new TransportError(TransportErrorCode.BadFrame, 'short group message frame');
        }
        const group = readGroupId(body, 0);
        this.receive(decodeFrameMessage(body, GROUP_ID_BYTES), size, group);
        return;
      }
      case FrameKind.Window: {
        if (body.length !== 4)
          throw new TransportError(TransportErrorCode.BadFrame, 'bad window frame');
        this.inflight -= body.readUInt32BE(0);
        if (this.inflight < 0) {
          throw new TransportError(TransportErrorCode.BadFrame, 'window credit above bytes sent');
        }
        if (this.queue.bulkLength > 0 || this.snapOut !== null) this.scheduleFlush();
        return;
      }
      case FrameKind.SnapBegin:
      case FrameKind.GroupSnapBegin:
        this.credit(size);
        this.beginIncoming(body, kind === FrameKind.GroupSnapBegin);
        return;
      case FrameKind.SnapChunk: {
        const snap = this.incoming('chunk');
        // Credited once written: a slow sink holds the sender back instead of filling memory.
        const c = this.conn;
        snap.addChunk(body, () => {
          if (this.conn === c) this.credit(size);
        });
        return;
      }
      case FrameKind.SnapEnd: {
        const snap = this.incoming('end');
        this.credit(size);
        void this.finishIncoming(snap, body);
        return;
      }
      case FrameKind.SnapAck: {
        const { streamId, status } = decodeSnapAck(body);
        const out = this.snapOut;
        if (out === null || out.streamId !== streamId || !out.allSent) {
          throw new TransportError(
            TransportErrorCode.BadFrame,
            `unexpected snapshot ack ${streamId}`,
          );
        }
        this.snapOut = null;
        if (status === SnapAckStatus.Delivered) {
          this.s.snapshots.sent++;
          this.host.reportSnapshot(this.id, 'finish', out.group);
        } else {
          this.failSnapshot(out.group);
        }
        this.startNextSnapshot();
        return;
      }
      case FrameKind.Ping:
        this.control.push(FrameKind.Pong);
        this.scheduleFlush();
        return;
      case FrameKind.Pong:
        this.clearPing();
        return;
    }
  }

  /** A Message frame inside one socket chunk (the usual case): decoded without a view. */
  private onMessageFrame(buf: Buffer, start: number, end: number): void {
    const size = end - start + FRAME_HEADER;
    this.s.bytesReceived += size;
    this.receive(decodeFrameMessage(buf, start, end), size, 0);
  }

  private receive(m: Message, size: number, group: number): void {
    this.check(m);
    if (m.type === MessageType.MsgSnap) {
      throw new TransportError(TransportErrorCode.BadMessage, 'MsgSnap outside a stream');
    }
    this.s.messagesReceived++;
    this.host.deliver(m, group);
    if (laneOf(m.type) === Lane.Bulk) this.credit(size);
  }

  /** We consumed a bulk frame: the peer may send that many more bytes. */
  private credit(size: number): void {
    this.creditOwed += size;
    if (this.creditOwed >= this.host.limits.sendWindow >> 2) {
      this.scheduleFlush();
    } else if (this.creditTimer === null) {
      this.creditTimer = setTimeout(this.creditFn, CREDIT_DELAY_MS);
      this.creditTimer.unref();
    }
  }

  private beginIncoming(body: Buffer, grouped: boolean): void {
    if (this.snapIn !== null) {
      throw new TransportError(TransportErrorCode.BadFrame, 'snapshot stream already open');
    }
    const { streamId, group, message } = IncomingSnapshot.parseBegin(body, grouped);
    this.check(message);
    let sink: SnapshotSink;
    try {
      sink = this.host.snapshots.receive(message, group);
    } catch (err) {
      // Refused by the application: the chunks are read and discarded, the ack says failed.
      sink = discardingSink(err);
    }
    const max = this.host.limits.maxSnapshotSize;
    this.snapIn = IncomingSnapshot.open(streamId, message, sink, max, group);
  }

  private incoming(what: string): IncomingSnapshot {
    const snap = this.snapIn;
    if (snap === null) {
      throw new TransportError(TransportErrorCode.BadFrame, `snapshot ${what} without begin`);
    }
    return snap;
  }

  /**
   * The end frame: the stream is over for this connection at once (the next may begin);
   * once the sink has it all, the message is delivered and SnapAck answers on the same
   * connection if it is still open (else the sender reports a failure and raft retries).
   */
  private async finishIncoming(snap: IncomingSnapshot, body: Buffer): Promise<void> {
    this.snapIn = null;
    const c = this.conn;
    let m: Message | null;
    try {
      m = await snap.end(body);
    } catch (err) {
      snap.abort(err as TransportError);
      c?.close(err as TransportError);
      return;
    }
    let ok = false;
    if (m !== null) {
      this.s.snapshots.received++;
      this.s.messagesReceived++;
      ok = this.host.deliver(m, snap.group);
    } else {
      this.host.logger.warn(
        { peer: this.id, err: snap.reason?.message },
        'raft-transport-tcp: snapshot refused',
      );
    }
    if (this.conn !== c) return;
    this.acks.push(
      encodeSnapAck(snap.streamId, ok ? SnapAckStatus.Delivered : SnapAckStatus.Failed),
    );
    this.scheduleFlush();
  }

  private dropIncoming(reason: TransportError): void {
    this.snapIn?.abort(reason);
    this.snapIn = null;
  }

  /**
   * A message must come from this peer, be for us, and be one that travels between nodes. The
   * one exception is a relayed request (see isRelayedRequest): it names the node that asked.
   */
  private check(m: Message): void {
    if ((m.from !== this.id && !isRelayedRequest(m)) || m.to !== this.host.id) {
      throw new TransportError(
        TransportErrorCode.BadMessage,
        `message from ${m.from} to ${m.to} on the connection with ${this.id}`,
      );
    }
    if (isLocalMsg(m.type)) {
      throw new TransportError(
        TransportErrorCode.BadMessage,
        `local message ${MessageType[m.type]} on the wire`,
      );
    }
  }

  // ---- shutdown --------------------------------------------------------------------------

  /** Closes everything; with `report`, a snapshot in flight is reported as failed. */
  shutdown(err: TransportError, report: boolean): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    if (this.creditTimer !== null) clearTimeout(this.creditTimer);
    this.clearPing();
    this.retryTimer = null;
    this.immediate = null;
    this.queue.clear();
    const out = this.snapOut;
    if (out !== null) {
      out.close();
      this.snapOut = null;
      if (report) this.failSnapshot(out.group);
    }
    const waiting = [...this.snapWaiting.keys()];
    this.snapWaiting.clear();
    if (report) for (const g of waiting) this.failSnapshot(g);
    this.dropIncoming(err);
    const d = this.dialing;
    this.dialing = null;
    d?.close(err);
    const c = this.conn;
    c?.close(err);
    this.conn = null;
  }
}

/**
 * A proposal or read request forwarded on behalf of another node. As in etcd/raft, a follower
 * forwards them to its leader keeping the original `from` (the leader answers a read to
 * `m.from`), and a deposed leader re-forwards the ones its followers had sent it: such a message
 * arrives on the relaying peer's connection naming any member, ourselves included (a request we
 * forwarded earlier). Forwarded requests carry no term (raft never sets one on them), so a
 * message naming another sender with a term is still refused.
 */
function isRelayedRequest(m: Message): boolean {
  return (
    (m.type === MessageType.MsgProp || m.type === MessageType.MsgReadIndex) &&
    m.term === 0 &&
    isNodeId(m.from) &&
    !isLocalMsgTarget(m.from)
  );
}

/** A sink for a snapshot the application refused: the stream ends as failed. */
function discardingSink(cause: unknown): SnapshotSink {
  const err = cause instanceof Error ? cause : new Error(String(cause));
  return {
    write: () => Promise.reject(err),
    finish: () => Promise.reject(err),
    abort: () => {},
  };
}

/** Dial failures that repeat while a peer is down: logged at debug after the first. */
function isQuiet(code: TransportErrorCode): boolean {
  return (
    code === TransportErrorCode.Socket ||
    code === TransportErrorCode.HandshakeTimeout ||
    code === TransportErrorCode.Duplicate
  );
}
