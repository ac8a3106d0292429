// --auto-compaction-retention on a raft-kv process: the leader compacts its history by itself.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, expect, it } from 'vitest';
import { KvClient } from '../src/client.js';
import { oneLoggedNode, waitFor } from './support/e2e.js';

const dir = mkdtempSync(join(tmpdir(), 'tsraft-kv-autocompact-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('periodic auto-compaction of 2 s: old revisions become compacted without a Compact call', async () => {
  const { cluster, node, logs } = await oneLoggedNode(dir);
  const etcd = new Etcd3({ hosts: node.clientUrl.replace(/^http:\/\//, '') });
  try {
    node.spawn(['--auto-compaction-retention', '2s']);
    const c = new KvClient(node.clientUrl);
    await waitFor('the node to lead', async () => (await c.status()).role === 'leader', 20_000);
    const first = Number((await etcd.put('k').value('0')).header.revision);
    for (let i = 1; i <= 5; i++) await etcd.put('k').value(String(i));
    expect(await etcd.get('k').revision(first).string()).toBe('0');
    await waitFor(
      'revision 1 to be compacted',
      async () => {
        const err = await etcd
          .get('k')
          .revision(first)
          .string()
          .then(
            () => undefined,
            (e) => e,
          );
        return err !== undefined && /required revision has been compacted/.test(String(err));
      },
      15_000,
      200,
    );
    expect(await etcd.get('k').string()).toBe('5');
    expect(logs.join('\n')).toMatch(/auto-compaction: compacted/);
  } catch (err) {
    process.stderr.write(logs.slice(-30).join('\n'));
    throw err;
  } finally {
    etcd.close();
    await cluster.stop();
  }
}, 40_000);
