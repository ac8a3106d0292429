// multiraft — RaftHost (issue 13): many raft groups per process. Three host processes on
// 127.0.0.1 (lib/multiraft-host.ts), each a RaftHost with durable storage (one LevelDB,
// synced batches shared by all groups) and 100 ms ticks; every group has members 1, 2, 3.
//
//   idle      --groups G (10,000; --quick 100) groups per host, elected and quiesced: CPU per
//             host in % of one core over --idle-seconds (60; --quick 5, in 5 windows), RSS.
//   active    16-byte proposals from --clients (64; --quick 8) in-process clients per host,
//             spread over 1, 10 and --active-groups (1,000; --quick 50) groups, --seconds (10;
//             --quick 2) each in 5 windows: committed writes/s over all hosts, p99 ms, and CPU
//             ms per committed write (all hosts). --clients 64,1000 runs each count on the same
//             cluster (throughput = writes in flight / latency: few clients can cap it);
//             --active-sizes 1000,5000 runs those group counts instead of 1, 10, 1,000. Each
//             window also logs per-write counters: CPU, syscalls, Ready passes and group loops,
//             ticks, synced batches, storage writes, messages and bytes sent. --warmup S runs
//             S seconds of the same load first, not recorded (the first seconds cost more).
//   failover  with G groups: SIGKILL the host leading the most groups, time until every group
//             on the other two knows a live leader (then each commits a write: none lost);
//   restart   the killed host back on its data directory: time until its G groups are open
//             again, and its RSS. Failover and restart repeat --runs times (5; --quick 1).
//
//   npx -y pnpm@10 bench multiraft --quick
//   npx -y pnpm@10 bench multiraft --only idle,failover --groups 1000
//   npx -y pnpm@10 bench multiraft --only active --cpu-prof /tmp/prof   (a .cpuprofile per host
//             process and cluster, written when the host stops; --alloc-prof DIR: a
//             .heapprofile per host of sampled allocations, garbage included: what the GC works on)
//   --semi-space MiB  each host process runs node with --max-semi-space-size=MiB (64; 0: V8's
//             default). A host under load keeps thousands of requests in flight for a few hundred
//             ms, and garbage collection was a quarter of its CPU: with a larger young generation
//             fewer of them outlive it (CPU per write at 1,000 groups ~0.20 -> ~0.155 ms).
//
// Heavy with the defaults (30,000 group replicas, minutes of load): the machine should be
// otherwise idle for figures worth quoting.
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleOf } from '../../packages/kv-server/bin/source-bundle.mjs';
import { onEmergencyExit, stopGroup, trackProcessGroup } from '../lib/cleanup.js';
import type { SuiteContext } from '../lib/suite.js';

/**
 * The host process: lib/multiraft-host.ts and the packages' sources bundled by esbuild, as
 * users run compiled code. Under tsx (esbuild's keepNames) every closure got its name by a
 * defineProperty: 13% of a RaftHost's heap, and a property dictionary per closure made.
 */
let hostBundle: Promise<string> | null = null;
const hostMain = (): Promise<string> => {
  hostBundle ??= bundleOf({
    entry: fileURLToPath(new URL('../lib/multiraft-host.ts', import.meta.url)),
    cache: fileURLToPath(new URL('../node_modules/.cache/multiraft-host', import.meta.url)),
  }).then(fileURLToPath);
  return hostBundle;
};
const MiB = 2 ** 20;

interface Options {
  only: Set<string>;
  groups: number;
  idleSeconds: number;
  /** In-process clients per host, one active run per count. */
  clients: number[];
  activeGroups: number;
  seconds: number;
  runs: number;
  /** Group counts of the active part (1, 10 and activeGroups unless --active-sizes). */
  activeSizes: number[] | null;
  /** A directory for the host processes' --cpu-prof files, or null. */
  cpuProf: string | null;
  /** A directory for the host processes' allocation profiles, or null. */
  allocProf: string | null;
  /** Seconds of load, not measured, before each active figure (0: none). */
  warmup: number;
  /** The host processes' --max-semi-space-size in MiB (0: V8's default). */
  semiSpace: number;
}

