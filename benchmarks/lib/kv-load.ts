// The kv load generator: C concurrent HTTP/1.1 keep-alive clients against raft-kv, each with
// one request in flight at a time (closed loop), over node:http. It runs in a child process
// (runInChild) so that its CPU is its own, and several generators can run side by side on a
// shared start time (to check that the generator is not the bottleneck).
//
// A run: `warmupMs` unmeasured, then `durationMs` measured. A request counts when it both
// starts and ends inside the measured window; its latency is from write to the last byte of
// the response. Keys are uniform over `keys` ("bench/000042"), values `valueBytes` long.
import http from 'node:http';

export interface LoadInput {
  /** Client URLs; client i talks to targets[i % targets.length]. */
  targets: string[];
  op: 'put' | 'get' | 'fill';
  consistency?: 'linearizable' | 'serializable';
  clients: number;
  keys: number;
  valueBytes: number;
  /** Epoch ms at which the first run begins (so parallel generators share a window). */
  startAt: number;
  warmupMs: number;
  durationMs: number;
  /** Measured runs, back to back (a `warmupMs` pause of load precedes the first only). */
  runs: number;
  seed: number;
  /** Key prefix (default "bench/") and zero-padded digits of its number (default 6). */
  prefix?: string;
  width?: number;
  /** fill: the keys [from, to) (default [0, keys)), stopping at `deadline` (epoch ms). */
  from?: number;
  to?: number;
  deadline?: number;
}

export interface RunResult {
  ops: number;
  errors: number;
  seconds: number;
  /** Latencies in ms, unsorted. */
  latencies: Float64Array;
}

export interface FillResult {
  /** Keys written: [from, from + ops) are all there (a deadline stops the taking of keys). */
  ops: number;
  errors: number;
  seconds: number;
  /** The slowest request (ms) and how many took over 1 s. */
  maxMs: number;
  over1s: number;
}

function keyFormat(input: LoadInput): (i: number) => string {
  const prefix = input.prefix ?? 'bench/';
  const width = input.width ?? 6;
  return (i) => `${prefix}${String(i).padStart(width, '0')}`;
}

/** xorshift32: cheap, seeded, good enough to spread keys. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

interface Target {
  host: string;
  port: number;
  agent: http.Agent;
}

function targets(urls: string[], clients: number): Target[] {
  return urls.map((u) => {
    const url = new URL(u);
    return {
      host: url.hostname,
      port: Number(url.port),
      agent: new http.Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients }),
    };
  });
}

/** One request; resolves with its status code (0 on a network error). */
function send(t: Target, method: string, path: string, body: string | null): Promise<number> {
  return new Promise((resolve) => {
    const headers: http.OutgoingHttpHeaders = {};
    if (body !== null) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = http.request(
      { host: t.host, port: t.port, method, path, agent: t.agent, headers },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body ?? undefined);
  });
}

/**
 * A JSON body `{"value": …}` of n pseudo-random characters from [a-z0-9], drawn from a
 * generator seeded by `salt`: incompressible enough that LevelDB's Snappy cannot shrink the
 * data (a repeating pattern shrank 100 MB of values to 14 MB on disk), as etcd's bbolt
 * never does.
 */
export function valueBody(n: number, salt: number): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const rand = rng(0x5eed + salt * 0x9e37);
  let v = '';
  for (let i = 0; i < n; i++) v += chars[rand() % chars.length];
  return JSON.stringify({ value: v });
}

/** Distinct values a generator cycles through (a LevelDB block of 4 KiB never holds two alike). */
const VALUES = 64;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/**
 * Writes every key of [from, to) once (clients take keys in turn), for loading the key space;
 * stops taking keys at `deadline`, so [from, from + ops) is what was written.
 */
export async function fill(input: LoadInput): Promise<FillResult> {
  const ts = targets(input.targets, input.clients);
  const keyOf = keyFormat(input);
  const bodies = Array.from({ length: VALUES }, (_, i) => valueBody(input.valueBytes, i));
  const from = input.from ?? 0;
  const to = input.to ?? input.keys;
  const deadline = input.deadline ?? Number.POSITIVE_INFINITY;
  let next = from;
  let errors = 0;
  let maxMs = 0;
  let over1s = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: input.clients }, async (_, c) => {
      const t = ts[c % ts.length]!;
      while (next < to && Date.now() < deadline) {
        const i = next++;
        let status = 0;
        for (let attempt = 0; attempt < 20; attempt++) {
          const t1 = performance.now();
          status = await send(t, 'PUT', `/v1/kv/${keyOf(i)}`, bodies[i % VALUES]!);
          const ms = performance.now() - t1;
          if (ms > maxMs) maxMs = ms;
          if (ms > 1000) over1s++;
          if (status === 200) break;
          errors++;
          await sleep(100);
        }
        if (status !== 200) throw new Error(`fill: PUT ${keyOf(i)} kept failing (${status})`);
      }
    }),
  );
  for (const t of ts) t.agent.destroy();
  return { ops: next - from, errors, seconds: (performance.now() - t0) / 1000, maxMs, over1s };
}

