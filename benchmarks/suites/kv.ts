// kv — the reference KV server end to end (shared/BENCHMARKS.md, "kv"; issue 11's rows).
//
// 3-member raft-kv clusters of real processes on 127.0.0.1 with default durability (every
// Ready synced), started from this checkout's CLI; with --peers, etcd 3.4 (Debian's
// etcd-server) beside it, same workload. One load generator drives both: etcd's Go clientv3
// (lib/kv-clientv3-gen.ts; raft-kv serves etcd's v3 gRPC API on its client URL), in its own
// processes; raft-kv's HTTP API is measured too (rows api=http, lib/kv-http-gen.ts), and is
// the only one when Go is missing. Four parts (--only picks some):
//
// - puts (lib/kv-puts.ts): put at C = 1, 16, 64, 256 to the leader, 256-byte values over
//   --keys keys (loaded first): puts/s, p50/p90/p99/p99.9, server CPU per 1,000 puts;
//   linearizable and serializable gets at C = 64 spread over the members; the generator
//   check (two generator processes of 32 clients against one of 64, same windows: ratio
//   2gen/1gen); fsync-family calls per put on the leader and each follower at C = 1 and 64
//   (strace). Systems alternate row by row; ratios ours/etcd are per window pair.
// - tail: put p99, p99.9 and max at 64 clients, snapshots at the default interval against
//   none (raft-kv --snapshot-interval 100000000; etcd --snapshot-count 100000000), two live
//   clusters per system, windows alternated round by round.
// - memory: 1 KiB values loaded into a fresh cluster up to 10k, 100k and 1M keys (one
//   cluster, loaded in steps; the whole load bounded by --load-seconds): each member's RSS
//   (5 readings) and peak RSS (VmHWM) after each step, its data dir size, the data size.
// - join: on that cluster (or one loaded to --join-keys), a 4th member joins while 16
//   clients put: time until its applied index reaches the leader's, peak RSS of the leader
//   and the new member meanwhile (VmHWM reset at the join), put latency before and during.
//   --join-log-level info: raft-kv's log (in the run's output) times the snapshot's phases.
//
// Everything shares this machine's cores: the figures are the whole system's on one box.
import { nodeEnv } from '@tsraft/kv-server/process-cluster';
import { onEmergencyExit } from '../lib/cleanup.js';
import { buildClientv3Generator, ensureGo } from '../lib/kv-clientv3-gen.js';
import { type Env, type Settings, prefill, putKeys, withSystems } from '../lib/kv-env.js';
import { type KvGenerator, withClient } from '../lib/kv-gen.js';
import { NodeHttpGenerator } from '../lib/kv-http-gen.js';
import type { RunResult } from '../lib/kv-load.js';
import { joinUnderLoad, logicalBytes, memKeySpace, memberMemory, settle } from '../lib/kv-parts.js';
import { puts } from '../lib/kv-puts.js';
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
import { TsraftSystem } from '../lib/kv-systems.js';
import { median } from '../lib/stats.js';
import type { Params, SuiteContext } from '../lib/suite.js';
import { EtcdSystem, ensureEtcd, etcdVersion } from '../peers/etcd-kv.js';

