// Unary calls served on node:http2 directly, streaming calls (Watch, LeaseKeepAlive, Snapshot)
// by grpc-js. For every call grpc-js builds an intercepting call, parses its metadata into a
// Metadata object, arms a deadline timer, runs a stream decoder and wires a dozen listeners:
// at 64 clients putting, that was most of the leader's gRPC cost per put. A unary call is one
// length-prefixed request message in, one response message and a status out (gRPC over
// HTTP/2, "PROTOCOL-HTTP2.md"), which is what this file speaks. The answers are the same
// handlers' (unary.ts), the messages the same proto-loader codecs, the errors etcd's.
//
// Not done here, as clients do it themselves: a server-side deadline timer (a client whose
// grpc-timeout passes cancels the stream; the answer is then dropped), and metadata (no
// unary method of etcd's reads any without auth).
import type http2 from 'node:http2';
import zlib from 'node:zlib';
import { type MethodDefinition, type Server, status } from '@grpc/grpc-js';
import { EtcdError } from './errors.js';
import type { Answer, Msg, UnaryHandler } from './unary.js';

/** grpc-js's default limit on a received message (grpc.max_receive_message_length). */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

interface DirectMethod {
  answer: UnaryHandler['answer'];
  decode: (b: Buffer) => Msg;
  encode: (m: Msg) => Buffer;
}

/** The unary methods of some services, by request path ("/etcdserverpb.KV/Put"). */
export class DirectUnaryMethods {
  private readonly byPath = new Map<string, DirectMethod>();

  /** Takes every unary method of `impl` that unary() made; the others stay with grpc-js. */
  add(definition: Record<string, MethodDefinition<Msg, Msg>>, impl: object): void {
    for (const [name, def] of Object.entries(definition)) {
      const handler = (impl as Record<string, Partial<UnaryHandler> | undefined>)[name];
      if (def.requestStream || def.responseStream || handler?.answer === undefined) continue;
      this.byPath.set(def.path, {
        answer: handler.answer,
        decode: def.requestDeserialize,
        encode: def.responseSerialize,
      });
    }
  }

  get(path: string | undefined): DirectMethod | undefined {
    return path === undefined ? undefined : this.byPath.get(path);
  }
}

/**
 * Puts `methods` in front of the HTTP/2 server behind grpc-js's connection injector (the last
 * one `server` created): their calls are served here, every other stream goes on to grpc-js.
 * grpc-js keeps the sessions (settings, keepalive, graceful and forced shutdown).
 */
export function serveUnaryDirectly(server: Server, methods: DirectUnaryMethods): void {
  const h2 = injectorHttp2Server(server);
  const [grpcJs] = h2.listeners('stream') as ((...a: unknown[]) => void)[];
  h2.removeAllListeners('stream');
  h2.on('stream', (stream, headers, ...rest) => {
    const m = methods.get(headers[':path']);
    if (m !== undefined && isGrpc(headers)) serveCall(stream, headers, m);
    else grpcJs?.call(h2, stream, headers, ...rest);
  });
}

/** The HTTP/2 server of grpc-js's last connection injector: grpc-js keeps it to itself. */
function injectorHttp2Server(server: Server): http2.Http2Server {
  const servers = (server as unknown as { http2Servers?: Map<unknown, unknown> }).http2Servers;
  const last = servers instanceof Map ? [...servers.keys()].at(-1) : undefined;
  if (!isH2Server(last)) {
    throw new Error('raft-kv: this @grpc/grpc-js keeps its HTTP/2 servers elsewhere');
  }
  if (last.listenerCount('stream') !== 1) {
    throw new Error('raft-kv: this @grpc/grpc-js handles HTTP/2 streams in another way');
  }
  return last;
}

function isH2Server(s: unknown): s is http2.Http2Server {
  return s !== null && typeof s === 'object' && 'listeners' in s && 'setTimeout' in s;
}

function isGrpc(headers: http2.IncomingHttpHeaders): boolean {
  return headers['content-type']?.startsWith('application/grpc') === true;
}

const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
};

function serveCall(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  method: DirectMethod,
): void {
  stream.on('error', () => {}); // a reset by the client: its 'close' follows
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_REQUEST_BYTES + 5) chunks.push(chunk);
  });
  stream.once('end', () => {
    let req: Msg;
    try {
      const encoding = headers['grpc-encoding'];
      req = method.decode(requestMessage(chunks, size, String(encoding ?? 'identity')));
    } catch (err) {
      respondError(stream, asEtcdError(err));
      return;
    }
    const a = method.answer(req);
    if (a instanceof Promise) a.then((r) => respond(stream, method, r));
    else respond(stream, method, a);
  });
}

/** The one message of a unary request's body: length-prefixed, maybe compressed. */
function requestMessage(chunks: Buffer[], size: number, encoding: string): Buffer {
  if (size > MAX_REQUEST_BYTES + 5) {
    throw new EtcdError(
      status.RESOURCE_EXHAUSTED,
      `Received message larger than max (${size - 5} vs. ${MAX_REQUEST_BYTES})`,
    );
  }
  const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
  if (body.length < 5 || body.readUInt32BE(1) !== body.length - 5) {
    throw new EtcdError(status.INTERNAL, 'raft-kv: a unary call carries exactly one message');
  }
  const message = body.subarray(5);
  if (body[0] === 0) return message;
  const opts = { maxOutputLength: MAX_REQUEST_BYTES };
  try {
    if (encoding === 'gzip') return zlib.gunzipSync(message, opts);
    if (encoding === 'deflate') return zlib.inflateSync(message, opts);
  } catch (err) {
    throw new EtcdError(status.INTERNAL, `raft-kv: bad ${encoding} message: ${String(err)}`);
  }
  throw new EtcdError(
    status.UNIMPLEMENTED,
    `Received message compressed with unsupported encoding "${encoding}"`,
  );
}

function asEtcdError(err: unknown): EtcdError {
  if (err instanceof EtcdError) return err;
  return new EtcdError(status.INTERNAL, `Error deserializing request: ${(err as Error).message}`);
}

function respond(stream: http2.ServerHttp2Stream, method: DirectMethod, a: Answer): void {
  if (stream.closed || stream.destroyed) return; // cancelled by the client meanwhile
  if (!a.ok) {
    respondError(stream, a.err);
    return;
  }
  let frame: Buffer;
  try {
    frame = lengthPrefixed(method.encode(a.res));
  } catch (err) {
    respondError(stream, new EtcdError(status.INTERNAL, `raft-kv: ${(err as Error).message}`));
    return;
  }
  stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS));
  stream.end(frame);
}

const OK_TRAILERS = { 'grpc-status': status.OK };

/** A trailers-only response: the status in the one HEADERS frame. */
function respondError(stream: http2.ServerHttp2Stream, err: EtcdError): void {
  stream.respond(
    {
      ...RESPONSE_HEADERS,
      'grpc-status': err.code,
      'grpc-message': encodeURI(err.details),
      ...err.metadata.toHttp2Headers(),
    },
    { endStream: true },
  );
}

function lengthPrefixed(message: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}
