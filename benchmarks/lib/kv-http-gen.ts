// The Node HTTP/1.1 load generator for raft-kv's JSON API (lib/kv-load.ts, run in child
// processes): the kv suite's secondary rows ("api=http") beside the Go clientv3 generator,
// and its only generator when Go is missing.
import { type ChildHandle, runInChild, startInChild } from './child.js';
import {
  type FillSpec,
  GENERATOR_START_MS,
  type KvGenerator,
  type LoadSpec,
  type Stream,
  type StreamSpec,
  mergeWindows,
} from './kv-gen.js';
import type { FillResult, LoadInput, RunResult } from './kv-load.js';

const LOAD_MODULE = new URL('./kv-load.ts', import.meta.url).href;
const FILL_CLIENTS = 128;

export class NodeHttpGenerator implements KvGenerator {
  readonly name = 'node-http';
  readonly api = 'http';
  readonly fillNote =
    `one PUT /v1/kv per key over HTTP/1.1 (node-http), ${FILL_CLIENTS} concurrent clients`;

  async fill(targets: string[], spec: FillSpec): Promise<FillResult> {
    return runInChild<FillResult>(
      {
        module: LOAD_MODULE,
        fn: 'fill',
        input: {
          targets,
          op: 'fill',
          clients: FILL_CLIENTS,
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
