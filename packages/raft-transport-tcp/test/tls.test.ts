import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { NodeId } from '@tsraft/raft-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { TlsOptions } from '../src/index.js';
import { certificateNames, describeNames, dnsNames } from '../src/tls-identity.js';
import {
  type Node,
  RawPeer,
  app,
  captureLogger,
  cluster,
  connected,
  makeNode,
  peerStats,
  sleep,
  stopAll,
  waitFor,
} from './helpers.js';

const fx = (f: string) => readFileSync(new URL(`./fixtures/${f}`, import.meta.url));
const ca = fx('ca.crt');
const creds = (name: string): TlsOptions => ({
  key: fx(`${name}.key`),
  cert: fx(`${name}.crt`),
  ca,
});

/** The fixtures' certificates have CN "tsraft node <id>". */
const byCn = (id: NodeId): string => `tsraft node ${id}`;
const bound = (name: string): TlsOptions => ({ ...creds(name), nodeName: byCn });

let nodes: Node[] = [];
afterEach(async () => {
  await stopAll(nodes);
  nodes = [];
});

async function pair(tls1: TlsOptions, tls2: TlsOptions, log1 = captureLogger()) {
  const a = makeNode(1, { tls: tls1, logger: log1 });
  const b = makeNode(2, { tls: tls2 });
  nodes = [a, b];
  await Promise.all([a.t.start(), b.t.start()]);
  a.t.addPeer(2, b.t.addr!);
  b.t.addPeer(1, a.t.addr!);
  return [a, b] as const;
}

