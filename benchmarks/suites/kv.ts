// kv — the reference KV server end to end (shared/BENCHMARKS.md, "kv"; issue 11's rows).
//
// 3-member raft-kv clusters of real processes on 127.0.0.1 with default durability (every
// Ready synced), started from this checkout's CLI; with --peers, etcd 3.4 (Debian's
// etcd-server) beside it, same workload, its own Go clientv3 generator (peers/etcd-kv.ts).
// Load generators run in their own processes. Four parts (--only picks some):
//
// - puts: put at C = 1, 16, 64, 256 to the leader, 256-byte values over --keys keys (loaded
//   first): puts/s, p50/p90/p99/p99.9, server CPU per 1,000 puts; linearizable and
//   serializable gets at C = 64 spread over the members; the generator check (two generator
//   processes of 32 clients against one of 64, same windows: ratio 2gen/1gen); fsync-family
//   calls per put on the leader and each follower at C = 1 and 64 (strace). Systems
//   alternate row by row; ratios ours/etcd are per window pair.
// - tail: put p99, p99.9 and max at 64 clients, snapshots at the default interval against
//   none (raft-kv --snapshot-interval 100000000; etcd --snapshot-count 100000000), two live
//   clusters per system, windows alternated round by round.
// - memory: 1 KiB values loaded into a fresh cluster up to 10k, 100k and 1M keys (one
//   cluster, loaded in steps; the whole load bounded by --load-seconds): each member's RSS
//   (5 readings) and peak RSS (VmHWM) after each step, its data dir size, the data size.
// - join: on that cluster (or one loaded to --join-keys), a 4th member joins while 16
//   clients put: time until its applied index reaches the leader's, peak RSS of the leader
//   and the new member meanwhile (VmHWM reset at the join), put latency before and during.
//
// Everything shares this machine's cores: the figures are the whole system's on one box.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onEmergencyExit } from '../lib/cleanup.js';
import { haveStrace } from '../lib/fsync-count.js';
import {
  cpuDuringWindows,
  fsyncsPerPut,
  joinUnderLoad,
  logicalBytes,
  memKeySpace,
  memberMemory,
  settle,
} from '../lib/kv-parts.js';
import {
  OURS,
  type Part,
  type WindowStats,
  pairedRatios,
  parseParts,
  partOf,
  recordRuns,
  withImpl,
} from '../lib/kv-rows.js';
import { type KeySpace, type KvSystem, type LoadSpec, TsraftSystem } from '../lib/kv-systems.js';
import { median } from '../lib/stats.js';
import type { SuiteContext } from '../lib/suite.js';
import {
  EtcdSystem,
  buildGenerator,
  ensureToolchain,
  etcdVersion,
  generatorDir,
  removeDir,
} from '../peers/etcd-kv.js';

const VALUE_BYTES = 256;
const NO_SNAPSHOTS = '100000000';

interface Settings {
  parts: Part[];
  peers: boolean;
  keys: number;
  runs: number;
  runMs: number;
  warmupMs: number;
  putClients: number[];
  fsyncSeconds: number;
  fsyncClients: number[];
  tailRounds: number;
  tailMs: number;
  tailKeys: number;
  memKeys: number[];
  loadSeconds: number;
  joinKeys: number;
  joinClients: number;
  joinTimeoutS: number;
}

const OPTIONS = [
  'only',
  'peers',
  'keys',
  'runs',
  'run-ms',
  'warmup-ms',
  'clients',
  'fsync-seconds',
  'fsync-clients',
  'tail-rounds',
  'tail-ms',
  'tail-keys',
  'mem-keys',
  'load-seconds',
  'join-keys',
  'join-clients',
  'join-timeout',
];

