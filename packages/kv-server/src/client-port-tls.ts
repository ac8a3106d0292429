// The client port under the client TLS flags, as etcd serves it: TLS with ALPN. A client that
// negotiates h2 (gRPC clients offer only h2) speaks etcd's v3 gRPC API; one that negotiates
// http/1.1 or no protocol (curl, fetch, node:https) the HTTP/1.1 JSON API. The server prefers
// http/1.1, so a client that offers both gets the JSON API, which is what such a client wants.
import type http from 'node:http';
import tls from 'node:tls';
import type { ClientTls } from './config.js';
import type { EtcdGrpcServer } from './grpc/server.js';

export class TlsClientPort extends tls.Server {
  constructor(t: ClientTls, http1: http.Server, grpc: EtcdGrpcServer) {
    super({
      cert: t.cert,
      key: t.key,
      ...(t.ca === undefined ? {} : { ca: t.ca }),
      requestCert: t.clientCertAuth,
      rejectUnauthorized: t.clientCertAuth,
      ALPNProtocols: ['http/1.1', 'h2'],
      // A connection that never completes its handshake does not hold a stop for long.
      handshakeTimeout: 10_000,
    });
    this.on('secureConnection', (socket: tls.TLSSocket) => {
      if (socket.alpnProtocol === 'h2') grpc.inject(socket);
      else http1.emit('connection', socket);
    });
    this.on('tlsClientError', () => {}); // a refused client: its handshake failed
    // node:http tracks its connections from its own 'listening' event (client-port.ts).
    this.once('listening', () => http1.emit('listening'));
  }
}
