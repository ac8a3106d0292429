// `pnpm start` (scripts/local-cluster.ts) as a user meets it, on real processes on 127.0.0.1:
// Ctrl+C, a busy port, --nodes, restarting a node that exited, and a quiet start. Every run is
// cleaned up (script and nodes) whether the test passes or not.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KvClient } from '../src/client.js';
import { waitFor } from './support/e2e.js';
import {
  LocalClusterRun,
  REPO,
  pidsMentioning,
  randomBasePort,
} from './support/local-cluster-run.js';

const runs: LocalClusterRun[] = [];
afterEach(async () => {
  await Promise.all(runs.splice(0).map((r) => r.cleanup()));
});

function start(args: string[], how: 'pnpm' | 'script' = 'script'): LocalClusterRun {
  const r = new LocalClusterRun(args, how);
  runs.push(r);
  return r;
}

const url = (base: number, id: number): string => `http://127.0.0.1:${base + (id - 1) * 10}`;
const READY = /Ctrl\+C stops the cluster/;

/** pino's JSON lines in the output (the script's own lines are text). */
function jsonLines(out: string): { level: number; node: number; msg: string; leader?: number }[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

describe('pnpm start', () => {
  it('Ctrl+C stops each node once, cleanly, exits 0 and leaves nothing running', async () => {
    const base = randomBasePort();
    const run = start(['--fresh', '--base-port', String(base), '--port-step', '10'], 'pnpm');
    await run.waitFor(READY, 90_000);
    run.interrupt();
    const exit = await run.exited;
    const lines = jsonLines(run.output);
    expect(exit, run.tail()).toEqual({ code: 0, signal: null });
    for (const id of [1, 2, 3]) {
      expect(lines.filter((l) => l.node === id && l.msg === 'stopped')).toHaveLength(1);
    }
    expect(run.output).not.toMatch(/asked to stop again|ELIFECYCLE/);
    expect(pidsMentioning(run.dir)).toEqual([]);
  }, 120_000);

  it('a busy port: one line naming it, nothing left running, a non-zero exit', async () => {
    const base = randomBasePort();
    const busy = base + 10; // node 2's client port
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(busy, '127.0.0.1', r));
    try {
      const run = start(['--base-port', String(base), '--port-step', '10']);
      const exit = await run.exited;
      expect(exit.code).not.toBe(0);
      const errors = run.output.trim().split('\n');
      expect(errors, run.tail()).toHaveLength(1);
      expect(errors[0]).toMatch(new RegExp(`port ${busy} .*node 2.* in use`));
      expect(pidsMentioning(run.dir)).toEqual([]);
    } finally {
      holder.close();
    }
  }, 60_000);

  it('--nodes 5 runs five members; --help gives the port pattern', async () => {
    const help = spawnSync(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        'packages/kv-server/scripts/local-cluster.ts',
        '--help',
      ],
      { cwd: REPO, encoding: 'utf8' },
    );
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--nodes <n>/);
    expect(help.stdout).toMatch(/node i serves clients on base \+ \(i-1\) \* step/);
    expect(help.stdout).toMatch(/node 2: 12379 \(12380\)/);

    const base = randomBasePort();
    const run = start(['--nodes', '5', '--base-port', String(base), '--port-step', '10']);
    await run.waitFor(READY, 90_000);
    expect(run.output).toMatch(/a 5-node cluster/);
    const { members } = await new KvClient(url(base, 5)).members();
    expect(members.map((m) => m.id)).toEqual([1, 2, 3, 4, 5]);
  }, 120_000);

  it('prints the command that restarts a node that exited; Ctrl+C stops it too', async () => {
    const base = randomBasePort();
    const run = start(['--base-port', String(base), '--port-step', '10']);
    await run.waitFor(READY, 90_000);
    await new KvClient(url(base, 1)).put('before', 'kill');
    const [pid] = pidsMentioning(`${run.dir}/node-2`);
    process.kill(pid!, 'SIGKILL');
    const [, command] = await run.waitFor(
      /node 2 exited .*Restart it with: (npx -y pnpm@10 [^\n]*)/,
    );
    expect(command).toBe(`npx -y pnpm@10 start --restart 2 --dir ${JSON.stringify(run.dir)}`);

    const again = spawnSync('sh', ['-c', command!], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(again.status, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/node 2 restarted/);
    const c2 = new KvClient(url(base, 2));
    await waitFor('node 2 to have the write', async () => {
      const kv = await c2.get('before', 'serializable');
      return kv?.value === 'kill';
    });

    run.interrupt();
    expect((await run.exited).code).toBe(0);
    expect(pidsMentioning(run.dir)).toEqual([]);
  }, 120_000);

  it('starts quietly: no warnings, a few lines per node, ready once a leader is known', async () => {
    const base = randomBasePort();
    const run = start(['--nodes', '3', '--base-port', String(base), '--port-step', '10']);
    await run.waitFor(READY, 90_000);
    const lines = jsonLines(run.output);
    expect(
      lines.filter((l) => l.level >= 40),
      run.tail(),
    ).toEqual([]);
    // Per node: where raft listens, the leader, ready (it was ~28 lines per node before).
    expect(lines.length, run.tail()).toBeLessThanOrEqual(3 * 4);
    const ready = lines.filter((l) => l.msg === 'raft-kv ready');
    expect(ready.length).toBeGreaterThan(0);
    for (const r of ready) expect(r.leader).toBeGreaterThan(0);
  }, 120_000);
});