function settings(ctx: SuiteContext): Settings {
  const args = ctx.args;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--') || !OPTIONS.includes(a.slice(2)))
      throw new Error(
        `kv: unknown option ${a} (options: ${OPTIONS.map((o) => `--${o}`).join(' ')})`,
      );
    if (a !== '--peers') i++;
  }
  const str = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const num = (name: string, d: number): number => {
    const s = str(name);
    const v = s === undefined ? d : Number(s);
    if (!(v > 0)) throw new Error(`kv: --${name} wants a positive number, not ${s}`);
    return v;
  };
  const list = (name: string, d: number[]): number[] => {
    const s = str(name);
    if (s === undefined) return d;
    const v = s.split(',').map(Number);
    if (v.some((x) => !(x > 0))) throw new Error(`kv: --${name} wants numbers, not ${s}`);
    return v;
  };
  const parts = parseParts(str('only'));
  if (typeof parts === 'string') throw new Error(parts);
  const q = ctx.quick;
  const memKeys = list('mem-keys', q ? [2_000, 10_000] : [10_000, 100_000, 1_000_000]);
  return {
    parts,
    peers: args.includes('--peers'),
    keys: num('keys', q ? 5_000 : 100_000),
    runs: num('runs', q ? 2 : 5),
    runMs: num('run-ms', q ? 1000 : 3000),
    warmupMs: num('warmup-ms', q ? 500 : 2000),
    putClients: list('clients', [1, 16, 64, 256]),
    fsyncSeconds: num('fsync-seconds', q ? 2 : 5),
    fsyncClients: list('fsync-clients', [1, 64]),
    tailRounds: num('tail-rounds', q ? 2 : 5),
    tailMs: num('tail-ms', q ? 2000 : 6000),
    tailKeys: num('tail-keys', q ? 5_000 : 100_000),
    memKeys,
    loadSeconds: num('load-seconds', q ? 120 : 900),
    joinKeys: num(
      'join-keys',
      parts.includes('memory') ? memKeys[memKeys.length - 1]! : q ? 10_000 : 1_000_000,
    ),
    joinClients: num('join-clients', 16),
    joinTimeoutS: num('join-timeout', q ? 120 : 600),
  };
}

/** The put key space of the puts and tail parts: "bench/000042", 256-byte values. */
function putKeys(keys: number): KeySpace {
  return { prefix: 'bench/', width: 6, keys, valueBytes: VALUE_BYTES };
}

interface Env {
  ctx: SuiteContext;
  s: Settings;
  /** Makes a system: ours, or the peer when --peers and its toolchain is there. */
  make: (impl: string, dir: string, args: string[]) => KvSystem;
  impls: string[];
}

/** Runs `fn` on freshly started systems, stopping them (and removing their data) after. */
async function withSystems<T>(
  env: Env,
  configs: { impl: string; args: string[] }[],
  fn: (systems: KvSystem[]) => Promise<T>,
): Promise<T> {
  const systems: KvSystem[] = [];
  const dirs: string[] = [];
  const untrack: (() => void)[] = [];
  try {
    for (const c of configs) {
      const dir = mkdtempSync(join(tmpdir(), `tsraft-bench-kv-${c.impl}-`));
      dirs.push(dir);
      untrack.push(onEmergencyExit(() => rmSync(dir, { recursive: true, force: true })));
      const sys = env.make(c.impl, dir, c.args);
      systems.push(sys);
      await sys.start();
    }
    return await fn(systems);
  } finally {
    await Promise.all(systems.map((x) => x.stop().catch(() => undefined)));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    for (const u of untrack) u();
  }
}

async function prefill(env: Env, sys: KvSystem, ks: KeySpace): Promise<void> {
  const leader = await sys.leader();
  const r = await sys.fill([leader.target], {
    ...ks,
    from: 0,
    to: ks.keys,
    deadline: Date.now() + 10 * 60_000,
  });
  env.ctx.log(`${sys.impl}: loaded ${r.ops} keys in ${r.seconds.toFixed(1)} s`);
}

// ---------------------------------------------------------------------------------------- puts