function parseArgs(args: readonly string[], quick: boolean): Options {
  const o: Options = {
    only: new Set(['idle', 'active', 'failover', 'restart']),
    groups: quick ? 100 : 10_000,
    idleSeconds: quick ? 5 : 60,
    clients: [quick ? 8 : 64],
    activeGroups: quick ? 50 : 1000,
    seconds: quick ? 2 : 10,
    runs: quick ? 1 : 5,
    activeSizes: null,
    cpuProf: null,
    allocProf: null,
    warmup: 0,
    semiSpace: 64,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[i + 1];
    const num = (): number => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${a} wants a positive integer`);
      i++;
      return n;
    };
    if (a === '--only') {
      o.only = new Set((v ?? '').split(','));
      i++;
    } else if (a === '--groups') o.groups = num();
    else if (a === '--idle-seconds') o.idleSeconds = num();
    else if (a === '--clients') {
      const counts = (v ?? '').split(',').map(Number);
      if (!counts.every((n) => Number.isSafeInteger(n) && n > 0)) {
        throw new Error('--clients wants positive integers, comma-separated');
      }
      o.clients = counts;
      i++;
    } else if (a === '--active-groups') o.activeGroups = num();
    else if (a === '--seconds') o.seconds = num();
    else if (a === '--runs') o.runs = num();
    else if (a === '--active-sizes') {
      const sizes = (v ?? '').split(',').map(Number);
      if (!sizes.every((n) => Number.isSafeInteger(n) && n > 0)) {
        throw new Error('--active-sizes wants positive integers, comma-separated');
      }
      o.activeSizes = sizes;
      i++;
    } else if (a === '--warmup') {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error('--warmup wants seconds (>= 0)');
      o.warmup = n;
      i++;
    } else if (a === '--cpu-prof') {
      if (v === undefined) throw new Error('--cpu-prof wants a directory');
      o.cpuProf = v;
      i++;
    } else if (a === '--semi-space') {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 0) throw new Error('--semi-space wants MiB (>= 0)');
      o.semiSpace = n;
      i++;
    } else if (a === '--alloc-prof') {
      if (v === undefined) throw new Error('--alloc-prof wants a directory');
      o.allocProf = v;
      i++;
    } else throw new Error(`multiraft: unknown option ${a}`);
  }
  return o;
}

async function freePorts(n: number): Promise<number[]> {
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

/** One host process and its IPC calls. */
class HostProc {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private untrack: () => void = () => {};
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { resolve(v: unknown): void; reject(e: Error): void }
  >();

  constructor(
    readonly id: number,
    readonly listen: string,
    readonly dataDir: string,
    /** Node options added to the host process's (--cpu-prof). */
    private readonly execArgv: readonly string[] = [],
    /** A directory for the host's allocation profile (written when it stops), or null. */
    private readonly allocProf: string | null = null,
  ) {}

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  async spawn(peers: Record<number, string>): Promise<void> {
    const child = fork(await hostMain(), [], {
      execArgv: ['--enable-source-maps', ...this.execArgv],
      detached: true, // its own process group: SIGKILLed with the suite if it fails
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child = child;
    this.untrack = trackProcessGroup(child.pid!, `multiraft host ${this.id}`);
    this.exited = new Promise((r) => child.once('exit', () => r()));
    child.on('message', (msg) => {
      const m = msg as { id: number; ok: boolean; value?: unknown; error?: string };
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.ok) w?.resolve(m.value);
      else w?.reject(new Error(`host ${this.id}: ${m.error}`));
    });
    child.once('exit', (code, signal) => {
      for (const w of this.waiting.values()) {
        w.reject(new Error(`host ${this.id} exited (${code ?? signal})`));
      }
      this.waiting.clear();
    });
    await this.call('start', {
      hostId: this.id,
      listen: this.listen,
      dataDir: this.dataDir,
      peers,
      allocProf: this.allocProf,
    });
  }

  call<T = Record<string, number>>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child!.send({ id, cmd, ...args });
    });
  }

  async kill(): Promise<void> {
    process.kill(-this.pid, 'SIGKILL');
    await this.exited;
    this.untrack();
  }

  async stop(): Promise<void> {
    if (this.child === null || this.child.exitCode !== null || this.child.signalCode !== null) {
      this.untrack();
      return;
    }
    await this.call('stop').catch(() => {});
    await stopGroup(this.pid, this.exited);
    this.untrack();
  }
}

class Cluster {
  readonly hosts: HostProc[] = [];
  private readonly base = mkdtempSync(join(tmpdir(), 'tsraft-bench-multiraft-'));
  private readonly unregister = onEmergencyExit(() =>
    rmSync(this.base, { recursive: true, force: true }),
  );
  peers: Record<number, string> = {};

  constructor(private readonly o: Options) {}

  async start(): Promise<void> {
    const ports = await freePorts(3);
    for (let i = 1; i <= 3; i++) this.peers[i] = `127.0.0.1:${ports[i - 1]}`;
    for (let i = 1; i <= 3; i++) {
      const prof =
        this.o.cpuProf === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${this.o.cpuProf}`];
      if (this.o.semiSpace > 0) prof.push(`--max-semi-space-size=${this.o.semiSpace}`);
      const dir = join(this.base, `host-${i}`);
      this.hosts.push(new HostProc(i, this.peers[i]!, dir, prof, this.o.allocProf));
    }
    await Promise.all(this.hosts.map((h) => h.spawn(this.peers)));
  }

  async open(groups: number): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.call('open', { groups })));
    await Promise.all(this.hosts.map((h) => h.call('wait')));
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.hosts.map((h) => h.stop()));
    rmSync(this.base, { recursive: true, force: true });
    this.unregister();
  }
}

