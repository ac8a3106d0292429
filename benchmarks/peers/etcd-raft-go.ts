// etcd's raft 3.4 in Go (../shared/peers/etcd-raft-go): installs its toolchain on demand
// (Debian's golang-go and golang-etcd-server-dev), runs its run.sh with GOMAXPROCS=1 (one
// thread, like our Node process) and parses the figures it prints.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PEERS_DIR, hasCommand, runScript, tail } from './process.js';
import type { PeerOutcome, PeerRow } from './types.js';

export const PEER = 'etcd-raft-go';
const PACKAGES = ['golang-go', 'golang-etcd-server-dev'];

function installed(pkg: string): boolean {
  // dpkg's own format syntax, not a template placeholder.
  const format = ['-f=$', '{Status}'].join('');
  const r = spawnSync('dpkg-query', ['-W', format, pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/** null when the toolchain is there (installing it if apt works), else why it is not. */
export async function ensureToolchain(log: (l: string) => void): Promise<string | null> {
  const hasGo = hasCommand('go', ['version']);
  const missing = PACKAGES.filter((p) => !installed(p));
  if (hasGo && missing.length === 0) return null;
  if (!hasCommand('apt-get', ['--version']))
    return 'go or the etcd sources are missing, no apt-get';
  if (process.getuid?.() !== 0)
    return `go or the etcd sources are missing (apt-get install -y ${PACKAGES.join(' ')} needs root)`;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`installing ${PACKAGES.join(' ')} with apt-get (once)`);
  const update = await runScript('apt-get', ['update'], { env, timeoutMs: 5 * 60_000 });
  if (update.code !== 0) return `apt-get update failed: ${tail(update.stderr || update.stdout)}`;
  const inst = await runScript('apt-get', ['install', '-y', ...PACKAGES], {
    env,
    timeoutMs: 20 * 60_000,
  });
  if (inst.code !== 0) return `apt-get install failed: ${tail(inst.stderr || inst.stdout)}`;
  return hasCommand('go', ['version']) ? null : 'go still missing after apt-get install';
}

const ROW =
  /^(W[123]) B=(\d+) entries\/s median (\d+) \(min (\d+) max (\d+)\) ns\/entry \d+ alloc B\/entry (\d+)/;

export function parse(stdout: string, runs: number): { version: string; rows: PeerRow[] } {
  const rows: PeerRow[] = [];
  let version = 'go ?';
  for (const line of stdout.split('\n')) {
    if (line.startsWith('go ')) version = line.trim();
    const m = ROW.exec(line.trim());
    if (m === null) continue;
    rows.push({
      workload: m[1] as PeerRow['workload'],
      batch: Number(m[2]),
      median: Number(m[3]),
      min: Number(m[4]),
      max: Number(m[5]),
      runs,
      // main.go reports the last measured run's runtime.MemStats.TotalAlloc delta.
      allocPerEntry: Number(m[6]),
    });
  }
  return { version, rows };
}

/** All six rows in one go: main.go has no option to pick a workload. */
export async function run(runs: number, log: (l: string) => void): Promise<PeerOutcome> {
  const why = await ensureToolchain(log);
  if (why !== null) return { ok: false, peer: PEER, reason: why };
  const script = join(PEERS_DIR, 'etcd-raft-go', 'run.sh');
  const r = await runScript('bash', [script, '-runs', String(runs)], {
    env: { ...process.env, GOMAXPROCS: '1' },
    timeoutMs: 60 * 60_000,
    log,
  });
  if (r.code !== 0) {
    return {
      ok: false,
      peer: PEER,
      reason: `run.sh failed (${r.code ?? r.signal}): ${tail(r.stderr)}`,
    };
  }
  const { version, rows } = parse(r.stdout, runs);
  if (rows.length === 0)
    return { ok: false, peer: PEER, reason: `no figures in: ${tail(r.stdout)}` };
  return { ok: true, peer: PEER, version, rows, notes: [] };
}
