// The systems the kv suite measures, behind one interface: tsraft's raft-kv (here) and etcd
// (peers/etcd-kv.ts). A system is a cluster of server processes on 127.0.0.1 plus the load
// generator that speaks its client protocol: raft-kv's HTTP API from lib/kv-load.ts in a Node
// child, etcd's gRPC API from a Go clientv3 program.
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessCluster } from '@tsraft/kv-server/process-cluster';
import { type ChildHandle, runInChild, startInChild } from './child.js';
import { onEmergencyExit } from './cleanup.js';
import type { FillResult, LoadInput, RunResult } from './kv-load.js';

const LOAD_MODULE = new URL('./kv-load.ts', import.meta.url).href;

export interface KvMember {
  id: number;
  /** The server process (RSS, CPU and fsyncs are read from /proc/<pid> and strace). */
  pid: number;
  /** What the generator is pointed at: a client URL (raft-kv) or host:port (etcd). */
  target: string;
  dataDir: string;
}

export interface Progress {
  /** Raft's applied index on that member. */
  applied: number;
  /** The store's revision: one per applied put. */
  revision: number;
}

/** Keys: `${prefix}${i padded to width}`; values of valueBytes. */
export interface KeySpace {
  prefix: string;
  width: number;
  keys: number;
  valueBytes: number;
}

export interface FillSpec extends KeySpace {
  from: number;
  to: number;
  /** Epoch ms: stop taking keys then. */
  deadline: number;
}

export interface LoadSpec extends KeySpace {
  op: 'put' | 'get';
  consistency?: 'linearizable' | 'serializable';
  clients: number;
  warmupMs: number;
  durationMs: number;
  runs: number;
}

export interface StreamSpec extends KeySpace {
  clients: number;
  /** Upper bound of the stream's life. */
  maxMs: number;
}

export interface Stream {
  /** Starts a new latency segment. */
  mark(): void;
  /** Ends the stream: one result per segment. */
  stop(): Promise<RunResult[]>;
}

export interface KvSystem {
  /** 'tsraft' or the peer's name. */
  readonly impl: string;
  /** Starts members 1..3 as a new cluster and waits for a leader. */
  start(): Promise<void>;
  members(): KvMember[];
  leader(timeoutMs?: number): Promise<KvMember>;
  progress(m: KvMember): Promise<Progress>;
  /** Adds member `id` through the leader and starts it with an empty data dir. */
  join(id: number): Promise<KvMember>;
  stop(): Promise<void>;
  /** Fills [from, to) as fast as the API allows; resolves with how many keys were written. */
  fill(targets: string[], spec: FillSpec): Promise<FillResult>;
  /**
   * `generators` load generator processes, clients split between them, on the same wall-clock
   * windows; windows merged.
   */
  load(targets: string[], spec: LoadSpec, generators: number): Promise<RunResult[]>;
  stream(targets: string[], spec: StreamSpec): Stream;
  /** How the fill batches, for the notes. */
  readonly fillNote: string;
}

/** Merges generators' results window by window. */
export function mergeWindows(results: RunResult[][]): RunResult[] {
  return results[0]!.map((_, r) => {
    const parts = results.map((x) => x[r]!);
    const lat = new Float64Array(parts.reduce((n, p) => n + p.latencies.length, 0));
    let off = 0;
    for (const p of parts) {
      lat.set(p.latencies, off);
      off += p.latencies.length;
    }
    return {
      ops: parts.reduce((n, p) => n + p.ops, 0),
      errors: parts.reduce((n, p) => n + p.errors, 0),
      seconds: parts[0]!.seconds,
      latencies: lat,
    };
  });
}

/** Seconds for the generator processes to start before the first window (tsx, Go dial). */
export const GENERATOR_START_MS = 2500;

interface StatusBody {
  leader: number;
  applied: number;
  revision: number;
}

async function getJson<T>(url: string, timeoutMs = 2000): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export interface TsraftOptions {
  baseDir: string;
  /** Extra raft-kv flags for every member (e.g. ['--snapshot-interval', '100000000']). */
  args?: string[];
  log: (line: string) => void;
}

