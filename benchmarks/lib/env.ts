// Where a run happened: the commit, Node's version and the machine, for results/<suite>.json.
import { execFileSync } from 'node:child_process';
import os from 'node:os';

function git(args: string[], cwd: string): string {
  try {
    return execFileSync('git', args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

/** HEAD's hash, with "-dirty" when tracked code (not results) differs from it: such figures
 * are not reproducible from the commit alone. Untracked files do not count: a new file only
 * matters once a tracked one imports it, and that one then differs. */
export function commitId(repo: string): string {
  const head = git(['rev-parse', 'HEAD'], repo) || 'unknown';
  const changed = git(
    ['diff', '--name-only', 'HEAD', '--', 'packages', 'benchmarks', 'proto'],
    repo,
  )
    .split('\n')
    .filter((f) => f !== '' && !f.startsWith('benchmarks/results/'));
  return changed.length > 0 ? `${head}-dirty` : head;
}

export function machine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const gib = (os.totalmem() / 2 ** 30).toFixed(0);
  return `${model} x${cpus.length}, ${gib} GiB, ${os.type()} ${os.release()} ${os.arch()}`;
}

/** 1-minute load average over cores: above ~0.5 before a run, expect noisy figures. */
export function loadPerCore(): number {
  return os.loadavg()[0]! / Math.max(1, os.cpus().length);
}