/**
 * Closed-loop puts (C clients, uniform keys over `keys`) until the parent sends 'stop' or
 * `durationMs` passes; each 'mark' message from the parent starts a new segment. Resolves
 * with one result per segment (latencies of the requests that started in it). For loads
 * whose end is not known in advance (a member catching up).
 */
export async function stream(input: LoadInput): Promise<RunResult[]> {
  const ts = targets(input.targets, input.clients);
  const keyOf = keyFormat(input);
  const bodies = Array.from({ length: VALUES }, (_, i) => valueBody(input.valueBytes, i));
  interface Segment {
    start: number;
    ops: number;
    errors: number;
    lat: number[];
  }
  const segments: Segment[] = [{ start: performance.now(), ops: 0, errors: 0, lat: [] }];
  let stopped = false;
  const onMessage = (m: unknown) => {
    if (m === 'mark') segments.push({ start: performance.now(), ops: 0, errors: 0, lat: [] });
    else if (m === 'stop') stopped = true;
  };
  process.on('message', onMessage);
  const end = performance.now() + input.durationMs;
  await Promise.all(
    Array.from({ length: input.clients }, async (_, c) => {
      const t = ts[c % ts.length]!;
      const rand = rng(input.seed * 7919 + c + 1);
      while (!stopped && performance.now() < end) {
        const seg = segments[segments.length - 1]!;
        const t0 = performance.now();
        const status = await send(
          t,
          'PUT',
          `/v1/kv/${keyOf(rand() % input.keys)}`,
          bodies[rand() % VALUES]!,
        );
        if (status === 200) {
          seg.ops++;
          seg.lat.push(performance.now() - t0);
        } else {
          seg.errors++;
          if (status === 0) await sleep(10);
        }
      }
    }),
  );
  process.off('message', onMessage);
  const stop = performance.now();
  for (const t of ts) t.agent.destroy();
  return segments.map((s, i) => ({
    ops: s.ops,
    errors: s.errors,
    seconds: ((segments[i + 1]?.start ?? stop) - s.start) / 1000,
    latencies: Float64Array.from(s.lat),
  }));
}

/** `runs` measured runs of the closed-loop load; see the file comment. */
export async function load(input: LoadInput): Promise<RunResult[]> {
  const ts = targets(input.targets, input.clients);
  const keyOf = keyFormat(input);
  const bodies = Array.from({ length: VALUES }, (_, i) => valueBody(input.valueBytes, i));
  const q = input.consistency === 'serializable' ? '?consistency=serializable' : '';
  const results: RunResult[] = [];
  // Every client's loop runs through all windows; the windows are fixed in wall-clock time.
  const origin = input.startAt + input.warmupMs;
  const windows = Array.from({ length: input.runs }, (_, r) => ({
    from: origin + r * input.durationMs,
    to: origin + (r + 1) * input.durationMs,
    ops: 0,
    errors: 0,
    lat: [] as number[],
  }));
  const end = origin + input.runs * input.durationMs;
  await sleep(input.startAt - Date.now());
  const epochOffset = Date.now() - performance.now();
  await Promise.all(
    Array.from({ length: input.clients }, async (_, c) => {
      const t = ts[c % ts.length]!;
      const rand = rng(input.seed * 7919 + c + 1);
      while (true) {
        const startPerf = performance.now();
        const start = startPerf + epochOffset;
        if (start >= end) return;
        const key = keyOf(rand() % input.keys);
        const status =
          input.op === 'get'
            ? await send(t, 'GET', `/v1/kv/${key}${q}`, null)
            : await send(t, 'PUT', `/v1/kv/${key}`, bodies[rand() % VALUES]!);
        const stopPerf = performance.now();
        const stop = stopPerf + epochOffset;
        const w = windows.find((x) => start >= x.from && start < x.to);
        if (w === undefined || stop >= w.to) continue;
        if (status === 200) {
          w.ops++;
          w.lat.push(stopPerf - startPerf);
        } else {
          w.errors++;
          if (status === 0) await sleep(10);
        }
      }
    }),
  );
  for (const t of ts) t.agent.destroy();
  for (const w of windows) {
    results.push({
      ops: w.ops,
      errors: w.errors,
      seconds: input.durationMs / 1000,
      latencies: Float64Array.from(w.lat),
    });
  }
  return results;
}
