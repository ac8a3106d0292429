// One socket to one peer: the handshake record first, then frames. A Connection knows nothing
// about peers or queues; its owner (the Peer, or the transport until a HELLO has named the peer)
// sets the callbacks. Every way a connection can end funnels into close(err), which runs once,
// destroys the socket and reports a TransportError with a stable code.
import type { Socket } from 'node:net';
import type { NodeId } from '@tsraft/raft-core';
import { TransportError, TransportErrorCode } from './errors.js';
import { FrameDecoder, type FrameKind, type MessageRangeSink } from './framing.js';
import { type HandshakeRecord, HandshakeReader, encodeHandshake } from './handshake.js';

export type Direction = 'outbound' | 'inbound';
export type ConnectionPhase = 'connecting' | 'handshake' | 'open' | 'closed';

export interface ConnectionOptions {
  maxFrameSize: number;
  /** Milliseconds from socket creation to a finished handshake (TCP, TLS and ours). */
  handshakeTimeout: number;
  /** TCP keep-alive initial delay, ms; 0 leaves keep-alive off. */
  keepAlive: number;
}

const noop = (): void => {};

export class Connection {
  phase: ConnectionPhase;
  /** The remote node id, once a handshake record has named it (0 before). */
  peerId: NodeId = 0;
  /** Set once by close(). */
  error: TransportError | null = null;

  /** The socket is connected (and TLS-secured): time to send HELLO. Outbound only. */
  onReady: () => void = noop;
  onHandshake: (rec: HandshakeRecord) => void = noop;
  onFrame: (kind: FrameKind, body: Buffer) => void = noop;
  /** Message frames that lie whole in one socket chunk, when set (else they go to onFrame). */
  onMessageFrame: MessageRangeSink | undefined = undefined;
  onDrain: () => void = noop;
  onClose: (err: TransportError) => void = noop;

  private readonly reader = new HandshakeReader();
  private readonly decoder: FrameDecoder;
  private timer: NodeJS.Timeout | null;

  constructor(
    readonly socket: Socket,
    readonly direction: Direction,
    /** The event that says the socket is ready ('connect', 'secureConnect'), or null if it is. */
    readyEvent: 'connect' | 'secureConnect' | null,
    opts: ConnectionOptions,
  ) {
    this.decoder = new FrameDecoder(opts.maxFrameSize);
    this.phase = readyEvent === null ? 'handshake' : 'connecting';
    this.timer = setTimeout(() => {
      this.close(
        new TransportError(
          TransportErrorCode.HandshakeTimeout,
          `handshake not finished within ${opts.handshakeTimeout} ms`,
        ),
      );
    }, opts.handshakeTimeout);
    this.timer.unref();
    socket.setNoDelay(true);
    if (opts.keepAlive > 0) socket.setKeepAlive(true, opts.keepAlive);
    if (readyEvent !== null) {
      socket.once(readyEvent, () => {
        if (this.phase !== 'connecting') return;
        this.phase = 'handshake';
        this.onReady();
      });
    }
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      if (this.phase === 'open') this.onDrain();
    });
    // A TLS dial fails in TLS once TCP is connected and before it is secured (e.g. the server's
    // certificate is not from our CA: UNABLE_TO_GET_ISSUER_CERT_LOCALLY).
    let securing = false;
    if (readyEvent === 'secureConnect') socket.once('connect', () => (securing = true));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const tlsFailure =
        (securing && this.phase === 'connecting') ||
        err.code?.startsWith('ERR_SSL') ||
        err.code?.startsWith('ERR_TLS');
      const code = tlsFailure ? TransportErrorCode.Tls : TransportErrorCode.Socket;
      this.close(new TransportError(code, err.message, { cause: err }));
    });
    socket.on('end', () => this.onEnd());
    socket.on('close', () => {
      this.close(new TransportError(TransportErrorCode.Socket, 'connection closed'));
    });
  }

  get isOpen(): boolean {
    return this.phase === 'open';
  }

  /** Whether the socket's buffer is above its high-water mark (wait for onDrain). */
  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  sendHandshake(rec: Omit<HandshakeRecord, 'version'>): void {
    if (this.phase === 'closed') return;
    this.socket.write(encodeHandshake(rec));
  }

  /** The handshake succeeded: frames may flow. */
  open(): void {
    if (this.phase === 'closed') return;
    this.phase = 'open';
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** Writes buffers as one socket write (writev when there are several). */
  write(bufs: Buffer[]): void {
    if (this.phase !== 'open') return;
    const s = this.socket;
    if (bufs.length === 1) {
      s.write(bufs[0]!);
      return;
    }
    s.cork();
    for (let i = 0; i < bufs.length; i++) s.write(bufs[i]!);
    s.uncork();
  }

  /** Sends a final handshake record (REJECT) and closes with `err`. */
  reject(rec: Omit<HandshakeRecord, 'version'>, err: TransportError): void {
    if (this.phase === 'closed') return;
    const s = this.socket;
    this.finish(err);
    s.end(encodeHandshake(rec));
    // Do not wait forever for the other side to close its half.
    setTimeout(() => s.destroy(), 1000).unref();
  }

  /** Closes the connection (idempotent) and reports `err` to onClose once. */
  close(err: TransportError): void {
    if (this.phase === 'closed') return;
    this.finish(err);
    this.socket.destroy();
  }

  private finish(err: TransportError): void {
    this.phase = 'closed';
    this.error = err;
    this.decoder.halt();
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const onClose = this.onClose;
    this.onClose = noop;
    onClose(err);
  }

  private onData(chunk: Buffer): void {
    try {
      if (this.phase === 'open') {
        this.decoder.push(chunk, this.onFrame, this.onMessageFrame);
        return;
      }
      if (this.phase !== 'handshake') return;
      const got = this.reader.push(chunk);
      if (got === null) return;
      this.peerId = got.record.from;
      this.onHandshake(got.record);
      // The owner has now opened or closed us; frames that came with the record go on.
      if (this.isOpen && got.rest.length > 0) {
        this.decoder.push(got.rest, this.onFrame, this.onMessageFrame);
      }
    } catch (err) {
      this.close(
        err instanceof TransportError
          ? err
          : new TransportError(TransportErrorCode.BadFrame, String(err), { cause: err }),
      );
    }
  }

  private onEnd(): void {
    if (this.phase === 'open' && this.decoder.pending > 0) {
      this.close(
        new TransportError(
          TransportErrorCode.Truncated,
          `connection ended inside a frame (${this.decoder.pending} bytes pending)`,
        ),
      );
      return;
    }
    const during = this.phase === 'open' ? '' : ' during the handshake';
    this.close(new TransportError(TransportErrorCode.Socket, `connection closed by peer${during}`));
  }
}
