// Runs one configuration in a fresh Node process (same flags: tsx, --expose-gc, conditions),
// so the JIT's type feedback and the heap of one configuration cannot leak into the next —
// coaty's bench.js does the same. The child imports `module`, awaits `fn(input)` and sends
// the result back over IPC.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./child-main.ts', import.meta.url));

export interface ChildRequest {
  /** file: URL of the module (pass `import.meta.url` or a URL built from it). */
  module: string;
  /** The named export to call; it takes `input` and returns (a promise of) JSON data. */
  fn: string;
  input: unknown;
}

export type ChildReply = { ok: true; value: unknown } | { ok: false; error: string };

export interface ChildOptions {
  /** Kill the child after this many ms (default: none). */
  timeoutMs?: number;
  /** Extra node flags, e.g. ['--max-old-space-size=4096']. */
  nodeFlags?: readonly string[];
}

export function runInChild<T>(req: ChildRequest, opts: ChildOptions = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = fork(MAIN, [], {
      execArgv: [...process.execArgv, ...(opts.nodeFlags ?? [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    let reply: ChildReply | undefined;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('message', (m) => {
      reply = m as ChildReply;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (reply?.ok === true) resolve(reply.value as T);
      else if (reply?.ok === false) reject(new Error(`${req.fn} in child: ${reply.error}`));
      else reject(new Error(`${req.fn} in child exited (code ${code}, signal ${signal})`));
    });
    child.send(req);
  });
}

export interface ChildHandle<T> {
  /** Sends a message to the running function (it listens with process.on('message')). */
  send(message: string): void;
  /** What the function returned. */
  result: Promise<T>;
  /** SIGKILL (a last resort: the result then rejects). */
  kill(): void;
}

/** runInChild, keeping a handle to talk to the function while it runs (e.g. 'mark', 'stop'). */
export function startInChild<T>(req: ChildRequest, opts: ChildOptions = {}): ChildHandle<T> {
  const child = fork(MAIN, [], {
    execArgv: [...process.execArgv, ...(opts.nodeFlags ?? [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  let reply: ChildReply | undefined;
  const timer =
    opts.timeoutMs === undefined
      ? undefined
      : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
  child.on('message', (m) => {
    reply = m as ChildReply;
  });
  const result = new Promise<T>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (reply?.ok === true) resolve(reply.value as T);
      else if (reply?.ok === false) reject(new Error(`${req.fn} in child: ${reply.error}`));
      else reject(new Error(`${req.fn} in child exited (code ${code}, signal ${signal})`));
    });
  });
  child.send(req);
  return {
    send: (m) => {
      if (child.connected) child.send(m);
    },
    result,
    kill: () => child.kill('SIGKILL'),
  };
}
