// SIGKILL a RaftHost while 16 groups write (their writes group-committed into the same synced
// LevelDB batches, snapshots every 20 entries); restarted from its data directory, every group
// has each of its acknowledged proposals, once, and nothing never proposed. The kill lands
// wherever the host happens to be: mid-batch, mid-snapshot, mid-apply.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { RaftHost } from '../src/index.js';
import { Recorder, freePorts, logger, tempDir } from './helpers.js';

const child = fileURLToPath(new URL('./fixtures/host-crash-child.ts', import.meta.url));
const GROUPS = 16;

it('acknowledged proposals of every group survive a SIGKILL of the host', async () => {
  const dir = await tempDir();
  const [port] = await freePorts(1);
  const addr = `127.0.0.1:${port}`;
  const acked = new Map<number, Set<number>>();
  for (let g = 1; g <= GROUPS; g++) acked.set(g, new Set());
  let total = 0;
  const proc = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', child, dir, addr, String(GROUPS)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // Kill after a random number of acknowledgements: the kill lands anywhere.
  const killAt = 300 + Math.floor(Math.random() * 500);
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    proc.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        const [, g, n] = l.split(' ');
        acked.get(Number(g))!.add(Number(n));
        total++;
      }
      if (total >= killAt && proc.exitCode === null && proc.signalCode === null) {
        proc.removeAllListeners('exit');
        proc.on('exit', () => resolve());
        proc.kill('SIGKILL');
      }
    });
  });

  const host = new RaftHost({
    id: 1,
    listen: addr,
    dataDir: dir,
    peers: { 1: addr },
    logger,
    tickMs: 10,
  });
  await host.start();
  try {
    expect(host.groupIds()).toHaveLength(GROUPS);
    for (let g = 1; g <= GROUPS; g++) {
      const sm = new Recorder();
      const group = await host.group<number>(g, { members: [1], stateMachine: sm });
      await group.waitForLeader({ signal: AbortSignal.timeout(5000) });
      await group.read({ signal: AbortSignal.timeout(5000) });
      const values = sm.values;
      const mine = acked.get(g)!;
      expect(new Set(values).size, `group ${g}: applied twice`).toBe(values.length);
      const present = new Set(values);
      expect(
        [...mine].filter((n) => !present.has(n)),
        `group ${g}: lost`,
      ).toEqual([]);
      // At most 4 proposals in flight per group: nothing beyond what was proposed.
      expect(Math.max(0, ...values)).toBeLessThanOrEqual(Math.max(0, ...mine) + 4);
    }
  } finally {
    await host.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
