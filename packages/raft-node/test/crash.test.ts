// SIGKILL a node in the middle of writing; restarted from its data dir, it has every
// acknowledged proposal, each applied once, and nothing that was never proposed.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { DiskRecorder } from './disk-sm.js';
import { Recorder, freePorts, makeNode, tempDir } from './helpers.js';

const child = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));

for (const kind of ['memory', 'disk'] as const) {
  it(`acknowledged proposals survive a SIGKILL (${kind} state machine)`, async () => {
    const dir = await tempDir();
    const [port] = await freePorts(1);
    const addr = `127.0.0.1:${port}`;
    const acked = new Set<number>();
    const proc = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', child, dir, addr, kind],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let buf = '';
    await new Promise<void>((resolve, reject) => {
      proc.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
      proc.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) acked.add(Number(l.slice(4)));
        if (acked.size >= 300) {
          proc.removeAllListeners('exit');
          proc.kill('SIGKILL');
          proc.on('exit', () => resolve());
        }
      });
    });

    const sm = kind === 'disk' ? new DiskRecorder(path.join(dir, 'sm')) : new Recorder();
    const node = makeNode(1, addr, dir, { 1: addr }, {}, sm as never);
    await node.start();
    // An on-disk state machine is given only what follows the index it reports: with a
    // SIGKILL between its apply and raft's bookkeeping, nothing is applied twice or lost.
    const opened = sm instanceof DiskRecorder ? sm.values.length : 0;
    try {
      await node.waitForLeader({ signal: AbortSignal.timeout(5000) });
      await node.read({ signal: AbortSignal.timeout(5000) });
      const values = sm.values;
      expect(new Set(values).size).toBe(values.length); // nothing applied twice
      const present = new Set(values);
      const missing = [...acked].filter((n) => !present.has(n));
      expect(missing).toEqual([]); // every acknowledged proposal is there
      // And nothing that was never proposed (the child had at most 8 in flight).
      expect(Math.max(...values)).toBeLessThanOrEqual(Math.max(...acked) + 8);
      expect(node.appliedIndex()).toBeGreaterThan(acked.size);
      if (sm instanceof DiskRecorder) {
        expect(opened).toBeGreaterThan(0);
        expect(sm.restores).toBe(0); // it held its data: no snapshot restore at start
      }
    } finally {
      await node.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
}