async function puts(env: Env): Promise<void> {
  const { ctx, s } = env;
  const ks = putKeys(s.keys);
  const spec = (over: Partial<LoadSpec>): LoadSpec => ({
    ...ks,
    op: 'put',
    clients: 1,
    warmupMs: s.warmupMs,
    durationMs: s.runMs,
    runs: s.runs,
    ...over,
  });
  await withSystems(
    env,
    env.impls.map((impl) => ({ impl, args: [] })),
    async (systems) => {
      for (const sys of systems) await prefill(env, sys, ks);
      const stats = new Map<string, WindowStats>();
      const ratioRows = (name: string, params: Record<string, string | number>, key: string) => {
        const ours = stats.get(`${OURS} ${key}`);
        for (const impl of env.impls.slice(1)) {
          const peer = stats.get(`${impl} ${key}`);
          if (ours === undefined || peer === undefined) continue;
          const rate = pairedRatios(ours.rate, peer.rate);
          if (rate.length > 0)
            ctx.record({
              name: `${name} ratio`,
              params: { ...params, vs: impl },
              unit: 'ratio ours/peer',
              samples: rate,
            });
          const p99 = pairedRatios(ours.q.p99!, peer.q.p99!);
          if (p99.length > 0)
            ctx.record({
              name: `${name} p99 ratio`,
              params: { ...params, vs: impl },
              unit: 'ratio ours/peer (below 1: ours lower)',
              samples: p99,
            });
        }
      };

      for (const c of s.putClients) {
        for (const sys of systems) {
          const leader = await sys.leader();
          const pids = sys.members().map((m) => m.pid);
          const t = Date.now();
          const [runs, cpu] = await Promise.all([
            sys.load([leader.target], spec({ clients: c }), 1),
            cpuDuringWindows(pids, t, s.warmupMs, s.runs * s.runMs),
          ]);
          const st = recordRuns(ctx, 'put', withImpl({ clients: c }, sys.impl), 'puts/s', runs);
          stats.set(`${sys.impl} put ${c}`, st);
          const ops = runs.reduce((n, r) => n + r.ops, 0);
          if (ops > 0 && Number.isFinite(cpu)) {
            ctx.record({
              name: 'put server cpu',
              params: withImpl({ clients: c }, sys.impl),
              unit: 'CPU s per 1,000 puts',
              samples: [(cpu / ops) * 1000],
            });
          }
        }
        ratioRows('put', { clients: c }, `put ${c}`);
      }

      for (const consistency of ['linearizable', 'serializable'] as const) {
        for (const sys of systems) {
          const targets = sys.members().map((m) => m.target);
          const runs = await sys.load(targets, spec({ op: 'get', consistency, clients: 64 }), 1);
          const st = recordRuns(
            ctx,
            'get',
            withImpl({ clients: 64, consistency }, sys.impl),
            'gets/s',
            runs,
          );
          stats.set(`${sys.impl} get ${consistency}`, st);
        }
        ratioRows('get', { clients: 64, consistency }, `get ${consistency}`);
      }

      // Generator check: one generator with 64 clients, then two with 32 each, on the leader.
      for (const sys of systems) {
        const leader = await sys.leader();
        const one = await sys.load([leader.target], spec({ clients: 64 }), 1);
        const two = await sys.load([leader.target], spec({ clients: 64 }), 2);
        const p = (g: number) => withImpl({ clients: 64, generators: g }, sys.impl);
        const r1 = recordRuns(ctx, 'put (generator check)', p(1), 'puts/s', one, {
          quantiles: ['p50', 'p99'],
        });
        const r2 = recordRuns(ctx, 'put (generator check)', p(2), 'puts/s', two, {
          quantiles: ['p50', 'p99'],
        });
        const ratio = pairedRatios(r2.rate, r1.rate);
        ctx.record({
          name: 'generator check',
          params: withImpl({ clients: 64 }, sys.impl),
          unit: 'ratio 2gen/1gen',
          samples: ratio,
        });
        const m = median(ratio);
        if (m > 1.05) {
          ctx.note(
            `puts: ${sys.impl}'s generator check is ${m.toFixed(3)} (two generators against one, ` +
              'median of the window pairs): two went faster, so one generator was part of the limit',
          );
        } else if (m < 0.95) {
          ctx.note(
            `puts: ${sys.impl}'s generator check is ${m.toFixed(3)}: two generator processes went ` +
              'slower than one (the second takes CPU from the servers on this machine), so the ' +
              'generator is not the limit, but the figures include its CPU cost',
          );
        }
      }

      if (!haveStrace()) {
        ctx.note('puts: no strace (apt-get install strace): fsyncs per put not counted');
        return;
      }
      for (const c of s.fsyncClients) {
        for (const sys of systems) {
          const f = await fsyncsPerPut(sys, ks, c, s.fsyncSeconds);
          for (const { label, perPut, statePerPut, calls, files } of f.perPut) {
            const params = withImpl({ clients: c, member: label }, sys.impl);
            const unit = 'fsync calls/put';
            ctx.record({ name: 'fsync per put', params, unit, samples: [perPut] });
            ctx.record({
              name: 'fsync per put (state machine files)',
              params,
              unit,
              samples: [statePerPut],
            });
            ctx.log(
              `${sys.impl} fsyncs at ${c} clients, ${label}: ${calls} calls / ${f.puts} puts (${files})`,
            );
          }
        }
      }
    },
  );
}

