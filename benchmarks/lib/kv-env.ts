// What the kv suite's parts share: its settings, the systems it may start, the generators
// that load them, and running a part on fresh clusters.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onEmergencyExit } from './cleanup.js';
import type { KeySpace, KvGenerator } from './kv-gen.js';
import type { Part } from './kv-rows.js';
import type { KvSystem } from './kv-systems.js';
import type { SuiteContext } from './suite.js';

export const VALUE_BYTES = 256;

export interface Settings {
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

export interface Env {
  ctx: SuiteContext;
  s: Settings;
  /** Makes a system: ours, or the peer when --peers and its toolchain is there. */
  make: (impl: string, dir: string, args: string[]) => KvSystem;
  /** Ours first, then the peers. */
  impls: string[];
  /**
   * The generator of every part and every system: Go clientv3 when it could be built (the
   * same client for raft-kv and etcd), else the Node HTTP one (raft-kv only).
   */
  client: KvGenerator;
  /** raft-kv's HTTP API rows of the puts part (api=http), beside `client`; null when it is `client`. */
  http: KvGenerator | null;
}

/** The put key space of the puts and tail parts: "bench/000042", 256-byte values. */
export function putKeys(keys: number): KeySpace {
  return { prefix: 'bench/', width: 6, keys, valueBytes: VALUE_BYTES };
}

/** Runs `fn` on freshly started systems, stopping them (and removing their data) after. */
export async function withSystems<T>(
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

/** Loads every key of `ks` once through the leader with the suite's generator. */
export async function prefill(env: Env, sys: KvSystem, ks: KeySpace): Promise<void> {
  const leader = await sys.leader();
  const r = await env.client.fill([leader.target], {
    ...ks,
    from: 0,
    to: ks.keys,
    deadline: Date.now() + 10 * 60_000,
  });
  env.ctx.log(
    `${sys.impl}: loaded ${r.ops} keys in ${r.seconds.toFixed(1)} s (${env.client.name})`,
  );
  if (r.ops < ks.keys)
    throw new Error(`${sys.impl}: prefill stopped at ${r.ops} of ${ks.keys} keys`);
}
