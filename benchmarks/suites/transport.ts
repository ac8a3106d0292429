// transport — @tsraft/raft-transport-tcp against a bare Node TCP socket, on 127.0.0.1.
//
// Workloads (shared/BENCHMARKS.md, "transport"):
// - one-way throughput: N MsgApp messages from node 1 to node 2, each with one entry whose
//   payload is 128 B or 16 KiB, handed to send() in groups of GROUP (as a Ready's messages
//   would be); messages/s and payload MB/s (1 MB = 10^6 B) from the first send to the last
//   delivery. The bare socket writes the same payload bytes, GROUP payloads per write, and the
//   receiver counts bytes: no framing, no protobuf, no queue — the floor our overhead sits on.
// - round-trip latency: a MsgHeartbeat to node 2, whose onMessage answers MsgHeartbeatResp at
//   once; the next ping leaves when the answer arrives. The bare socket echoes a 16-byte
//   message. p50 and p99 over M round trips per run.
//
// Both ends of a pair live in one process (one event loop, one core): the figures are the
// cost of sending plus receiving. Each implementation runs in its own child process, and the
// two alternate round by round; a round's ratio compares two children that ran back to back.
// Both sides keep at most IN_FLIGHT bytes of payload unreceived, so the transport's bounded
// queue never drops (a drop would fail the run).
import net from 'node:net';
import { type Message, MessageType, type NodeId, newEntry, newMessage } from '@tsraft/raft-core';
import { TcpTransport } from '@tsraft/raft-transport-tcp';
import { runInChild } from '../lib/child.js';
import { collectGarbage } from '../lib/measure.js';
import type { SuiteContext } from '../lib/suite.js';

const IMPLS = ['tsraft', 'bare-tcp'] as const;
type Impl = (typeof IMPLS)[number];

export const SIZES = [
  { label: '128B', bytes: 128, n: 200_000, quickN: 20_000 },
  { label: '16KiB', bytes: 16 << 10, n: 20_000, quickN: 2_000 },
] as const;
const GROUP = 64;
const IN_FLIGHT = 4 << 20;
const RTT_N = 5_000;
const RTT_QUICK_N = 500;
const SMALL = 16;

export interface Throughput {
  msgsPerSec: number;
  mbPerSec: number;
}

export interface TransportFigures {
  throughput: Record<string, Throughput>;
  rttP50Us: number;
  rttP99Us: number;
}

interface Pair {
  /** Sends `count` payloads one way; resolves when all have been received. */
  oneWay(size: number, count: number): Promise<void>;
  /** One round trip of a small message; resolves with its duration in ns. */
  ping(): Promise<number>;
  close(): Promise<void>;
}

// ---- ours ------------------------------------------------------------------------------

async function tsraftPair(): Promise<Pair> {
  let received = 0;
  let want = 0;
  let done: (() => void) | null = null;
  let pong: (() => void) | null = null;
  const mk = (id: NodeId, onMessage: (m: Message) => void) =>
    new TcpTransport({
      id,
      clusterId: 'bench',
      listen: '127.0.0.1:0',
      onMessage,
      maxQueueBytes: 64 << 20,
    });
  let b: TcpTransport | null = null;
  const pongMsg = newMessage({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, term: 1 });
  const a = mk(1, (m) => {
    if (m.type === MessageType.MsgHeartbeatResp) pong?.();
  });
  b = mk(2, (m) => {
    if (m.type === MessageType.MsgHeartbeat) {
      b!.send([pongMsg]);
      return;
    }
    if (++received === want) done?.();
  });
  await Promise.all([a.start(), b.start()]);
  a.addPeer(2, b.addr!);
  b.addPeer(1, a.addr!);
  await until(() => a.stats().peers[0]!.connection === 'connected');
  const pingMsg = newMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: 1 });
  return {
    async oneWay(size, count) {
      const entry = newEntry({ term: 1, index: 0, data: new Uint8Array(size).fill(7) });
      const batch: Message[] = [];
      for (let i = 0; i < GROUP; i++) {
        batch.push(
          newMessage({ type: MessageType.MsgApp, from: 1, to: 2, term: 1, entries: [entry] }),
        );
      }
      received = 0;
      want = count;
      const finished = new Promise<void>((r) => (done = r));
      const maxAhead = Math.max(GROUP, Math.floor(IN_FLIGHT / size));
      let sent = 0;
      while (sent < count) {
        if (sent - received >= maxAhead) {
          await new Promise((r) => setImmediate(r));
          continue;
        }
        const k = Math.min(GROUP, count - sent);
        for (let i = 0; i < k; i++) batch[i]!.index = sent + i;
        a.send(k === GROUP ? batch : batch.slice(0, k));
        sent += k;
      }
      await finished;
      const dropped = a.stats().peers[0]!.dropped;
      if (dropped.queueFull + dropped.unreachable + dropped.tooLarge > 0) {
        throw new Error(`transport dropped messages: ${JSON.stringify(dropped)}`);
      }
    },
    ping() {
      return new Promise<number>((resolve) => {
        const t0 = process.hrtime.bigint();
        pong = () => resolve(Number(process.hrtime.bigint() - t0));
        a.send([pingMsg]);
      });
    },
    async close() {
      await Promise.all([a.stop(), b!.stop()]);
    },
  };
}

