import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import type { TlsOptions } from '../src/index.js';
import {
  type Node,
  RawPeer,
  app,
  captureLogger,
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
