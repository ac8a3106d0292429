// End to end with peer TLS: three real raft-kv processes on 127.0.0.1 with --peer-cert-file,
// --peer-key-file, --peer-trusted-ca-file and --peer-cert-allowed-cn "tsraft node {id}" elect
// a leader and replicate a put. Client HTTP stays plain. And an incomplete set of TLS flags
// is a usage error (exit 2).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cliCommand } from '../src/process-cluster.js';
import { TestCluster, waitFor } from './support/e2e.js';

/** The transport's test certificates: CA "tsraft test CA", nodes with CN "tsraft node <id>". */
const FIXTURES = fileURLToPath(new URL('../../raft-transport-tcp/test/fixtures/', import.meta.url));
const IDS = [1, 2, 3];

// 50 ms ticks: an election takes about a second. Info logs show the transport's TLS status.
const tc = new TestCluster(['--tick-ms', '50', '--log-level', 'info']);
afterAll(() => tc.stop(), 15_000);

function tlsFlags(id: number): string[] {
  return [
    '--peer-cert-file',
    join(FIXTURES, `node${id}.crt`),
    '--peer-key-file',
    join(FIXTURES, `node${id}.key`),
    '--peer-trusted-ca-file',
    join(FIXTURES, 'ca.crt'),
    '--peer-cert-allowed-cn',
    'tsraft node {id}',
  ];
}

describe('a 3-node raft-kv cluster with peer TLS and certificate-bound ids', () => {
  it('elects a leader and replicates a put to every member', async () => {
    try {
      for (const id of IDS) await tc.cluster.define(id);
      const spec = tc.cluster.initialCluster(IDS);
      for (const id of IDS) tc.cluster.node(id).spawn(['--initial-cluster', spec, ...tlsFlags(id)]);

      const leader = await tc.leader(12_000);
      const follower = IDS.find((id) => id !== leader)!;
      const { revision } = await tc.client(follower).put('secure', 'over TLS', { timeoutMs: 3000 });
      for (const id of IDS) {
        const kv = await waitFor(
          `node ${id} to apply the put`,
          () => tc.client(id).get('secure', 'serializable', { timeoutMs: 1000 }),
          4000,
          50,
        );
        expect(kv).toMatchObject({ value: 'over TLS', modRevision: revision });
      }
      // Every transport listened with TLS, and no certificate was refused. (A handshake cut
      // short by the other side, "socket hang up" while processes start, is not a refusal.)
      const listening = tc.logs.filter((l) => l.includes('raft-transport-tcp: listening'));
      expect(listening).toHaveLength(3);
      for (const l of listening) expect(l).toContain('"tls":true');
      const logs = tc.logs.join('\n');
      expect(logs).not.toMatch(/TRANSPORT_IDENTITY_MISMATCH/);
      const refusals = tc.logs.filter((l) => l.includes('TRANSPORT_TLS'));
      for (const l of refusals) expect(l).not.toMatch(/certificate|CERT|verify|alert/i);
    } catch (err) {
      process.stderr.write(`--- last log lines ---\n${tc.tail()}\n`);
      throw err;
    }
  }, 20_000);

  it('exits 2 with a usage error when a TLS file flag is missing', () => {
    const { cmd, args, cwd } = cliCommand();
    const flags = tlsFlags(1).slice(0, 4); // no --peer-trusted-ca-file
    const r = spawnSync(cmd, [...args, ...flags], { cwd, encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/raft-kv: peer TLS needs all of .*missing --peer-trusted-ca-file/);
  });
});