// ---- bare socket -----------------------------------------------------------------------

async function barePair(): Promise<Pair> {
  let receivedBytes = 0;
  let wantBytes = 0;
  let mode: 'bulk' | 'echo' = 'bulk';
  let done: (() => void) | null = null;
  let echoed = 0;
  let pong: (() => void) | null = null;
  let serverSide: net.Socket | null = null;
  const server = net.createServer({ noDelay: true }, (s) => {
    serverSide = s;
    s.on('data', (d: Buffer) => {
      if (mode === 'bulk') {
        receivedBytes += d.length;
        if (receivedBytes === wantBytes) done?.();
        return;
      }
      // Echo a small message once all of it has arrived.
      receivedBytes += d.length;
      while (receivedBytes >= SMALL) {
        receivedBytes -= SMALL;
        s.write(d.length === SMALL ? d : d.subarray(0, SMALL));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect({ host: '127.0.0.1', port, noDelay: true });
  await new Promise<void>((r) => client.once('connect', () => r()));
  await until(() => serverSide !== null);
  client.on('data', (d: Buffer) => {
    echoed += d.length;
    while (echoed >= SMALL) {
      echoed -= SMALL;
      pong?.();
    }
  });
  const small = Buffer.alloc(SMALL, 1);
  return {
    async oneWay(size, count) {
      mode = 'bulk';
      const chunk = Buffer.alloc(size * GROUP, 7);
      receivedBytes = 0;
      wantBytes = size * count;
      const finished = new Promise<void>((r) => (done = r));
      const maxAhead = Math.max(GROUP, Math.floor(IN_FLIGHT / size)) * size;
      let sent = 0;
      while (sent < count) {
        if (sent * size - receivedBytes >= maxAhead || client.writableNeedDrain) {
          await new Promise((r) => setImmediate(r));
          continue;
        }
        const k = Math.min(GROUP, count - sent);
        client.write(k === GROUP ? chunk : chunk.subarray(0, k * size));
        sent += k;
      }
      await finished;
    },
    ping() {
      mode = 'echo';
      receivedBytes = 0;
      return new Promise<number>((resolve) => {
        const t0 = process.hrtime.bigint();
        pong = () => resolve(Number(process.hrtime.bigint() - t0));
        client.write(small);
      });
    },
    async close() {
      client.destroy();
      serverSide?.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('benchmark setup timed out');
    await new Promise((r) => setTimeout(r, 1));
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** One round for one implementation, in a child process: a warm-up, then every workload. */
export async function measureTransport(input: {
  impl: Impl;
  quick: boolean;
}): Promise<TransportFigures> {
  const pair = input.impl === 'tsraft' ? await tsraftPair() : await barePair();
  try {
    const throughput: Record<string, Throughput> = {};
    for (const s of SIZES) {
      const n = input.quick ? s.quickN : s.n;
      await pair.oneWay(s.bytes, Math.ceil(n / 10)); // warm-up
      collectGarbage();
      const t0 = process.hrtime.bigint();
      await pair.oneWay(s.bytes, n);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      throughput[s.label] = { msgsPerSec: n / secs, mbPerSec: (n * s.bytes) / secs / 1e6 };
    }
    const m = input.quick ? RTT_QUICK_N : RTT_N;
    for (let i = 0; i < m / 10; i++) await pair.ping(); // warm-up
    collectGarbage();
    const rtts: number[] = [];
    for (let i = 0; i < m; i++) rtts.push(await pair.ping());
    rtts.sort((x, y) => x - y);
    return {
      throughput,
      rttP50Us: percentile(rtts, 0.5) / 1000,
      rttP99Us: percentile(rtts, 0.99) / 1000,
    };
  } finally {
    await pair.close();
  }
}

export default async function run(ctx: SuiteContext): Promise<void> {
  const rounds = ctx.quick ? 2 : 5;
  const byImpl: Record<Impl, TransportFigures[]> = { tsraft: [], 'bare-tcp': [] };
  for (let r = 0; r < rounds; r++) {
    for (const impl of IMPLS) {
      const f = await runInChild<TransportFigures>(
        { module: import.meta.url, fn: 'measureTransport', input: { impl, quick: ctx.quick } },
        { timeoutMs: 300_000 },
      );
      byImpl[impl].push(f);
      const tp = Object.entries(f.throughput)
        .map(([k, v]) => `${k} ${Math.round(v.msgsPerSec).toLocaleString('en-US')} msgs/s`)
        .join(', ');
      ctx.log(
        `round ${r + 1}/${rounds} ${impl}: ${tp}, rtt p50 ${f.rttP50Us.toFixed(1)} us p99 ${f.rttP99Us.toFixed(1)} us`,
      );
    }
  }
  const ours = byImpl.tsraft;
  const bare = byImpl['bare-tcp'];
  for (const s of SIZES) {
    for (const impl of IMPLS) {
      const runs = byImpl[impl].map((f) => f.throughput[s.label]!);
      const params = { size: s.label, impl };
      ctx.record({
        name: 'one-way',
        params,
        unit: 'msgs/s',
        samples: runs.map((x) => x.msgsPerSec),
      });
      ctx.record({ name: 'one-way', params, unit: 'MB/s', samples: runs.map((x) => x.mbPerSec) });
    }
    ctx.record({
      name: 'one-way',
      params: { size: s.label, vs: 'bare-tcp' },
      unit: 'ratio ours/bare',
      samples: ours.map(
        (f, i) => f.throughput[s.label]!.msgsPerSec / bare[i]!.throughput[s.label]!.msgsPerSec,
      ),
    });
  }
  for (const impl of IMPLS) {
    const runs = byImpl[impl];
    ctx.record({
      name: 'rtt p50',
      params: { impl },
      unit: 'us',
      samples: runs.map((f) => f.rttP50Us),
    });
    ctx.record({
      name: 'rtt p99',
      params: { impl },
      unit: 'us',
      samples: runs.map((f) => f.rttP99Us),
    });
  }
  ctx.record({
    name: 'rtt p50',
    params: { vs: 'bare-tcp' },
    unit: 'ratio ours/bare',
    samples: ours.map((f, i) => f.rttP50Us / bare[i]!.rttP50Us),
  });
  ctx.record({
    name: 'rtt p99',
    params: { vs: 'bare-tcp' },
    unit: 'ratio ours/bare',
    samples: ours.map((f, i) => f.rttP99Us / bare[i]!.rttP99Us),
  });
  ctx.note(
    `both ends in one process per implementation (send + receive cost on one core); ${GROUP} messages per send() / per bare write; ` +
      'MB/s counts payload bytes only (10^6 B); throughput ratio above 1 means tsraft is faster, rtt ratio above 1 means tsraft is slower',
  );
  ctx.note(
    `one-way messages are MsgApp with one entry of the given payload (encoded ~${SIZES.map((s) => s.bytes + 20).join('/')} B); ` +
      `rtt is MsgHeartbeat -> MsgHeartbeatResp (tsraft) vs a ${SMALL}-byte echo (bare), ${RTT_N} round trips per run`,
  );
}
