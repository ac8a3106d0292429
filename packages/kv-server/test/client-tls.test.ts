// End to end with client TLS: three real raft-kv processes on 127.0.0.1 serve the client API
// over HTTPS with --client-cert-auth (mutual TLS; the transport's test certificates). A put sent
// to a follower is forwarded and read back linearizably from every member, and the members
// advertise https:// client URLs; a client without a certificate from the CA, or speaking
// plain HTTP, is refused; a fourth node joins through a member's https:// URL, presenting its
// --cert-file. Peer traffic stays plain TCP here (tls-cluster.test.ts covers peer TLS).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { KvClient, type KvClientTls, KvHttpError } from '../src/client.js';
import { cliCommand } from '../src/process-cluster.js';
import { TestCluster, waitFor } from './support/e2e.js';

/** The transport's test certificates: CA "tsraft test CA", nodes with CN "tsraft node <id>". */
const FIXTURES = fileURLToPath(new URL('../../raft-transport-tcp/test/fixtures/', import.meta.url));
const fx = (name: string): string => join(FIXTURES, name);
const pem = (name: string): Buffer => readFileSync(fx(name));
const IDS = [1, 2, 3];

// Any certificate the CA issued is a client certificate here: the client port does not bind
// certificates to member ids (only --peer-cert-allowed-cn does, on the peer port).
const CLIENT: KvClientTls = { ca: pem('ca.crt'), cert: pem('node1.crt'), key: pem('node1.key') };

// 50 ms ticks: an election takes about a second.
const tc = new TestCluster(['--tick-ms', '50'], CLIENT);
afterAll(() => tc.stop(), 15_000);

function clientTlsFlags(cert: string): string[] {
  return [
    '--cert-file',
    fx(`${cert}.crt`),
    '--key-file',
    fx(`${cert}.key`),
    '--trusted-ca-file',
    fx('ca.crt'),
    '--client-cert-auth',
  ];
}

