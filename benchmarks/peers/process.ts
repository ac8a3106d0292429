// Running the peers' scripts: a bounded child process whose stderr (progress) is passed
// through with a prefix, and whose stdout is kept for parsing.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** ../shared/peers, located relative to the repository root. */
export const PEERS_DIR = resolve(
  join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'peers'),
);

export interface ScriptResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ScriptOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs: number;
  /** Progress lines (stderr) go here as they arrive. */
  log?: (line: string) => void;
}

export function runScript(cmd: string, args: readonly string[], opts: ScriptOptions) {
  return new Promise<ScriptResult>((done, fail) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) if (l.trim() !== '') opts.log?.(l);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (partial.trim() !== '') opts.log?.(partial);
      done({ code, signal, stdout, stderr });
    });
  });
}

/** Whether `cmd --version`-style probing succeeds (the tool is on PATH and runs). */
export function hasCommand(cmd: string, args: readonly string[] = ['--version']): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
  return r.status === 0;
}

/** The last lines of a failed script's output, for a one-line note. */
export function tail(text: string, lines = 3): string {
  return text.trim().split('\n').slice(-lines).join(' | ');
}
