// Test helpers: free ports, temp data dirs, a counter state machine, clusters in one process.
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import {
  type AppliedEntry,
  RaftNode,
  type RaftNodeOptions,
  type AnyStateMachine,
  type SnapshotSource,
  type StateMachine,
  readAll,
  snapshotOf,
} from '../src/index.js';

export const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

/** Ports the OS just handed out (and we released): free unless someone grabs them first. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

export async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'raft-node-'));
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function op(n: number): Uint8Array {
  return enc.encode(String(n));
}

/** Adds each entry's number to a total; the result of an entry is the total after it. */
export class Counter implements StateMachine<number> {
  total = 0;
  applied: AppliedEntry[] = [];
  restores = 0;

  apply(entries: readonly AppliedEntry[]): number[] {
    return entries.map((e) => {
      this.total += Number(dec.decode(e.data));
      this.applied.push(e);
      return this.total;
    });
  }

  snapshot(): SnapshotSource {
    return snapshotOf(enc.encode(String(this.total)));
  }

  async restore(from: AsyncIterable<Uint8Array>): Promise<void> {
    this.restores++;
    this.total = Number(dec.decode(await readAll(from)));
  }
}

/** Records every applied number in order; snapshots carry the whole list. */
export class Recorder implements StateMachine<number> {
  values: number[] = [];
  apply(entries: readonly AppliedEntry[]): number[] {
    for (const e of entries) this.values.push(Number(dec.decode(e.data)));
    return entries.map(() => this.values.length);
  }
  snapshot(): SnapshotSource {
    return snapshotOf(enc.encode(JSON.stringify(this.values)));
  }
  async restore(from: AsyncIterable<Uint8Array>): Promise<void> {
    this.values = JSON.parse(dec.decode(await readAll(from))) as number[];
  }
}

export type TestNode = RaftNode<number> & { counter: Counter; dir: string; address: string };

export type NodeOverrides = Partial<RaftNodeOptions<number>> & {
  /** A state machine of the test's instead of a Counter (`counter` is then unused). */
  stateMachineFor?: (dir: string, id: number) => AnyStateMachine<number>;
};

export const FAST = { tickMs: 10, electionTick: 10, heartbeatTick: 1 } as const;

export function makeNode(
  id: number,
  address: string,
  dir: string,
  peers: Record<number, string>,
  overrides: NodeOverrides = {},
  sm = new Counter(),
): TestNode {
  const { stateMachineFor, ...options } = overrides;
  const node = new RaftNode<number>({
    id,
    peers,
    dataDir: dir,
    listen: address,
    stateMachine: stateMachineFor?.(dir, id) ?? sm,
    logger,
    ...FAST,
    ...options,
  }) as TestNode;
  node.counter = sm;
  node.dir = dir;
  node.address = address;
  return node;
}

export class Cluster {
  readonly nodes = new Map<number, TestNode>();
  readonly dirs: string[] = [];
  peers: Record<number, string> = {};

  static async start(n: number, overrides: NodeOverrides = {}): Promise<Cluster> {
    const c = new Cluster();
    const ports = await freePorts(n);
    for (let i = 0; i < n; i++) c.peers[i + 1] = `127.0.0.1:${ports[i]}`;
    for (let i = 1; i <= n; i++) {
      const dir = await tempDir();
      c.dirs.push(dir);
      c.nodes.set(i, makeNode(i, c.peers[i]!, dir, c.peers, overrides));
    }
    await Promise.all([...c.nodes.values()].map((x) => x.start()));
    return c;
  }

  node(id: number): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  running(): TestNode[] {
    return [...this.nodes.values()].filter((n) => n.state === 'running');
  }

  /** Waits until every running node agrees on one leader; returns it. */
  async leader(timeoutMs = 10_000): Promise<TestNode> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const nodes = this.running();
      const l = nodes[0]?.leader();
      if (l != null && nodes.every((n) => n.leader() === l) && this.nodes.get(l)?.isLeader()) {
        return this.nodes.get(l)!;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const seen = this.running().map((n) => `${n.id}:${JSON.stringify(n.leaderState())}`);
    throw new Error(`no agreed leader in time (${seen.join(' ')})`);
  }

  followers(leader: number): TestNode[] {
    return this.running().filter((n) => n.id !== leader);
  }

  /** Restarts node `id` from its data dir (it must have been stopped). */
  async restart(id: number, overrides: NodeOverrides = {}): Promise<TestNode> {
    const old = this.node(id);
    await old.stop();
    const n = makeNode(id, old.address, old.dir, this.peers, overrides);
    this.nodes.set(id, n);
    await n.start();
    return n;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.stop()));
    await Promise.all(this.dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

/** Polls `pred` until it holds, or throws after `timeoutMs`. */
export async function until(
  pred: () => boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
