// Runs test/support/kv-child.ts in a child process and follows its output line by line.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./kv-child.ts', import.meta.url));

export interface Child {
  proc: ChildProcess;
  /** Lines printed so far. */
  lines: string[];
  /** Resolves once a printed line satisfies `pred` (rejects if the child exits first). */
  waitFor(pred: (line: string, count: number) => boolean): Promise<void>;
  /** Resolves with the exit code (or signal) and stderr. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export function startChild(args: string[], nodeFlags: string[] = []): Child {
  const proc = spawn(
    process.execPath,
    [...nodeFlags, '--conditions=source', '--import', 'tsx', CHILD, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const waiters: { pred: (l: string, n: number) => boolean; resolve: () => void }[] = [];
  let stderr = '';
  let partial = '';
  proc.stderr!.on('data', (d) => {
    stderr += d;
  });
  proc.stdout!.on('data', (d) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pred(line, lines.length)) waiters.splice(i, 1)[0]!.resolve();
      }
    }
  });
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
  }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return {
    proc,
    lines,
    exited,
    waitFor: (pred) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ pred, resolve });
        void exited.then((e) =>
          reject(new Error(`child exited (${e.code ?? e.signal}) first: ${e.stderr}`)),
        );
      }),
  };
}
