// The local cluster's output: each node's log lines, readable on a terminal ("[node 2] INFO
// msg key=value", a colour per node), as they are otherwise (raft-kv writes JSON lines to a
// pipe, so a log collector gets JSON).
const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m', '\x1b[31m', '\x1b[37m'];
const RESET = '\x1b[0m';

export const tty = process.stdout.isTTY === true;

/** A pino JSON line as "LEVEL msg key=value …"; other lines as they are. */
function pretty(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const { level, time: _t, pid: _p, hostname: _h, node: _n, msg, ...rest } = JSON.parse(line);
    const extra = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${(LEVELS[level] ?? level).padEnd(5)} ${msg ?? ''}${extra ? ` ${extra}` : ''}`;
  } catch {
    return line;
  }
}

/** Prints one line of node `id`. */
export function nodeLine(id: number, line: string): void {
  if (!tty) {
    // JSON stays JSON (it names its node); anything else gets the node's tag.
    process.stdout.write(line.startsWith('{') ? `${line}\n` : `[node ${id}] ${line}\n`);
    return;
  }
  const tag = `${COLORS[(id - 1) % COLORS.length]}[node ${id}]${RESET}`;
  process.stdout.write(`${tag} ${pretty(line)}\n`);
}

/** Prints a line of the script itself. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}