function p99(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]!;
}

/**
 * Waits until no host leads more than its share of the groups, where leader balancing stops
 * (it moves a bounded number per round): the idle figures are of the steady state. (Within a
 * tenth of the share, as this waited for before, balancing went on for up to ~280 transfers
 * during the idle windows, half of their CPU.)
 */
async function balanced(c: Cluster, groups: number): Promise<number> {
  const t0 = performance.now();
  const most = Math.ceil(groups / 3);
  for (;;) {
    const stats = await Promise.all(c.hosts.map((h) => h.call('stats')));
    if (stats.every((s) => s.leaders! <= most)) return performance.now() - t0;
    if (performance.now() - t0 > 600_000) {
      throw new Error(`leaderships not balanced in 600 s: ${stats.map((s) => s.leaders)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function idle(ctx: SuiteContext, o: Options): Promise<void> {
  const c = new Cluster(o);
  try {
    await c.start();
    await c.open(o.groups);
    ctx.log(`idle: ${o.groups} groups per host open and led; waiting for balance, quiescence`);
    const ms = await balanced(c, o.groups);
    ctx.log(`idle: leaderships balanced after ${ms.toFixed(0)} ms`);
    await Promise.all(c.hosts.map((h) => h.call('wait', { quiesced: true })));
    const windows = 5;
    const cpu: number[] = [];
    const rss: number[] = [];
    const stats = () => Promise.all(c.hosts.map((h) => h.call('stats')));
    // Back-to-back windows: each starts where the one before ended.
    const first = await stats();
    let last = first;
    for (let w = 0; w < windows; w++) {
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, (o.idleSeconds * 1000) / windows));
      const after = await stats();
      const secs = (performance.now() - t0) / 1000;
      for (let i = 0; i < 3; i++) {
        cpu.push((100 * (after[i]!.cpuSeconds! - last[i]!.cpuSeconds!)) / secs);
        rss.push(after[i]!.rssBytes! / MiB);
      }
      last = after;
    }
    // What idle hosts still did: each of these wakes groups, or writes.
    const did = (k: 'leaderTransfers' | 'groupTicks' | 'readyGroups' | 'batches') =>
      last.map((s, i) => s[k]! - first[i]![k]!).join('/');
    ctx.log(
      `idle: over ${o.idleSeconds} s, per host: ${did('leaderTransfers')} leader transfers, ` +
        `${did('groupTicks')} group ticks, ${did('readyGroups')} group Ready runs, ` +
        `${did('batches')} storage batches; leaders ${first.map((s) => s.leaders).join('/')} -> ${last.map((s) => s.leaders).join('/')}`,
    );
    const params = { groups: o.groups, seconds: o.idleSeconds };
    ctx.record({ name: 'idle cpu per host', params, unit: '% of a core', samples: cpu });
    ctx.record({ name: 'idle rss per host', params, unit: 'MiB', samples: rss });
  } finally {
    await c.stop();
  }
}

async function active(ctx: SuiteContext, o: Options): Promise<void> {
  for (const groups of new Set(o.activeSizes ?? [1, 10, o.activeGroups])) {
    const c = new Cluster(o);
    try {
      await c.start();
      await c.open(groups);
      for (const clients of o.clients) await activeRun(ctx, o, c, groups, clients);
    } finally {
      await c.stop();
    }
  }
}

/** One active figure: `clients` per host writing to `groups` groups, in 5 windows. */
async function activeRun(
  ctx: SuiteContext,
  o: Options,
  c: Cluster,
  groups: number,
  clients: number,
): Promise<void> {
  const rates: number[] = [];
  const tails: number[] = [];
  const cpu: number[] = [];
  const windows = o.runs === 1 ? 1 : 5;
  if (o.warmup > 0) {
    // The hosts' first seconds of load cost several times what later ones do (JIT, heap
    // sizing): a warm-up, not recorded, keeps that out of the figures.
    const rs = await Promise.all(
      c.hosts.map((h) =>
        h.call<{ latencies: number[] }>('load', { groups, clients, seconds: o.warmup }),
      ),
    );
    const n = rs.reduce((k, r) => k + r.latencies.length, 0);
    ctx.log(`active ${groups} groups, warm-up: ${(n / o.warmup).toFixed(0)} writes/s`);
  }
  for (let w = 0; w < windows; w++) {
    const seconds = o.seconds / windows;
    const t0 = performance.now();
    const rs = await Promise.all(
      c.hosts.map((h) =>
        h.call<{
          latencies: number[];
          failed: number;
          why: string;
          counters: Record<string, number>;
        }>('load', {
          groups,
          clients,
          seconds,
        }),
      ),
    );
    const secs = (performance.now() - t0) / 1000;
    const lat = rs.flatMap((r) => r.latencies);
    rates.push(lat.length / secs);
    tails.push(p99(lat));
    // Per committed write, summed over the hosts: where the work goes.
    const perWrite = (k: string): number =>
      rs.reduce((n, r) => n + r.counters[k]!, 0) / Math.max(1, lat.length);
    cpu.push(perWrite('cpuMs'));
    const failed = rs.reduce((n, r) => n + r.failed, 0);
    ctx.log(
      `active ${groups} groups, ${3 * clients} clients: ${(lat.length / secs).toFixed(0)} writes/s, p99 ${p99(lat).toFixed(1)} ms, ${failed} failed`,
    );
    for (const [i, r] of rs.entries()) {
      if (r.failed > 0) ctx.log(`  host ${i + 1}: ${r.failed} failed: ${r.why}`);
    }
    const per = Object.keys(rs[0]!.counters).map((k) => `${k} ${perWrite(k).toFixed(2)}`);
    ctx.log(`  per write: ${per.join(', ')}`);
  }
  const params = { groups, clients: 3 * clients, bytes: 16 };
  ctx.record({ name: 'active writes', params, unit: 'writes/s', samples: rates });
  ctx.record({ name: 'active p99', params, unit: 'ms', samples: tails });
  ctx.record({ name: 'active cpu per write', params, unit: 'ms', samples: cpu });
}

async function failoverAndRestart(ctx: SuiteContext, o: Options): Promise<void> {
  const c = new Cluster(o);
  const failover: number[] = [];
  const reopen: number[] = [];
  const rss: number[] = [];
  try {
    await c.start();
    await c.open(o.groups);
    for (let run = 0; run < o.runs; run++) {
      const stats = await Promise.all(c.hosts.map((h) => h.call('stats')));
      const victim =
        c.hosts[stats.indexOf(stats.reduce((a, b) => (b.leaders! > a.leaders! ? b : a)))]!;
      const rest = c.hosts.filter((h) => h !== victim);
      const t0 = performance.now();
      await victim.kill();
      await Promise.all(rest.map((h) => h.call('wait', { notLeader: victim.id })));
      failover.push(performance.now() - t0);
      // None lost: every group commits a write through each remaining host.
      await Promise.all(rest.map((h) => h.call('touch')));
      ctx.log(
        `failover ${run}: host ${victim.id} led ${stats[victim.id - 1]!.leaders}, ${failover.at(-1)!.toFixed(0)} ms`,
      );
      if (!o.only.has('restart')) {
        await victim.spawn(c.peers);
        await victim.call('open', { groups: o.groups });
        continue;
      }
      const t1 = performance.now();
      await victim.spawn(c.peers);
      await victim.call('open', { groups: o.groups });
      await victim.call('wait');
      reopen.push(performance.now() - t1);
      rss.push((await victim.call('stats')).rssBytes! / MiB);
      ctx.log(`restart ${run}: ${reopen.at(-1)!.toFixed(0)} ms, ${rss.at(-1)!.toFixed(0)} MiB`);
    }
    const params = { groups: o.groups };
    if (o.only.has('failover')) {
      ctx.record({ name: 'failover', params, unit: 'ms', samples: failover });
    }
    if (o.only.has('restart')) {
      ctx.record({ name: 'restart', params, unit: 'ms', samples: reopen });
      ctx.record({ name: 'restart rss', params, unit: 'MiB', samples: rss });
    }
  } finally {
    await c.stop();
  }
}

/** The part of the suite a row belongs to ('idle cpu per host' -> 'idle'). */
function partOf(name: string): string {
  return name.split(' ')[0]!;
}

export default async function run(ctx: SuiteContext): Promise<void> {
  const o = parseArgs(ctx.args, ctx.quick);
  // A run of some parts replaces only their rows in results/multiraft.json.
  if (ctx.args.includes('--only')) {
    ctx.keepEarlier(
      (r) => !o.only.has(partOf(r.name)),
      (n) => ![...o.only].some((p) => n.startsWith(`${p}:`)) && !n.startsWith('3 RaftHost'),
    );
  }
  ctx.note(
    `3 RaftHost processes on 127.0.0.1, tick 100 ms, electionTick 10, durable writes, node ${
      o.semiSpace > 0
        ? `--max-semi-space-size=${o.semiSpace}`
        : "with V8's default young generation"
    }`,
  );
  if (o.only.has('idle')) await idle(ctx, o);
  if (o.only.has('active')) await active(ctx, o);
  if (o.only.has('failover') || o.only.has('restart')) await failoverAndRestart(ctx, o);
}
