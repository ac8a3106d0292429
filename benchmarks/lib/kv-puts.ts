// The kv suite's puts part: puts at C = 1, 16, 64, 256 to the leader, linearizable and
// serializable gets at 64 over the members, server CPU per 1,000 puts, the generator check
// and fsyncs per put. Every system is driven by the suite's generator (Go clientv3 for raft-kv
// and etcd alike); raft-kv also by the Node HTTP generator (rows api=http), right after. Ratio
// rows pair windows of one client against the same client's windows on the peer, measured
// back to back.
import { haveStrace } from './fsync-count.js';
import { type Env, prefill, putKeys, withSystems } from './kv-env.js';
import { type KvGenerator, type LoadSpec, withClient } from './kv-gen.js';
import { cpuDuringWindows, fsyncsPerPut } from './kv-parts.js';
import { OURS, type WindowStats, pairedRatios, recordRuns, withImpl } from './kv-rows.js';
import type { KvSystem } from './kv-systems.js';
import { median } from './stats.js';
import type { Params } from './suite.js';

/** A system and the generator that loads it, for one row set. */
interface Subject {
  sys: KvSystem;
  gen: KvGenerator;
}

const rowParams = (p: Params, { sys, gen }: Subject): Params =>
  withImpl(withClient(p, gen), sys.impl);

export async function puts(env: Env): Promise<void> {
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
      // Ours and the peers with one client, back to back; then ours over HTTP.
      const subjects: Subject[] = systems.map((sys) => ({ sys, gen: env.client }));
      if (env.http !== null) subjects.push({ sys: systems[0]!, gen: env.http });
      const stats = new Map<string, WindowStats>();
      const keyOf = (x: Subject, what: string) => `${x.sys.impl} ${x.gen.name} ${what}`;
      const ratioRows = (name: string, params: Params, what: string) => {
        const gen = env.client;
        const ours = stats.get(`${OURS} ${gen.name} ${what}`);
        for (const impl of env.impls.slice(1)) {
          const peer = stats.get(`${impl} ${gen.name} ${what}`);
          if (ours === undefined || peer === undefined) continue;
          const p = { ...withClient(params, gen), vs: impl };
          const rate = pairedRatios(ours.rate, peer.rate);
          if (rate.length > 0)
            ctx.record({
              name: `${name} ratio`,
              params: p,
              unit: 'ratio ours/peer',
              samples: rate,
            });
          const p99 = pairedRatios(ours.q.p99!, peer.q.p99!);
          if (p99.length > 0)
            ctx.record({
              name: `${name} p99 ratio`,
              params: p,
              unit: 'ratio ours/peer (below 1: ours lower)',
              samples: p99,
            });
        }
      };

      for (const c of s.putClients) {
        for (const x of subjects) {
          const leader = await x.sys.leader();
          const pids = x.sys.members().map((m) => m.pid);
          const t = Date.now();
          const [runs, cpu] = await Promise.all([
            x.gen.load([leader.target], spec({ clients: c }), 1),
            cpuDuringWindows(pids, t, s.warmupMs, s.runs * s.runMs),
          ]);
          const params = rowParams({ clients: c }, x);
          stats.set(keyOf(x, `put ${c}`), recordRuns(ctx, 'put', params, 'puts/s', runs));
          const ops = runs.reduce((n, r) => n + r.ops, 0);
          if (ops > 0 && Number.isFinite(cpu)) {
            ctx.record({
              name: 'put server cpu',
              params,
              unit: 'CPU s per 1,000 puts',
              samples: [(cpu / ops) * 1000],
            });
          }
        }
        ratioRows('put', { clients: c }, `put ${c}`);
      }

      for (const consistency of ['linearizable', 'serializable'] as const) {
        for (const x of subjects) {
          const targets = x.sys.members().map((m) => m.target);
          const runs = await x.gen.load(targets, spec({ op: 'get', consistency, clients: 64 }), 1);
          const params = rowParams({ clients: 64, consistency }, x);
          stats.set(keyOf(x, `get ${consistency}`), recordRuns(ctx, 'get', params, 'gets/s', runs));
        }
        ratioRows('get', { clients: 64, consistency }, `get ${consistency}`);
      }

      // Generator check: one generator process with 64 clients, then two with 32 each, on the
      // leader, with the suite's generator for every system.
      for (const sys of systems) {
        const x = { sys, gen: env.client };
        const leader = await sys.leader();
        const one = await x.gen.load([leader.target], spec({ clients: 64 }), 1);
        const two = await x.gen.load([leader.target], spec({ clients: 64 }), 2);
        const p = (g: number) => rowParams({ clients: 64, generators: g }, x);
        const quantiles = ['p50', 'p99'];
        const r1 = recordRuns(ctx, 'put (generator check)', p(1), 'puts/s', one, { quantiles });
        const r2 = recordRuns(ctx, 'put (generator check)', p(2), 'puts/s', two, { quantiles });
        const ratio = pairedRatios(r2.rate, r1.rate);
        ctx.record({
          name: 'generator check',
          params: rowParams({ clients: 64 }, x),
          unit: 'ratio 2gen/1gen',
          samples: ratio,
        });
        const m = median(ratio);
        const who = `${sys.impl} with ${x.gen.name}`;
        if (m > 1.05) {
          ctx.note(
            `puts: ${who}: generator check ${m.toFixed(3)} (two generator processes against one, ` +
              'median of the window pairs) is above 1.05: two went faster, so one generator was ' +
              'part of the limit',
          );
        } else if (m < 0.95) {
          ctx.note(
            `puts: ${who}: generator check ${m.toFixed(3)} is below 0.95: two generator ` +
              'processes went slower than one (the second takes CPU from the servers on this ' +
              'machine), so the generator is not the limit, but the figures include its CPU cost',
          );
        } else {
          ctx.note(`puts: ${who}: generator check ${m.toFixed(3)}, within 5% of 1`);
        }
      }

      if (!haveStrace()) {
        ctx.note('puts: no strace (apt-get install strace): fsyncs per put not counted');
        return;
      }
      for (const c of s.fsyncClients) {
        for (const sys of systems) {
          const x = { sys, gen: env.client };
          const f = await fsyncsPerPut(sys, x.gen, ks, c, s.fsyncSeconds);
          for (const { label, perPut, statePerPut, calls, files } of f.perPut) {
            const params = rowParams({ clients: c, member: label }, x);
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
