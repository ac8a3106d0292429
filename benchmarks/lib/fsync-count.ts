// Counts a running process's fsync-family system calls: `strace -f -y -e trace=… -p <pid>`
// attached to every thread (Node's libuv pool and LevelDB's threads, Go's Ms), detached with
// SIGINT; each traced call is one line naming the file (-y), so the calls are counted per
// system call and per file. strace stops the process at each traced call, so
// the traced process runs slower while it is counted: the counts per put are exact, the
// throughput meanwhile is not a figure to quote.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackProcessGroup } from './cleanup.js';

export const SYNC_CALLS = ['fsync', 'fdatasync', 'sync_file_range', 'msync'] as const;

export interface SyscallCounts {
  /** Calls by system call name. */
  bySyscall: Record<string, number>;
  /** Calls by the file they synced (the path strace -y prints; "?" when it printed none). */
  byFile: Record<string, number>;
  total: number;
}

/**
 * Parses `strace -f -y` output: one line per call, e.g. `[pid 12] fdatasync(7</d/wal/0.wal>) = 0`
 * or `fdatasync(7</d/x.log> <unfinished ...>` (its `<... fdatasync resumed>` line is not
 * counted again).
 */
export function parseStraceLines(text: string): SyscallCounts {
  const out: SyscallCounts = { bySyscall: {}, byFile: {}, total: 0 };
  const re = new RegExp(`(?:^|\\s)(${SYNC_CALLS.join('|')})\\((\\d+)(?:<([^>]*)>)?`);
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (m === null) continue;
    const file = m[3] ?? '?';
    out.bySyscall[m[1]!] = (out.bySyscall[m[1]!] ?? 0) + 1;
    out.byFile[file] = (out.byFile[file] ?? 0) + 1;
    out.total++;
  }
  return out;
}

/** Calls whose file path contains any of `parts` (e.g. a state machine's directory). */
export function callsMatching(counts: SyscallCounts, parts: readonly string[]): number {
  let n = 0;
  for (const [file, c] of Object.entries(counts.byFile)) {
    if (parts.some((p) => file.includes(p))) n += c;
  }
  return n;
}

export function haveStrace(): boolean {
  return spawnSync('strace', ['-V'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

export interface SyncCounter {
  /** Detaches and returns the counts since the attach. */
  stop(): Promise<SyscallCounts>;
}

/** Attaches to `pid` (all its threads); resolves once strace says it attached. */
export async function countSyncs(pid: number): Promise<SyncCounter> {
  const dir = mkdtempSync(join(tmpdir(), 'tsraft-strace-'));
  const out = join(dir, 'summary');
  const proc = spawn(
    'strace',
    ['-f', '-y', '-e', `trace=${SYNC_CALLS.join(',')}`, '-o', out, '-p', String(pid)],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  const untrack = trackProcessGroup(proc.pid!, 'strace');
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`strace did not attach: ${err}`)), 10_000);
    proc.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      if (/attached/.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`strace exited before attaching: ${err.trim()}`));
    });
  });
  // Give it a moment to attach every thread (it prints one line per thread).
  await new Promise((r) => setTimeout(r, 300));
  return {
    async stop() {
      proc.kill('SIGINT');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      untrack();
      try {
        return parseStraceLines(readFileSync(out, 'utf8'));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