/** The error `p` rejects with; fails the test when it resolves. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => expect.fail(`expected a refusal, got ${JSON.stringify(v)}`),
    (err: unknown) => err,
  );
}

describe('a 3-node raft-kv cluster serving clients over mutual TLS', () => {
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      process.stderr.write(`--- last log lines ---\n${tc.tail()}\n`);
    });
  });

  it('forwards a put sent to a follower and answers linearizable gets on every member', async () => {
    for (const id of IDS) await tc.cluster.define(id);
    const spec = tc.cluster.initialCluster(IDS);
    for (const id of IDS) {
      tc.cluster.node(id).spawn(['--initial-cluster', spec, ...clientTlsFlags(`node${id}`)]);
    }

    const leader = await tc.leader(12_000); // GET /status over HTTPS, with our certificate
    const follower = IDS.find((id) => id !== leader)!;
    const { revision } = await waitFor(
      `a put through follower ${follower}`,
      () => tc.client(follower).put('secure', 'over https', { timeoutMs: 3000 }),
      8000,
      200,
    );
    for (const id of IDS) {
      const kv = await waitFor(
        `a linearizable get on node ${id}`,
        () => tc.client(id).get('secure', 'linearizable', { timeoutMs: 3000 }),
        5000,
        100,
      );
      expect(kv).toMatchObject({ value: 'over https', modRevision: revision });
    }
    // Redirects and GET /v1/members hand out the advertised client URLs: https:// now.
    await waitFor(
      'every member to publish its https:// client URL',
      async () => {
        const { members } = await tc.client(leader).members({ timeoutMs: 2000 });
        return IDS.every((id) => members.find((m) => m.id === id)?.clientUrl === tc.clientUrl(id));
      },
      5000,
    );
  }, 25_000);

  it("serves etcd's gRPC API over the same TLS port (ALPN h2) to etcd3 and etcdctl", async () => {
    const hosts = IDS.map((id) => tc.clientUrl(id));
    const client = new Etcd3({
      hosts,
      credentials: {
        rootCertificate: pem('ca.crt'),
        certChain: pem('node1.crt'),
        privateKey: pem('node1.key'),
      },
    });
    const noCert = new Etcd3({ hosts: hosts[0]!, credentials: { rootCertificate: pem('ca.crt') } });
    try {
      await client.put('grpc-tls').value('over h2');
      expect(await client.get('secure').string()).toBe('over https');
      expect(await client.get('grpc-tls').string()).toBe('over h2');
      expect((await tc.client(2).get('grpc-tls'))?.value).toBe('over h2'); // and over HTTPS
      await expect(noCert.get('secure').string()).rejects.toThrow();
    } finally {
      client.close();
      noCert.close();
    }
    let etcdctl = true;
    try {
      execFileSync('etcdctl', ['version'], { stdio: 'ignore' });
    } catch {
      etcdctl = false;
      process.stderr.write('etcdctl over TLS skipped: etcdctl is not installed\n');
    }
    if (etcdctl) {
      const ctl = (...args: string[]) =>
        execFileSync(
          'etcdctl',
          [
            '--endpoints',
            hosts.join(','),
            '--cacert',
            fx('ca.crt'),
            '--cert',
            fx('node1.crt'),
            '--key',
            fx('node1.key'),
            ...args,
          ],
          { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: 20_000 },
        );
      expect(ctl('put', 'ctl-tls', 'v')).toBe('OK\n');
      expect(ctl('get', 'grpc-tls', '--print-value-only')).toBe('over h2\n');
      const health = JSON.parse(ctl('endpoint', 'health', '-w', 'json'));
      expect(health.map((h: { health: boolean }) => h.health)).toEqual([true, true, true]);
    }
  }, 30_000);

  it('refuses a client without a certificate from the CA, and plain HTTP', async () => {
    const url = tc.clientUrl(1);
    await tc.client(1).status({ timeoutMs: 5000 }); // the port answers a proper client
    const opts = { timeoutMs: 3000 };
    const noCert = new KvClient(url, { tls: { ca: pem('ca.crt') } });
    const otherCa = new KvClient(url, {
      tls: { ca: pem('ca.crt'), cert: pem('rogue.crt'), key: pem('rogue.key') },
    });
    try {
      // Refused in the handshake (an alert or a hang-up): never an HTTP answer.
      for (const client of [noCert, otherCa]) {
        const err = await failure(client.status(opts));
        expect(err).toBeInstanceOf(Error);
        expect(err).not.toBeInstanceOf(KvHttpError);
      }
    } finally {
      noCert.close();
      otherCa.close();
    }
    const plain = new KvClient(tc.cluster.node(1).clientUrl); // http:// to the HTTPS port
    expect(await failure(plain.status(opts))).toBeInstanceOf(Error);
  }, 15_000);

  it('lets a fourth node join through an https:// client URL, presenting --cert-file', async () => {
    const node = await tc.cluster.define(4);
    node.spawn(['--join', tc.clientUrl(1), ...clientTlsFlags('node2')]);
    const kv = await waitFor(
      'node 4 to join and read the put linearizably',
      () => tc.client(4).get('secure', 'linearizable', { timeoutMs: 3000 }),
      20_000,
      200,
    );
    expect(kv).toMatchObject({ value: 'over https' });
    const { voters } = await tc.status(4);
    expect(voters).toContain(4);
  }, 25_000);

  it('exits 2 with a usage error when --client-cert-auth has no --trusted-ca-file', () => {
    const { cmd, args, cwd } = cliCommand();
    const flags = [
      '--cert-file',
      fx('node1.crt'),
      '--key-file',
      fx('node1.key'),
      '--client-cert-auth',
    ];
    const r = spawnSync(cmd, [...args, ...flags], { cwd, encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/raft-kv: --client-cert-auth needs --trusted-ca-file/);
  });
});

describe('KvClient with TLS options', () => {
  it('follows a 307 to another https:// URL, method, body and certificate included', async () => {
    const tls = {
      cert: pem('node2.crt'),
      key: pem('node2.key'),
      ca: pem('ca.crt'),
      requestCert: true,
      rejectUnauthorized: true,
    };
    const seen: string[] = [];
    const leader = https.createServer(tls, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const cn = (req.socket as TLSSocket).getPeerCertificate().subject.CN;
        seen.push(`${req.method} ${req.url} ${body} from ${cn}`);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"revision":7}');
      });
    });
    const follower = https.createServer(tls, (req, res) => {
      const { port } = leader.address() as AddressInfo;
      res.writeHead(307, { location: `https://127.0.0.1:${port}${req.url}` });
      res.end();
      req.resume();
    });
    const listen = (s: https.Server) =>
      new Promise<number>((r) =>
        s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)),
      );
    const port = await listen(follower);
    await listen(leader);
    const client = new KvClient(`https://127.0.0.1:${port}`, { tls: CLIENT });
    try {
      const r = await client.put('k', 'v', { timeoutMs: 3000 });
      expect(r).toEqual({ revision: 7 });
      expect(seen).toEqual(['PUT /v1/kv/k {"value":"v"} from tsraft node 1']);
    } finally {
      client.close();
      leader.closeAllConnections();
      follower.closeAllConnections();
      await Promise.all([leader, follower].map((s) => new Promise((r) => s.close(r))));
    }
  });
});
