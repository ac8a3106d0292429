// The client port serves two protocols on one address, as etcd's does: a connection that
// opens with the HTTP/2 preface ("PRI * HTTP/2.0…", which no HTTP/1 method starts with) is
// etcd's v3 gRPC API; any other is the HTTP/1.1 JSON API. The first bytes are read, put
// back, and the socket handed to the server that speaks them. Both take the net.Socket
// itself: node:http2 feeds the bytes put back to its native session before reading the
// handle; a JS Duplex around the socket would make it go through its JS stream wrapper
// (JSStreamSocket): a copy and several JS calls per read and write.
import net from 'node:net';
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
        socket.unshift(head);
        grpc.inject(socket);
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
