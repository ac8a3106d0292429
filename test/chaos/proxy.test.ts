// The chaos suite's peer proxy between two real transports on 127.0.0.1: it forwards, a cut
// pair goes silent (a black hole, not a reset), and heal lets the transports reconnect.
import { type Message, MessageType, newMessage } from '@tsraft/raft-core';
import { TcpTransport } from '@tsraft/raft-transport-tcp';
import { afterEach, expect, it } from 'vitest';
import { PeerProxy } from './proxy.js';

const proxy = new PeerProxy();
const transports: TcpTransport[] = [];
afterEach(async () => {
  await Promise.all(transports.map((t) => t.stop()));
  await proxy.close();
});

async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

it('forwards, black-holes a cut pair, and heals', async () => {
  const got: Message[] = [];
  const fast = {
    backoff: { initialInterval: 5, maxInterval: 50, multiplier: 2, jitter: 0.2 },
    breaker: { failureThreshold: 1000, resetTimeout: 50 },
  };
  const t1 = new TcpTransport({
    id: 1,
    clusterId: 'c',
    listen: '127.0.0.1:0',
    onMessage: () => {},
    ...fast,
  });
  const t2 = new TcpTransport({
    id: 2,
    clusterId: 'c',
    listen: '127.0.0.1:0',
    onMessage: (m) => got.push(m),
    ...fast,
  });
  transports.push(t1, t2);
  await Promise.all([t1.start(), t2.start()]);
  const port2 = Number(t2.addr!.split(':')[1]);
  const port1 = Number(t1.addr!.split(':')[1]);
  // Each dials the other through the proxy, as raft-kv nodes advertising their proxy do.
  t1.addPeer(2, await proxy.listen(2, () => port2));
  t2.addPeer(1, await proxy.listen(1, () => port1));
  const hb = (commit: number) =>
    newMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: 1, commit });

  t1.send([hb(1)]);
  await until(() => got.some((m) => m.commit === 1), 'a heartbeat through the proxy');

  proxy.cutPair(1, 2);
  t1.send([hb(2)]);
  await new Promise((r) => setTimeout(r, 200));
  expect(got.some((m) => m.commit === 2)).toBe(false);
  expect(proxy.holed).toBe(1);

  proxy.heal();
  await until(() => {
    t1.send([hb(3)]);
    return got.some((m) => m.commit === 3);
  }, 'a heartbeat after healing');
});