const NO_SNAPSHOTS = '100000000';

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
  'join-log-level',
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
    const windows = systems.map(() => [] as RunResult[]);
    for (let round = 0; round < s.tailRounds; round++) {
      for (let i = 0; i < systems.length; i++) {
        const sys = systems[i]!;
        const leader = await sys.leader();
        const [w] = await env.client.load(
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
        withImpl(withClient({ snapshots: c.snapshots, clients: 64 }, env.client), sys.impl),
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
          params: withImpl(withClient({ q }, env.client), impl),
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
            params: { ...withClient({ snapshots, q }, env.client), vs: impl },
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
  // raft-kv's log level for the join (e.g. info: the snapshot phases' timestamps in the log).
  const at = ctx.args.indexOf('--join-log-level');
  const logArgs = (impl: string) =>
    doJoin && impl === OURS && at >= 0 ? ['--log-level', ctx.args[at + 1]!] : [];
  for (const impl of env.impls) {
    await withSystems(env, [{ impl, args: logArgs(impl) }], async ([sys]) => {
      ctx.note(`${tag}: loading ${impl}: ${env.client.fillNote}`);
      const deadline = Date.now() + s.loadSeconds * 1000;
      let loaded = 0;
      for (const size of sizes) {
        const ks = memKeySpace(size);
        const leader = await sys!.leader();
        const r = await env.client.fill([leader.target], {
          ...ks,
          from: loaded,
          to: size,
          deadline,
        });
        loaded += r.ops;
        ctx.log(
          `${impl}: ${loaded} keys of 1 KiB loaded (+${r.ops} in ${r.seconds.toFixed(1)} s, ` +
            `${(r.ops / r.seconds).toFixed(0)} puts/s)`,
        );
        if (doMemory && r.ops > 0) {
          const p = withImpl(withClient({ keys: size }, env.client), impl);
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
      const j = await joinUnderLoad(sys!, env.client, ks, {
        newId: 4,
        clients: s.joinClients,
        timeoutMs: s.joinTimeoutS * 1000,
        log: ctx.log,
      });
      const p = (extra: Params) => withImpl({ keys: loaded, ...extra }, impl);
      // Rows the generator's own requests make name it.
      const pc = (extra: Params) =>
        withImpl(withClient({ keys: loaded, ...extra }, env.client), impl);
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
          pc({ phase, clients: s.joinClients }),
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
          ctx.record({ name: 'join puts over 1 s', params: pc({}), unit: 'puts', samples: [slow] });
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
    const row = (what: Params, a: number | null, b: number | null) => {
      if (a !== null && b !== null && Number.isFinite(a / b))
        ctx.record({ name: 'join ratio', params: { ...what, vs: impl }, unit, samples: [a / b] });
    };
    row({ what: 'catch-up time' }, o.catchUp, peer.catchUp);
    row(withClient({ what: 'put p99' }, env.client), o.p99, peer.p99);
    row({ what: 'leader peak rss' }, o.leaderPeak, peer.leaderPeak);
    row({ what: 'new member peak rss' }, o.newPeak, peer.newPeak);
  }
}

// ---------------------------------------------------------------------------------------- run

export default async function run(ctx: SuiteContext): Promise<void> {
  const s = settings(ctx);
  // A run of some parts replaces only their rows in results/kv.json.
  if (ctx.args.includes('--only')) {
    ctx.keepEarlier(
      (r) => !s.parts.includes(partOf(r.name) as Part),
      (n) =>
        !s.parts.some((p) => n.startsWith(`${p}:`)) &&
        !n.startsWith('peers:') &&
        !n.startsWith('clients:'),
    );
  }
  const http = new NodeHttpGenerator();
  const impls = [OURS];
  let client: KvGenerator = http;
  let dispose = () => {};
  let untrack = () => {};
  try {
    // Go and etcd's Go sources: --peers installs them; without, they are used when there.
    const noGo = await ensureGo(s.peers, ctx.log);
    if (noGo === null) {
      try {
        const built = await buildClientv3Generator(ctx.log);
        client = built.generator;
        dispose = built.dispose;
        untrack = onEmergencyExit(built.dispose);
        ctx.note(
          "clients: every system is driven by one generator, Go clientv3 of etcd 3.4 (Debian's " +
            "golang-etcd-server-dev) over etcd's v3 gRPC API (rows client=go-clientv3); raft-kv's " +
            'HTTP JSON API also by the Node HTTP generator (rows api=http client=node-http)',
        );
      } catch (err) {
        ctx.note(
          `clients: the Go clientv3 generator did not build (${(err as Error).message}): raft-kv ` +
            'measured with the Node HTTP generator only (rows api=http client=node-http)',
        );
      }
    } else {
      ctx.note(
        `clients: no Go clientv3 generator (${noGo}): raft-kv measured with the Node HTTP ` +
          'generator only (rows api=http client=node-http)',
      );
    }
    if (s.peers) {
      const noEtcd =
        client === http ? 'no Go clientv3 generator to drive it' : await ensureEtcd(true, ctx.log);
      if (noEtcd === null) {
        impls.push('etcd');
        ctx.note(
          `peers: ${etcdVersion()} (Debian's etcd-server), its defaults but --quota-backend-bytes 8 GiB`,
        );
      } else {
        ctx.note(`peers: etcd skipped: ${noEtcd}`);
      }
    }
    // A preloaded allocator (kv-server README, "Allocator") reaches every process of the run.
    if (process.env.LD_PRELOAD)
      ctx.note(`every process runs with LD_PRELOAD=${process.env.LD_PRELOAD}`);
    // ProcessCluster starts members with glibc's malloc held to two arenas unless told otherwise.
    ctx.note(`members run with MALLOC_ARENA_MAX=${nodeEnv().MALLOC_ARENA_MAX}`);
    const env: Env = {
      ctx,
      s,
      impls,
      client,
      http: client === http ? null : http,
      make: (impl, dir, args) =>
        impl === OURS
          ? new TsraftSystem({ baseDir: dir, args, log: ctx.log })
          : new EtcdSystem({ baseDir: dir, args, log: ctx.log }),
    };
    if (s.parts.includes('puts')) await puts(env);
    if (s.parts.includes('tail')) await tail(env);
    if (s.parts.includes('memory') || s.parts.includes('join')) await memoryAndJoin(env);
  } finally {
    dispose();
    untrack();
  }
}
