// A fault-injecting TCP proxy for raft traffic on 127.0.0.1: one listener per node, which the
// other members dial instead of the node (its advertised peer address). The proxy reads the
// transport's HELLO to learn which pair a connection joins, forwards it, and can cut pairs:
// a cut connection becomes a black hole (bytes are swallowed both ways, nothing is closed),
// as a real partition looks, and a new connection across a cut is held silent the same way.
// On heal the black-holed sockets are destroyed so the transports redial.
import net from 'node:net';

const HELLO_FIXED = 25; // magic(4) version(2) kind(1) reason(1) from(8) to(8) idLen(1)

interface Link {
  from: number;
  to: number;
  a: net.Socket;
  b: net.Socket | null;
  holed: boolean;
}

export class PeerProxy {
  private readonly servers = new Map<number, net.Server>();
  private readonly links = new Set<Link>();
  private readonly cut = new Set<string>();
  /** Connections black-holed so far (for the summary). */
  holed = 0;

  /** Listens for node `id` on an ephemeral port of 127.0.0.1; returns "127.0.0.1:port". */
  async listen(id: number, target: () => number): Promise<string> {
    const server = net.createServer((sock) => this.accept(sock, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.servers.set(id, server);
    return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  }

  /** Cuts every pair between `group` and the other members. */
  isolate(group: readonly number[], all: readonly number[]): void {
    for (const a of group) for (const b of all) if (!group.includes(b)) this.cutPair(a, b);
  }

  cutPair(a: number, b: number): void {
    this.cut.add(pairKey(a, b));
    for (const l of this.links) if (pairKey(l.from, l.to) === pairKey(a, b)) this.hole(l);
  }

  heal(): void {
    this.cut.clear();
    for (const l of [...this.links]) {
      if (!l.holed) continue;
      l.a.destroy();
      l.b?.destroy();
      this.links.delete(l);
    }
  }

  async close(): Promise<void> {
    for (const l of this.links) {
      l.a.destroy();
      l.b?.destroy();
    }
    this.links.clear();
    await Promise.all(
      [...this.servers.values()].map((s) => new Promise<void>((r) => s.close(() => r()))),
    );
  }

  private accept(a: net.Socket, target: () => number): void {
    a.on('error', () => {});
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < HELLO_FIXED) return;
      a.off('data', onData);
      a.pause();
      const from = readId(head, 8);
      const to = readId(head, 16);
      const link: Link = { from, to, a, b: null, holed: false };
      this.links.add(link);
      a.once('close', () => {
        link.b?.destroy();
        this.links.delete(link);
      });
      if (this.cut.has(pairKey(from, to))) {
        this.hole(link);
        return;
      }
      const b = net.connect({ host: '127.0.0.1', port: target() });
      link.b = b;
      b.on('error', () => a.destroy());
      b.once('close', () => a.destroy());
      b.once('connect', () => {
        if (link.holed) return;
        b.write(head);
        a.pipe(b);
        b.pipe(a);
        a.resume();
      });
    };
    a.on('data', onData);
  }

  private hole(l: Link): void {
    if (l.holed) return;
    l.holed = true;
    this.holed++;
    l.a.unpipe();
    l.b?.unpipe();
    // Swallow whatever still arrives; keep both sockets open, silent.
    l.a.removeAllListeners('data');
    l.a.on('data', () => {});
    l.a.resume();
    if (l.b !== null) {
      l.b.removeAllListeners('data');
      l.b.on('data', () => {});
      l.b.resume();
      l.b.removeAllListeners('close');
      l.b.on('close', () => {});
    }
  }
}

function pairKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

function readId(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * 2 ** 32 + buf.readUInt32BE(offset + 4);
}
