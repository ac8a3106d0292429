// The client port serves two protocols on one address, as etcd's does: a connection that
// opens with the HTTP/2 preface ("PRI * HTTP/2.0…", which no HTTP/1 method starts with) is
// etcd's v3 gRPC API; any other is the HTTP/1.1 JSON API. The first bytes are read, put
// back, and the socket handed to the server that speaks them. node:http2 reads a net.Socket
// from its native handle, past bytes put back in the stream: it gets the socket wrapped in a
// stream that replays them (replaying).
import net from 'node:net';
import { Duplex } from 'node:stream';
import type http from 'node:http';
import type { EtcdGrpcServer } from './grpc/server.js';

const PREFACE = Buffer.from('PRI');

/**
 * The client port's listener. Its close() also ends the connections that have not yet said
 * which protocol they speak (those handed on are the HTTP and gRPC servers' to close).
 */
export class ClientPort extends net.Server {
  private readonly sniffing = new Set<net.Socket>();

  constructor(http1: http.Server, grpc: EtcdGrpcServer) {
    super({ noDelay: true });
    this.on('connection', (socket: net.Socket) => this.sniff(socket, http1, grpc));
    // node:http tracks its connections (closeIdleConnections, closeAllConnections, the
    // headers and request timeouts) from its own 'listening' event; it never listens here.
    this.once('listening', () => http1.emit('listening'));
  }

  override close(callback?: (err?: Error) => void): this {
    super.close(callback);
    for (const s of this.sniffing) s.destroy();
    return this;
  }

  private sniff(socket: net.Socket, http1: http.Server, grpc: EtcdGrpcServer): void {
    this.sniffing.add(socket);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, PREFACE.length);
      if (head.length < PREFACE.length && head.subarray(0, n).equals(PREFACE.subarray(0, n))) {
        return; // too short to tell yet
      }
      this.sniffing.delete(socket);
      socket.off('data', onData);
      socket.pause();
      if (head.subarray(0, PREFACE.length).equals(PREFACE)) {
        grpc.inject(replaying(socket, head));
      } else {
        socket.unshift(head);
        http1.emit('connection', socket);
        socket.resume(); // the HTTP/1 parser reads through the stream: let it flow again
      }
    };
    socket.on('data', onData);
    socket.on('close', () => this.sniffing.delete(socket));
    socket.on('error', () => {}); // a client gone before it said anything
  }
}

export function createClientPort(http1: http.Server, grpc: EtcdGrpcServer): ClientPort {
  return new ClientPort(http1, grpc);
}

/** `socket` as a Duplex that first yields `head`, then what the socket reads. */
function replaying(socket: net.Socket, head: Buffer): Duplex {
  const d = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk, encoding, cb) {
      socket.write(chunk, encoding, cb);
    },
    final(cb) {
      socket.end(cb);
    },
    destroy(err, cb) {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  d.push(head);
  socket.on('data', (chunk: Buffer) => {
    if (!d.push(chunk)) socket.pause();
  });
  socket.on('end', () => d.push(null));
  socket.on('close', () => d.destroy());
  socket.on('error', (err) => d.destroy(err));
  return d;
}