describe('mutual TLS', () => {
  it('peers with certificates from the CA connect and exchange both ways', async () => {
    const [a, b] = await pair(creds('node1'), creds('node2'));
    await waitFor(() => connected(a, 2) && connected(b, 1), 'TLS connection');
    for (let i = 1; i <= 100; i++) {
      a.t.send([app(1, 2, i, 1000)]);
      b.t.send([app(2, 1, i)]);
    }
    await waitFor(() => a.got.length === 100 && b.got.length === 100, 'messages');
    expect(b.got.map((m) => m.index)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(a.t.openSockets()).toBe(1);
  });

  it('a peer with a certificate from another CA is refused, in both directions', async () => {
    const log = captureLogger();
    const [a, b] = await pair(
      creds('node1'),
      { key: fx('rogue.key'), cert: fx('rogue.crt'), ca },
      log,
    );
    await waitFor(
      () =>
        (a.t.stats().inbound.rejected.TRANSPORT_TLS ?? 0) >= 1 &&
        peerStats(a, 2).connectFailures >= 1,
      'refusals',
    );
    await sleep(100);
    expect(connected(a, 2) || connected(b, 1)).toBe(false);
    a.t.send([app(1, 2, 1)]);
    b.t.send([app(2, 1, 1)]);
    await sleep(50);
    expect(a.got.length + b.got.length).toBe(0);
    // a refused b's client certificate, and b's server certificate when dialing it.
    expect(log.codes()).toContain('TRANSPORT_TLS');
    expect(peerStats(a, 2).lastError).toBe('TRANSPORT_TLS');
  });

  it('a client without a certificate is refused', async () => {
    const a = makeNode(1, { tls: creds('node1') });
    nodes = [a];
    await a.t.start();
    const [host, port] = a.t.addr!.split(':') as [string, string];
    const s = tls.connect({ host, port: Number(port), ca });
    s.on('error', () => {});
    const closed = new Promise((r) => s.on('close', r));
    s.on('secureConnect', () => s.write('TSRF')); // TLS 1.3: refusal arrives after this
    await closed;
    await waitFor(() => (a.t.stats().inbound.rejected.TRANSPORT_TLS ?? 0) >= 1, 'counted');
    expect(a.t.openSockets()).toBe(0);
  });

  it('plain TCP to a TLS port is refused, and TLS to a plain port is too', async () => {
    const a = makeNode(1, { tls: creds('node1') });
    const p = makeNode(2);
    nodes = [a, p];
    await Promise.all([a.t.start(), p.t.start()]);
    a.t.addPeer(3, '127.0.0.1:1');
    const r = new RawPeer(a.t.addr!);
    await r.connected();
    r.hello({ from: 3, to: 1 });
    expect(await r.reply()).toBeNull();
    await r.closed;
    await waitFor(() => (a.t.stats().inbound.rejected.TRANSPORT_TLS ?? 0) >= 1, 'counted');

    // a dials p (plain): p sees a TLS ClientHello where the magic should be.
    a.t.addPeer(2, p.t.addr!);
    p.t.addPeer(1, '127.0.0.1:1');
    await waitFor(() => (p.t.stats().inbound.rejected.TRANSPORT_BAD_MAGIC ?? 0) >= 1, 'bad magic');
    expect(connected(a, 2)).toBe(false);
  });
});

describe('node identity bound to certificates (tls.nodeName)', () => {
  const MISMATCH = 'TRANSPORT_IDENTITY_MISMATCH';

  it('nodes whose certificates name their ids connect and exchange both ways', async () => {
    const [a, b] = await pair(bound('node1'), bound('node2'));
    await waitFor(() => connected(a, 2) && connected(b, 1), 'TLS connection');
    for (let i = 1; i <= 20; i++) {
      a.t.send([app(1, 2, i)]);
      b.t.send([app(2, 1, i)]);
    }
    await waitFor(() => a.got.length === 20 && b.got.length === 20, 'messages');
    expect(peerStats(a, 2).lastError).toBeNull();
    expect(a.t.stats().inbound.rejected[MISMATCH]).toBeUndefined();
  });

  it("a node presenting another node's certificate is refused on accept and on dial", async () => {
    // 1 and 3 are honest; 2 claims id 2 with node 1's (valid) certificate and checks nothing.
    const log = captureLogger();
    const [a, b, c] = await cluster([1, 2, 3], (id) => ({
      tls: id === 2 ? creds('node1') : bound(`node${id}`),
      ...(id === 1 ? { logger: log } : {}),
    }));
    nodes = [a!, b!, c!];
    await waitFor(
      () =>
        connected(a!, 3) &&
        connected(c!, 1) &&
        // b dialed a and c: refused on accept, counted like other refusals.
        (a!.t.stats().inbound.rejected[MISMATCH] ?? 0) >= 1 &&
        (c!.t.stats().inbound.rejected[MISMATCH] ?? 0) >= 1 &&
        // a and c dialed b: b's certificate does not name node 2, refused before HELLO.
        peerStats(a!, 2).lastError === MISMATCH &&
        peerStats(c!, 2).lastError === MISMATCH &&
        // b hears why (REJECT reason).
        peerStats(b!, 1).lastError === MISMATCH &&
        peerStats(b!, 3).lastError === MISMATCH,
      'both refusals on both honest nodes',
    );
    expect(peerStats(a!, 2).connectFailures).toBeGreaterThanOrEqual(1);
    expect(peerStats(a!, 2).malformed).toBe(0);

    // The good pair keeps working; the impostor gets nothing through either way.
    for (let i = 1; i <= 20; i++) {
      a!.t.send([app(1, 3, i), app(1, 2, i)]);
      c!.t.send([app(3, 1, i)]);
      b!.t.send([app(2, 1, i), app(2, 3, i)]);
    }
    await waitFor(() => a!.got.length === 20 && c!.got.length === 20, 'messages 1 <-> 3');
    expect(a!.got.every((m) => m.from === 3)).toBe(true);
    expect(c!.got.every((m) => m.from === 1)).toBe(true);
    expect(b!.got).toHaveLength(0);
    expect(connected(a!, 2) || connected(b!, 1) || connected(c!, 2)).toBe(false);

    // Logged with the claimed id and the names the certificate carries.
    const lines = log.lines.filter((l) => l.obj.code === MISMATCH);
    expect(lines.some((l) => l.msg?.includes('inbound connection refused'))).toBe(true);
    expect(lines.some((l) => l.msg?.includes('dial failed'))).toBe(true);
    for (const l of lines) {
      expect(l.level).toBe('warn');
      expect(l.obj.peer).toBe(2);
      expect(l.obj.err).toContain('CN "tsraft node 1"');
      expect(l.obj.err).toContain('"tsraft node 2"');
    }
  });

  it('without nodeName, any certificate from the CA may claim any id (the default)', async () => {
    const [a, b] = await pair(creds('node1'), creds('node1'));
    await waitFor(() => connected(a, 2) && connected(b, 1), 'TLS connection');
  });

  it('a DNS SAN names a node as well as the CN does (case-insensitive)', async () => {
    // Every fixture certificate carries DNS:localhost.
    const san = (name: string): TlsOptions => ({ ...creds(name), nodeName: () => 'LocalHost' });
    const [a, b] = await pair(san('node1'), san('node2'));
    await waitFor(() => connected(a, 2) && connected(b, 1), 'TLS connection');
  });

  it('reads CNs and DNS SANs from node:tls certificates, quoted values included', () => {
    expect(dnsNames('IP Address:127.0.0.1, DNS:localhost')).toEqual(['localhost']);
    expect(dnsNames('DNS:"a, DNS:b", URI:x, DNS:c')).toEqual(['a, DNS:b', 'c']);
    expect(dnsNames('')).toEqual([]);
    expect(certificateNames({} as never)).toEqual({ cn: [], dns: [] });
    const names = certificateNames({
      subject: { CN: ['x', 'y'] },
      subjectaltname: 'DNS:n1.example',
    } as never);
    expect(describeNames(names)).toBe('CN "x", CN "y", DNS "n1.example"');
  });
});

describe('stop()', () => {
  it('does not wait for a TLS handshake in progress', async () => {
    const a = makeNode(1, { tls: creds('node1'), handshakeTimeout: 30_000 });
    nodes = [a];
    await a.t.start();
    const r = new RawPeer(a.t.addr!); // connects, never says a word
    await r.connected();
    const t0 = Date.now();
    await a.t.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
    await r.closed;
  }, 5000);
});
