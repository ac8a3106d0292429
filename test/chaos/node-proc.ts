// One raft-kv process of a chaos run: the CLI of this checkout (cliCommand), optionally
// inside a network namespace (`ip netns exec`, which execs: the pid is the node's), its
// output to a line callback, and the signals the faults send.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cliCommand, nodeEnv } from '@tsraft/kv-server/process-cluster';

export class NodeProc {
  proc: ChildProcess | null = null;
  exited: Promise<unknown> = Promise.resolve();

  constructor(
    readonly id: number,
    /** Flags of every start: addresses, data dir, timing. */
    private readonly base: string[],
    private readonly netns: string | null,
    private readonly onLine: (line: string) => void,
  ) {}

  get running(): boolean {
    const p = this.proc;
    return p !== null && p.exitCode === null && p.signalCode === null;
  }

  spawn(extra: string[]): void {
    if (this.running) throw new Error(`node ${this.id} is already running`);
    const { cmd, args, cwd } = cliCommand();
    const argv = [cmd, ...args, ...this.base, ...extra];
    const proc =
      this.netns === null
        ? spawn(argv[0]!, argv.slice(1), { cwd, env: nodeEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('ip', ['netns', 'exec', this.netns, ...argv], {
            cwd,
            env: nodeEnv(),
            stdio: ['ignore', 'pipe', 'pipe'],
          });
    this.proc = proc;
    for (const s of [proc.stdout, proc.stderr])
      createInterface({ input: s }).on('line', this.onLine);
    this.exited = new Promise((resolve) => proc.once('exit', resolve));
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.proc!.kill(sig);
  }

  /** Sends `sig` and waits for the exit (SIGKILL after `timeoutMs`). */
  async stop(sig: NodeJS.Signals, timeoutMs = 5_000): Promise<void> {
    if (!this.running) return;
    const proc = this.proc!;
    proc.kill('SIGCONT'); // a stopped process cannot act on SIGTERM
    proc.kill(sig);
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}
