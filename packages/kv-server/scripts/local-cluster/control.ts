// The running local cluster takes requests on a Unix socket in its data folder, so that
// `pnpm start --restart <id>` restarts a node that exited as a child of the running script:
// the same Ctrl+C then stops it with the others. One JSON line each way.
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ControlRequest {
  restart: number;
}

export interface ControlReply {
  ok: boolean;
  message: string;
}

/** Unix socket paths are limited to about 104 bytes (macOS) or 108 (Linux). */
const MAX_SOCKET_PATH = 100;

/** The socket of the cluster in `dir`; in the temp folder, named after `dir`, if too long. */
export function socketPath(dir: string): string {
  const inDir = join(dir, 'control.sock');
  if (Buffer.byteLength(inDir) <= MAX_SOCKET_PATH) return inDir;
  const id = createHash('sha256').update(dir).digest('hex').slice(0, 16);
  return join(tmpdir(), `tsraft-local-cluster-${id}.sock`);
}

/** Sends one request to the cluster running in `dir`; rejects when none answers. */
export function sendControl(dir: string, req: ControlRequest, timeoutMs = 30_000) {
  return new Promise<ControlReply>((resolve, reject) => {
    const sock = net.connect(socketPath(dir));
    let buf = '';
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error('no answer in time')));
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
    });
    sock.on('end', () => {
      try {
        resolve(JSON.parse(buf) as ControlReply);
      } catch {
        reject(new Error(`bad answer: ${buf}`));
      }
    });
    sock.on('error', reject);
  });
}

/** Whether a cluster is running in `dir` (its socket answers). */
export function isRunning(dir: string): Promise<boolean> {
  if (!existsSync(socketPath(dir))) return Promise.resolve(false);
  return new Promise((resolve) => {
    const sock = net.connect(socketPath(dir));
    sock.on('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}

/** Serves requests on the socket of `dir` (a stale socket file is replaced). */
export async function serveControl(
  dir: string,
  handle: (req: ControlRequest) => Promise<ControlReply>,
): Promise<net.Server> {
  rmSync(socketPath(dir), { force: true });
  const server = net.createServer((sock) => {
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let req: ControlRequest;
      try {
        req = JSON.parse(buf.slice(0, nl)) as ControlRequest;
      } catch {
        sock.end(`${JSON.stringify({ ok: false, message: 'bad request' })}\n`);
        return;
      }
      handle(req).then(
        (r) => sock.end(`${JSON.stringify(r)}\n`),
        (err: unknown) => sock.end(`${JSON.stringify({ ok: false, message: String(err) })}\n`),
      );
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath(dir), () => resolve());
  });
  server.unref();
  return server;
}
