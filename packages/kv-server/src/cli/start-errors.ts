// Start-up failures an operator can fix, said in one line instead of a stack trace.

/** The error, or one of its causes, with `code` (Node's system errors carry it). */
function findCode(err: unknown, code: string): Error | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; depth++) {
    if ((e as NodeJS.ErrnoException).code === code || e.message.includes(code)) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * "127.0.0.1:22379 (client API) is already in use…" for a busy port, else undefined.
 * `ports` names this node's listen addresses ("host:port" → what it is for).
 */
export function describeStartError(
  err: unknown,
  ports: Record<string, string>,
): string | undefined {
  const e = findCode(err, 'EADDRINUSE');
  if (e === undefined) return undefined;
  const busy = Object.keys(ports).find((addr) => e.message.includes(addr));
  const what = busy === undefined ? 'a port this node listens on' : `${busy} (${ports[busy]})`;
  return `${what} is already in use: is another raft-kv running? Stop it, or choose other addresses (--listen-client, --listen-peer)`;
}