// ---------------------------------------------------------------------------------------- tail

async function tail(env: Env): Promise<void> {
  const { ctx, s } = env;
  const ks = putKeys(s.tailKeys);
  const noSnap = (impl: string) =>
    impl === OURS ? ['--snapshot-interval', NO_SNAPSHOTS] : ['--snapshot-count', NO_SNAPSHOTS];
  const configs = env.impls.flatMap((impl) => [
    { impl, args: [] as string[], snapshots: 'default' },
    { impl, args: noSnap(impl), snapshots: 'off' },
  ]);
  await withSystems(env, configs, async (systems) => {
    for (const sys of systems) await prefill(env, sys, ks);
    const windows = systems.map(() => [] as import('../lib/kv-load.js').RunResult[]);
    for (let round = 0; round < s.tailRounds; round++) {
      for (let i = 0; i < systems.length; i++) {
        const sys = systems[i]!;
        const leader = await sys.leader();
        const [w] = await sys.load(
          [leader.target],
          { ...ks, op: 'put', clients: 64, warmupMs: s.warmupMs, durationMs: s.tailMs, runs: 1 },
          1,
        );
        windows[i]!.push(w!);
      }
      ctx.log(`tail: round ${round + 1} of ${s.tailRounds} done`);
    }
    const stats = new Map<string, WindowStats>();
    systems.forEach((sys, i) => {
      const c = configs[i]!;
      const st = recordRuns(
        ctx,
        'tail put',
        withImpl({ snapshots: c.snapshots, clients: 64 }, sys.impl),
        'puts/s',
        windows[i]!,
        { max: true, quantiles: ['p50', 'p99', 'p99.9'] },
      );
      stats.set(`${sys.impl} ${c.snapshots}`, st);
    });
    for (const impl of env.impls) {
      const d = stats.get(`${impl} default`)!;
      const o = stats.get(`${impl} off`)!;
      for (const q of ['p99', 'p99.9']) {
        ctx.record({
          name: 'tail snapshot cost',
          params: withImpl({ q }, impl),
          unit: 'ratio default/off',
          samples: pairedRatios(d.q[q]!, o.q[q]!),
        });
      }
    }
    for (const impl of env.impls.slice(1)) {
      for (const snapshots of ['default', 'off']) {
        const ours = stats.get(`${OURS} ${snapshots}`)!;
        const peer = stats.get(`${impl} ${snapshots}`)!;
        for (const q of ['p99', 'p99.9']) {
          ctx.record({
            name: 'tail latency ratio',
            params: { snapshots, q, vs: impl },
            unit: 'ratio ours/peer (below 1: ours lower)',
            samples: pairedRatios(ours.q[q]!, peer.q[q]!),
          });
        }
      }
    }
  });
}

// ------------------------------------------------------------------------------ memory and join

interface MemoryRow {
  rss: number;
  peak: number;
}

