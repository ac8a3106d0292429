// Test helpers: transports on 127.0.0.1 with ephemeral ports, message factories, bounded waits.
import net from 'node:net';
import {
  type Logger,
  type Message,
  MessageType,
  type NodeId,
  newEntry,
  newMessage,
} from '@tsraft/raft-core';
import {
  HandshakeKind,
  type HandshakeRecord,
  HandshakeReader,
  PROTOCOL_VERSION,
  encodeHandshake,
} from '../src/handshake.js';
import { TcpTransport, type TcpTransportOptions } from '../src/index.js';

export interface Node {
  id: NodeId;
  t: TcpTransport;
  got: Message[];
  unreachable: NodeId[];
  snapStatus: [NodeId, string][];
  opts: Partial<TcpTransportOptions>;
}

export const CLUSTER = 'test-cluster';

/** Fast reconnects so tests do not wait on default backoff. */
export const FAST: Partial<TcpTransportOptions> = {
  backoff: { initialInterval: 5, maxInterval: 50, multiplier: 2, jitter: 0.2 },
  breaker: { failureThreshold: 1000, resetTimeout: 50 },
  handshakeTimeout: 2000,
};

export function makeNode(id: NodeId, opts: Partial<TcpTransportOptions> = {}): Node {
  const node: Node = { id, got: [], unreachable: [], snapStatus: [], opts, t: undefined as never };
  node.t = new TcpTransport({
    id,
    clusterId: CLUSTER,
    listen: '127.0.0.1:0',
    onMessage: (m) => node.got.push(m),
    onUnreachable: (p) => node.unreachable.push(p),
    onSnapshotStatus: (p, s) => node.snapStatus.push([p, s]),
    ...FAST,
    ...opts,
  });
  return node;
}

/** Starts `ids.length` transports and makes each a peer of every other. */
export async function cluster(
  ids: NodeId[],
  opts: (id: NodeId) => Partial<TcpTransportOptions> = () => ({}),
): Promise<Node[]> {
  const nodes = ids.map((id) => makeNode(id, opts(id)));
  await Promise.all(nodes.map((n) => n.t.start()));
  for (const a of nodes) for (const b of nodes) if (a !== b) a.t.addPeer(b.id, b.t.addr!);
  return nodes;
}

export async function stopAll(nodes: Node[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.t.stop()));
}

/** Polls `cond` every few ms; fails after `timeout` ms with `what`. */
export async function waitFor(cond: () => boolean, what: string, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function app(from: NodeId, to: NodeId, index: number, size = 16): Message {
  const data = new Uint8Array(size);
  data.fill(index & 0xff);
  return newMessage({
    type: MessageType.MsgApp,
    from,
    to,
    term: 1,
    index,
    logTerm: 1,
    commit: index,
    entries: [newEntry({ term: 1, index: index + 1, data })],
  });
}

export function heartbeat(from: NodeId, to: NodeId, commit: number): Message {
  return newMessage({ type: MessageType.MsgHeartbeat, from, to, term: 1, commit });
}

export function connected(n: Node, peer: NodeId): boolean {
  return n.t.stats().peers.find((p) => p.id === peer)?.connection === 'connected';
}

export function peerStats(n: Node, peer: NodeId) {
  const s = n.t.stats().peers.find((p) => p.id === peer);
  if (s === undefined) throw new Error(`no peer ${peer}`);
  return s;
}

/** A small seeded PRNG (mulberry32), so fuzz failures replay. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** A Logger that keeps every line, for asserting that a reason was logged. */
export function captureLogger(): Logger & { lines: LogLine[]; codes(): unknown[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (obj: unknown, msg?: string): void => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  return {
    lines,
    codes: () => lines.map((l) => l.obj.code).filter((c) => c !== undefined),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}

/** A hand-driven client socket: sends a handshake record, reads the answer. */
export class RawPeer {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  constructor(addr: string) {
    const [host, port] = addr.split(':') as [string, string];
    this.socket = net.connect({ host, port: Number(port) });
    this.socket.on('error', () => {});
    this.socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
  }

  hello(fields: Partial<Omit<HandshakeRecord, 'version'>> = {}, version = PROTOCOL_VERSION): void {
    this.socket.write(
      encodeHandshake(
        { kind: HandshakeKind.Hello, reason: 0, from: 3, to: 1, clusterId: CLUSTER, ...fields },
        version,
      ),
    );
  }

  /** The answer record, or null if the socket closed without one. */
  async reply(timeout = 3000): Promise<HandshakeRecord | null> {
    const deadline = Date.now() + timeout;
    let closed = false;
    void this.closed.then(() => {
      closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    for (;;) {
      if (this.buf.length > 0) {
        const got = new HandshakeReader().push(this.buf);
        if (got !== null) {
          this.buf = Buffer.from(got.rest);
          return got.record;
        }
      }
      if (closed || this.socket.destroyed) return null;
      if (Date.now() > deadline) throw new Error('no handshake reply');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
    }
  }

  /** Writes one frame: [u32 length][kind][body]. */
  frame(kind: number, body: Uint8Array): void {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(body.length + 1, 0);
    head[4] = kind;
    this.socket.write(Buffer.concat([head, body]));
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Bytes received after the handshake reply. */
  get received(): Buffer {
    return this.buf;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A port nobody listens on (bound and released; good enough on a test machine). */
export async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
