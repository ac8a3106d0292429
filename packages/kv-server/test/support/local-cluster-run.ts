// Runs the local-cluster script (`pnpm start`) as a user does, in its own process group so that
// a test can send the terminal's Ctrl+C (SIGINT to the whole group). cleanup() leaves nothing
// running, whatever happened: the script's group, then any raft-kv whose command line names
// this run's folder (the nodes run in process groups of their own).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const SCRIPT = join(REPO, 'packages/kv-server/scripts/local-cluster.ts');

/** A port pattern below Linux's ephemeral range, at random: runs in parallel rarely meet. */
export function randomBasePort(): number {
  return 20_000 + 10 * Math.floor(Math.random() * 1000);
}

/** Pids of processes whose command line contains `text` (Linux /proc). */
export function pidsMentioning(text: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmd.includes(text)) out.push(Number(name));
    } catch {}
  }
  return out;
}

export class LocalClusterRun {
  readonly dir = mkdtempSync(join(tmpdir(), 'tsraft-local-cluster-'));
  output = '';
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private readonly child: ChildProcess;

  /**
   * `how`: 'pnpm' runs `npx -y pnpm@10 start …` exactly as the README says; 'script' runs the
   * script with node and tsx (faster, the same code).
   */
  constructor(args: string[], how: 'pnpm' | 'script' = 'script') {
    const full = [...args, '--dir', this.dir];
    const [cmd, argv] =
      how === 'pnpm'
        ? ['npx', ['-y', 'pnpm@10', 'start', ...full]]
        : [process.execPath, ['--conditions=source', '--import', 'tsx', SCRIPT, ...full]];
    this.child = spawn(cmd, argv, {
      cwd: REPO,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const s of [this.child.stdout!, this.child.stderr!]) {
      s.on('data', (b: Buffer) => {
        this.output += b.toString('utf8');
      });
    }
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until the output matches `re` (rejects if the script exits first, or in time). */
  async waitFor(re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = this.output.match(re);
      if (m !== null) return m;
      if (!this.running) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const m = this.output.match(re);
    if (m !== null) return m;
    throw new Error(`no ${re} in the output (running: ${this.running}):\n${this.tail()}`);
  }

  /** The terminal's Ctrl+C: SIGINT to the script's whole process group. */
  interrupt(): void {
    try {
      process.kill(-this.child.pid!, 'SIGINT');
    } catch {}
  }

  tail(chars = 4000): string {
    return this.output.slice(-chars);
  }

  /** Stops everything this run started (SIGKILL if need be) and removes its folder. */
  async cleanup(): Promise<void> {
    if (this.running) {
      this.interrupt();
      const t = setTimeout(() => {
        try {
          process.kill(-this.child.pid!, 'SIGKILL');
        } catch {}
      }, 15_000);
      await this.exited;
      clearTimeout(t);
    }
    for (const pid of pidsMentioning(this.dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