async function memoryAndJoin(env: Env): Promise<void> {
  const { ctx, s } = env;
  const doMemory = s.parts.includes('memory');
  const doJoin = s.parts.includes('join');
  const sizes = doMemory ? s.memKeys : [s.joinKeys];
  // Notes about the load belong to the part that loaded (for --only's merge).
  const tag = doMemory ? 'memory' : 'join';
  const ours = new Map<string, MemoryRow>();
  const joins = new Map<
    string,
    { catchUp: number | null; p99: number; leaderPeak: number; newPeak: number }
  >();
  for (const impl of env.impls) {
    await withSystems(env, [{ impl, args: [] }], async ([sys]) => {
      ctx.note(`${tag}: loading ${sys!.fillNote}`);
      const deadline = Date.now() + s.loadSeconds * 1000;
      let loaded = 0;
      for (const size of sizes) {
        const ks = memKeySpace(size);
        const leader = await sys!.leader();
        const r = await sys!.fill([leader.target], { ...ks, from: loaded, to: size, deadline });
        loaded += r.ops;
        ctx.log(
          `${impl}: ${loaded} keys of 1 KiB loaded (+${r.ops} in ${r.seconds.toFixed(1)} s, ` +
            `${(r.ops / r.seconds).toFixed(0)} puts/s)`,
        );
        if (doMemory && r.ops > 0) {
          const p = withImpl({ keys: size }, impl);
          ctx.record({
            name: 'memory load rate',
            params: p,
            unit: 'keys/s',
            samples: [r.ops / r.seconds],
          });
          // The slowest request of the load (a Txn of 64 puts for etcd), and those over 1 s.
          ctx.record({
            name: 'memory load slowest request',
            params: p,
            unit: 'ms',
            samples: [r.maxMs],
          });
          ctx.record({
            name: 'memory load requests over 1 s',
            params: p,
            unit: 'requests',
            samples: [r.over1s],
          });
        }
        if (!(await settle(sys!)))
          ctx.note(`${tag}: ${impl}'s members had not all applied the load after 60 s`);
        if (doMemory) {
          const mem = await memberMemory(sys!);
          if (impl === OURS) {
            ctx.record({
              name: 'memory data',
              params: { keys: loaded },
              unit: 'MiB',
              samples: [logicalBytes(ks, loaded) / 2 ** 20],
            });
          }
          for (const m of mem) {
            const p = withImpl({ keys: loaded, member: m.label }, impl);
            if (m.rss.length > 0)
              ctx.record({ name: 'memory rss', params: p, unit: 'MiB', samples: m.rss });
            ctx.record({ name: 'memory peak rss', params: p, unit: 'MiB', samples: [m.peak] });
            ctx.record({ name: 'memory disk', params: p, unit: 'MiB', samples: [m.disk] });
            ctx.log(
              `${impl} ${loaded} keys ${m.label}: RSS ${median(m.rss).toFixed(0)} MiB (anon ${m.anon.toFixed(0)}, ` +
                `file ${m.file.toFixed(0)}), peak ${m.peak.toFixed(0)} MiB, disk ${m.disk.toFixed(0)} MiB`,
            );
            if (loaded === size && size === sizes[sizes.length - 1]) {
              ctx.note(
                `memory: ${impl} ${loaded} keys, ${m.label}: RSS ${median(m.rss).toFixed(0)} MiB = ` +
                  `${m.anon.toFixed(0)} anonymous (heap, caches) + ${m.file.toFixed(0)} file-backed`,
              );
            }
            const key = `${loaded} ${m.label}`;
            if (impl === OURS) ours.set(key, { rss: median(m.rss), peak: m.peak });
            else {
              const o = ours.get(key);
              if (o !== undefined) {
                const params = { keys: loaded, member: m.label, vs: impl };
                const unit = 'ratio ours/peer (below 1: ours smaller)';
                ctx.record({
                  name: 'memory rss ratio',
                  params,
                  unit,
                  samples: [o.rss / median(m.rss)],
                });
                ctx.record({ name: 'memory peak ratio', params, unit, samples: [o.peak / m.peak] });
              }
            }
          }
        }
        if (loaded < size) {
          ctx.note(
            `${tag}: ${impl}: the load's time bound (--load-seconds ${s.loadSeconds}) stopped it at ` +
              `${loaded} of ${size} keys`,
          );
          break;
        }
      }
      if (!doJoin) return;
      const ks = memKeySpace(loaded);
      const j = await joinUnderLoad(sys!, ks, {
        newId: 4,
        clients: s.joinClients,
        timeoutMs: s.joinTimeoutS * 1000,
        log: ctx.log,
      });
      const p = (extra: Record<string, string | number>) =>
        withImpl({ keys: loaded, ...extra }, impl);
      if (j.catchUpSeconds === null) {
        ctx.note(`join: ${impl}'s new member had not caught up after ${s.joinTimeoutS} s`);
      } else {
        ctx.record({
          name: 'join catch-up',
          params: p({}),
          unit: 's',
          samples: [j.catchUpSeconds],
        });
      }
      ctx.record({
        name: 'join peak rss',
        params: p({ member: 'leader' }),
        unit: 'MiB',
        samples: [j.leaderPeak],
      });
      ctx.record({
        name: 'join peak rss',
        params: p({ member: 'new' }),
        unit: 'MiB',
        samples: [j.newPeak],
      });
      const [before, during] = j.segments;
      let p99 = Number.NaN;
      for (const [phase, seg] of [
        ['before', before],
        ['catch-up', during],
      ] as const) {
        if (seg === undefined || seg.ops === 0) continue;
        const st = recordRuns(
          ctx,
          'join put',
          p({ phase, clients: s.joinClients }),
          'puts/s',
          [seg],
          {
            max: true,
            quantiles: ['p50', 'p99'],
          },
        );
        if (phase === 'catch-up') {
          p99 = st.q.p99![0]!;
          const slow = seg.latencies.filter((x) => x > 1000).length;
          ctx.record({ name: 'join puts over 1 s', params: p({}), unit: 'puts', samples: [slow] });
        }
      }
      if (j.leaderChanged) ctx.note(`join: ${impl}'s leader changed during the catch-up`);
      ctx.note(
        `join: ${impl} at the highest sampled RSS: leader ${j.leaderPeakSplit} MiB, ` +
          `new member ${j.newPeakSplit} MiB; at the end leader ${j.leaderEnd.toFixed(0)} MiB, ` +
          `new member ${j.newEnd.toFixed(0)} MiB`,
      );
      ctx.log(
        `${impl}: member 4 caught up in ${j.catchUpSeconds?.toFixed(1) ?? '(timeout)'} s; peak RSS leader ` +
          `${j.leaderPeak.toFixed(0)} MiB, new ${j.newPeak.toFixed(0)} MiB; put p99 meanwhile ${p99.toFixed(1)} ms`,
      );
      joins.set(impl, {
        catchUp: j.catchUpSeconds,
        p99,
        leaderPeak: j.leaderPeak,
        newPeak: j.newPeak,
      });
    });
  }
  const o = joins.get(OURS);
  for (const impl of env.impls.slice(1)) {
    const peer = joins.get(impl);
    if (o === undefined || peer === undefined) continue;
    const unit = 'ratio ours/peer (below 1: ours lower)';
    const row = (what: string, a: number | null, b: number | null) => {
      if (a !== null && b !== null && Number.isFinite(a / b))
        ctx.record({ name: 'join ratio', params: { what, vs: impl }, unit, samples: [a / b] });
    };
    row('catch-up time', o.catchUp, peer.catchUp);
    row('put p99', o.p99, peer.p99);
    row('leader peak rss', o.leaderPeak, peer.leaderPeak);
    row('new member peak rss', o.newPeak, peer.newPeak);
  }
}