/** raft-kv, three processes of this checkout's CLI (ProcessCluster). */
export class TsraftSystem implements KvSystem {
  readonly impl = 'tsraft';
  readonly fillNote = 'raft-kv: one PUT per key (its API has no batch), 128 concurrent clients';
  readonly cluster: ProcessCluster;
  private untrack: (() => void) | null = null;

  constructor(opts: TsraftOptions) {
    this.cluster = new ProcessCluster({
      baseDir: opts.baseDir,
      logLevel: 'warn',
      args: opts.args ?? [],
      onLine: (id, line) => opts.log(`node ${id}: ${line}`),
    });
  }

  async start(): Promise<void> {
    this.untrack = onEmergencyExit(() => {
      for (const n of this.cluster.nodes.values()) n.proc?.kill('SIGKILL');
    });
    await this.cluster.start(3);
    await this.leader();
  }

  private member(id: number): KvMember {
    const n = this.cluster.node(id);
    return { id, pid: n.proc!.pid!, target: n.clientUrl, dataDir: n.spec.dataDir };
  }

  members(): KvMember[] {
    return this.cluster.running().map((n) => this.member(n.id));
  }

  async leader(timeoutMs = 30_000): Promise<KvMember> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const n of this.cluster.running()) {
        try {
          const s = await getJson<StatusBody>(`${n.clientUrl}/status`, 1000);
          if (s.leader !== 0 && this.cluster.nodes.get(s.leader)?.running === true) {
            return this.member(s.leader);
          }
        } catch {}
      }
      await sleep(200);
    }
    throw new Error('raft-kv elected no leader');
  }

  async progress(m: KvMember): Promise<Progress> {
    const s = await getJson<StatusBody>(`${m.target}/status`);
    return { applied: s.applied, revision: s.revision };
  }

  async join(id: number): Promise<KvMember> {
    const leader = await this.leader();
    const node = await this.cluster.join(id, leader.id);
    // The process asks the leader to add it (--join) before it serves; its pid is there now.
    return { id, pid: node.proc!.pid!, target: node.clientUrl, dataDir: node.spec.dataDir };
  }

  async stop(): Promise<void> {
    await this.cluster.stop();
    this.untrack?.();
  }

  async fill(targets: string[], spec: FillSpec): Promise<FillResult> {
    return runInChild<FillResult>(
      {
        module: LOAD_MODULE,
        fn: 'fill',
        input: {
          targets,
          op: 'fill',
          clients: 128,
          keys: spec.keys,
          valueBytes: spec.valueBytes,
          prefix: spec.prefix,
          width: spec.width,
          from: spec.from,
          to: spec.to,
          deadline: spec.deadline,
          startAt: 0,
          warmupMs: 0,
          durationMs: 0,
          runs: 0,
          seed: 1,
        } satisfies LoadInput,
      },
      { timeoutMs: Math.max(0, spec.deadline - Date.now()) + 120_000 },
    );
  }

  async load(targets: string[], spec: LoadSpec, generators: number): Promise<RunResult[]> {
    const startAt = Date.now() + GENERATOR_START_MS;
    const per = Math.floor(spec.clients / generators);
    const results = await Promise.all(
      Array.from({ length: generators }, (_, g) =>
        runInChild<RunResult[]>(
          {
            module: LOAD_MODULE,
            fn: 'load',
            input: { ...spec, targets, clients: per, startAt, seed: g + 1 } satisfies LoadInput,
          },
          { timeoutMs: spec.warmupMs + spec.runs * spec.durationMs + 5 * 60_000 },
        ),
      ),
    );
    return mergeWindows(results);
  }

  stream(targets: string[], spec: StreamSpec): Stream {
    const h: ChildHandle<RunResult[]> = startInChild<RunResult[]>(
      {
        module: LOAD_MODULE,
        fn: 'stream',
        input: {
          ...spec,
          targets,
          op: 'put',
          durationMs: spec.maxMs,
          startAt: 0,
          warmupMs: 0,
          runs: 0,
          seed: 7,
        } satisfies LoadInput,
      },
      { timeoutMs: spec.maxMs + 120_000 },
    );
    return {
      mark: () => h.send('mark'),
      stop: () => {
        h.send('stop');
        return h.result;
      },
    };
  }
}
