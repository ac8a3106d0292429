// The message bus example: three RaftHosts in one process (on 127.0.0.1, ports PORT..PORT+2,
// default 7101), a topic "orders" of 4 partitions. Produce through host 2, consume a
// partition through host 3, commit the consumer's offset and read it back through host 1.
//
//   node --conditions=source --import tsx packages/raft-node/examples/message-bus/main.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { RaftHost } from '../../src/index.js';
import { MessageBus } from './bus.js';

const base = Number(process.env.PORT ?? 7101);
const peers = { 1: `127.0.0.1:${base}`, 2: `127.0.0.1:${base + 1}`, 3: `127.0.0.1:${base + 2}` };
const dir = await mkdtemp(path.join(tmpdir(), 'message-bus-'));
const logger = pino({ level: 'error' }); // hosts dialing each other while they start warn
const hosts = [1, 2, 3].map(
  (id) =>
    new RaftHost({
      id,
      listen: peers[id as 1],
      dataDir: path.join(dir, `host-${id}`),
      peers,
      logger,
    }),
);
try {
  await Promise.all(hosts.map((h) => h.start()));
  const buses = hosts.map((h) => new MessageBus(h, { orders: 4 }, [1, 2, 3]));
  await Promise.all(buses.map((b) => b.open()));
  const [bus1, bus2, bus3] = buses as [MessageBus, MessageBus, MessageBus];

  const enc = new TextEncoder();
  const produced = [];
  for (const [key, what] of [
    ['alice', 'book'],
    ['bob', 'lamp'],
    ['alice', 'pen'],
  ]) {
    const at = await bus2.produce('orders', key!, enc.encode(what!));
    produced.push(at);
    console.log(`produced ${key}:${what} -> partition ${at.partition}, offset ${at.offset}`);
  }

  // alice's orders share a partition (same key), in order.
  const p = produced[0]!.partition;
  const ac = new AbortController();
  const seen: string[] = [];
  for await (const r of bus3.consume('orders', p, 0, { signal: ac.signal })) {
    seen.push(`${r.offset}:${r.key}:${new TextDecoder().decode(r.value)}`);
    if (r.offset === produced[2]!.offset) ac.abort();
  }
  console.log(`consumed partition ${p}: ${seen.join(' ')}`);

  await bus3.commitOffset('billing', 'orders', p, produced[2]!.offset + 1);
  console.log(
    `billing's offset on partition ${p}: ${await bus1.committedOffset('billing', 'orders', p)}`,
  );
} finally {
  await Promise.all(hosts.map((h) => h.stop()));
  await rm(dir, { recursive: true, force: true });
}