// ---------------------------------------------------------------------------------------- run

export default async function run(ctx: SuiteContext): Promise<void> {
  const s = settings(ctx);
  // A run of some parts replaces only their rows in results/kv.json.
  if (ctx.args.includes('--only')) {
    ctx.keepEarlier(
      (r) => !s.parts.includes(partOf(r.name) as Part),
      (n) => !s.parts.some((p) => n.startsWith(`${p}:`)) && !n.startsWith('peers:'),
    );
  }
  const impls = [OURS];
  let genDir: string | null = null;
  let untrackGen = () => {};
  let generator = '';
  try {
    if (s.peers) {
      const why = await ensureToolchain(ctx.log);
      if (why === null) {
        genDir = generatorDir();
        const dir = genDir;
        untrackGen = onEmergencyExit(() => removeDir(dir));
        try {
          generator = await buildGenerator(genDir, ctx.log);
          impls.push('etcd');
          ctx.note(
            `peers: ${etcdVersion()} (Debian's etcd-server), its defaults but --quota-backend-bytes 8 GiB; Go clientv3 generator`,
          );
        } catch (err) {
          ctx.note(`peers: etcd skipped: ${(err as Error).message}`);
        }
      } else {
        ctx.note(`peers: etcd skipped: ${why}`);
      }
    }
    const env: Env = {
      ctx,
      s,
      impls,
      make: (impl, dir, args) =>
        impl === OURS
          ? new TsraftSystem({ baseDir: dir, args, log: ctx.log })
          : new EtcdSystem({ baseDir: dir, args, generator, log: ctx.log }),
    };
    if (s.parts.includes('puts')) await puts(env);
    if (s.parts.includes('tail')) await tail(env);
    if (s.parts.includes('memory') || s.parts.includes('join')) await memoryAndJoin(env);
  } finally {
    if (genDir !== null) removeDir(genDir);
    untrackGen();
  }
}
