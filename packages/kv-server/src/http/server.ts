// The HTTP server: dispatches to the route families, turns every thrown error into the JSON
// error shape, and counts requests by route and status.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { ClientTls } from '../config.js';
import { secondsSince } from '../metrics/kv-metrics.js';
import type { ApiContext } from './context.js';
import { ErrorCode, HttpError, sendError } from './errors.js';
import { handleKv } from './kv-routes.js';
import { handleMembers } from './member-routes.js';
import { ApiRequest } from './request.js';
import { handleStatus } from './status-routes.js';

export function routeLabel(method: string, path: string): string {
  if (path === '/v1/kv' || path === '/v1/kv/') return 'kv_range';
  if (path.startsWith('/v1/kv/')) return method === 'POST' ? 'kv_cas' : 'kv';
  if (path.startsWith('/v1/members') || path.startsWith('/v1/leader')) return 'members';
  if (path === '/status' || path === '/health' || path === '/metrics') return path.slice(1);
  return 'other';
}

export async function handleRequest(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const t0 = process.hrtime.bigint();
  const r = new ApiRequest(req, res, ctx.options.requestTimeoutMs);
  const route = routeLabel(r.method, r.path);
  try {
    const handled =
      (await handleKv(ctx, r)) || (await handleMembers(ctx, r)) || (await handleStatus(ctx, r));
    if (!handled) throw new HttpError(404, ErrorCode.NotFound, `no route for ${r.path}`);
  } catch (err) {
    const e =
      err instanceof HttpError
        ? err
        : new HttpError(500, ErrorCode.Internal, (err as Error)?.message ?? String(err));
    if (e.status >= 500 && e.code === ErrorCode.Internal) {
      ctx.logger.error({ err, method: r.method, path: r.path }, 'request failed');
    }
    if (!res.headersSent && !res.destroyed) sendError(res, e);
    else if (!res.writableEnded) res.end();
  } finally {
    r.done();
    // Labels in name order, as the text format has always listed them.
    ctx.metrics.httpRequests.inc({ code: res.statusCode, method: r.method, route });
    ctx.metrics.httpDuration.observe({ route }, secondsSince(t0));
  }
}

export type ApiServer = http.Server | https.Server;

/** The API over HTTP, or over HTTPS with `tls` (client certificates required by clientCertAuth). */
export function createApiServer(ctx: ApiContext, tls?: ClientTls): ApiServer {
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void handleRequest(ctx, req, res);
  };
  const server =
    tls === undefined
      ? http.createServer(handler)
      : https.createServer(
          {
            cert: tls.cert,
            key: tls.key,
            ...(tls.ca === undefined ? {} : { ca: tls.ca }),
            requestCert: tls.clientCertAuth,
            rejectUnauthorized: tls.clientCertAuth,
          },
          handler,
        );
  // Keep-alive connections from load generators and proxies outlive the default 5 s.
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 35_000;
  return server;
}

/** Stops accepting, lets requests in flight finish for up to `graceMs`, then closes the rest. */
export async function closeServer(server: ApiServer, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}
