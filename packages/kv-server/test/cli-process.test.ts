// The CLI as a process: --help, bad flags, a single node with no cluster flags, graceful
// SIGTERM and a restart from the data dir with nothing lost.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KvClient } from '../src/client.js';
import { cliCommand } from '../src/process-cluster.js';
import { oneLoggedNode, waitFor } from './support/e2e.js';

const dir = mkdtempSync(join(tmpdir(), 'tsraft-kv-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runCli(args: string[]) {
  const { cmd, args: base, cwd } = cliCommand();
  return spawnSync(cmd, [...base, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
}

describe('raft-kv process', () => {
  it('prints --help and exits 0; exits 2 on a bad flag', () => {
    const help = runCli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/usage: raft-kv \[options\]/);
    expect(help.stdout).toMatch(/--initial-cluster/);
    const bad = runCli(['--no-such-flag']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/raft-kv: .*no-such-flag/);
  });

  it('runs one node without cluster flags, stops on SIGTERM and restarts with its data', async () => {
    const { cluster, node, logs } = await oneLoggedNode(dir);
    try {
      node.spawn([]);
      const c = new KvClient(node.clientUrl);
      await waitFor('the node to lead', async () => (await c.status()).role === 'leader', 20_000);
      for (let i = 0; i < 20; i++) await c.put(`k${i}`, `v${i}`);
      await c.delete('k0');
      expect(await node.kill('SIGTERM')).toBe(0);
      expect(logs.join('\n')).toMatch(/shutting down/);

      node.spawn([]);
      await waitFor(
        'the node to lead again',
        async () => (await c.status()).role === 'leader',
        20_000,
      );
      const r = await c.range('k');
      expect(r.kvs).toHaveLength(19);
      expect(r.revision).toBe(21);
      expect((await c.get('k19'))?.value).toBe('v19');
      expect(await c.get('k0')).toBeUndefined();
    } catch (err) {
      process.stderr.write(logs.slice(-40).join('\n'));
      throw err;
    } finally {
      await cluster.stop();
    }
  });
});
