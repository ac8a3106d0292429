// The kv suite's load generators, behind one interface, apart from the servers they load: a
// generator is a client program in its own processes. Two exist: etcd's Go clientv3
// (peers/clientv3-gen.ts), which drives etcd and raft-kv alike over etcd's v3 gRPC API, and
// the Node HTTP/1.1 generator (lib/kv-http-gen.ts, lib/kv-load.ts) for raft-kv's JSON API.
import type { FillResult, RunResult } from './kv-load.js';
import type { Params } from './suite.js';

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

/**
 * Targets are members' client URLs (http://host:port): raft-kv serves its JSON API and etcd's
 * gRPC API there, etcd its gRPC API.
 */
export interface KvGenerator {
  /** The `client` of its rows: 'go-clientv3' or 'node-http'. */
  readonly name: string;
  /** The API it speaks, when rows must say it beside the client ('http'), else null. */
  readonly api: string | null;
  /** Fills [from, to) one put per key; resolves with how many keys were written. */
  fill(targets: string[], spec: FillSpec): Promise<FillResult>;
  /**
   * `generators` processes, clients split between them, on the same wall-clock windows;
   * windows merged.
   */
  load(targets: string[], spec: LoadSpec, generators: number): Promise<RunResult[]>;
  stream(targets: string[], spec: StreamSpec): Stream;
  /** How it fills, for the notes. */
  readonly fillNote: string;
}

/** `params` with the generator named: `client=go-clientv3`, or `api=http client=node-http`. */
export function withClient(params: Params, gen: Pick<KvGenerator, 'name' | 'api'>): Params {
  return gen.api === null
    ? { ...params, client: gen.name }
    : { ...params, api: gen.api, client: gen.name };
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

/** "127.0.0.1:2379" from "http://127.0.0.1:2379" (a gRPC client's endpoint). */
export function hostPort(url: string): string {
  return new URL(url).host;
}
