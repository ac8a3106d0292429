// The kv suite's main load generator: etcd 3.4's Go clientv3 (kv-clientv3-go/main.go),
// one and the same client for etcd and raft-kv, both of which serve etcd's v3 gRPC API on
// their client URL. Built at run time in GOPATH mode with Debian's golang-go and
// golang-etcd-server-dev into a temporary directory (never committed); Go's build cache
// stays in $TMPDIR/tsraft-bench-gocache so the next run builds in seconds.
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScript, tail } from '../peers/process.js';
import { ensurePackages } from './apt.js';
import { trackProcessGroup } from './cleanup.js';
import {
  type FillSpec,
  GENERATOR_START_MS,
  type KeySpace,
  type KvGenerator,
  type LoadSpec,
  type Stream,
  type StreamSpec,
  hostPort,
  mergeWindows,
} from './kv-gen.js';
import type { FillResult, RunResult } from './kv-load.js';

const GO_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'kv-clientv3-go', 'main.go');
const PACKAGES = ['golang-go', 'golang-etcd-server-dev'];
/**
 * Puts per request when filling: 1, as raft-kv's HTTP API must. Txns of 64 puts loaded etcd
 * 8x faster, but each became one raft entry of ~66 KB, and etcd keeps its raft log in memory
 * up to --snapshot-count (100,000) entries: its RSS after the load measured the loading method.
 */
const FILL_BATCH = 1;
const FILL_CLIENTS = 128;

/** null when go and etcd's Go sources are there (installed first when `install`). */
export function ensureGo(install: boolean, log: (l: string) => void): Promise<string | null> {
  return ensurePackages(PACKAGES, [['go', 'version']], { install, log });
}

/** Builds the generator into a new temporary directory; `dispose` removes it. */
export async function buildClientv3Generator(
  log: (l: string) => void,
): Promise<{ generator: Clientv3Generator; dispose: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'tsraft-bench-clientv3-'));
  const dispose = () => rmSync(dir, { recursive: true, force: true });
  try {
    const src = join(dir, 'src', 'kvgen');
    mkdirSync(src, { recursive: true });
    copyFileSync(GO_SOURCE, join(src, 'main.go'));
    const bin = join(dir, 'kvgen');
    log('building the Go clientv3 load generator (go build, once per run)');
    const r = await runScript('go', ['build', '-o', bin, '.'], {
      cwd: src,
      env: {
        ...process.env,
        GOPATH: `${dir}:/usr/share/gocode`,
        GO111MODULE: 'off',
        GOFLAGS: '',
        GOCACHE: join(tmpdir(), 'tsraft-bench-gocache'),
      },
      timeoutMs: 10 * 60_000,
    });
    if (r.code !== 0) throw new Error(`go build failed: ${tail(r.stderr)}`);
    return { generator: new Clientv3Generator(bin), dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}

interface WindowJson {
  ops: number;
  errors: number;
  seconds: number;
  latencies: number[];
}

function toRun(w: WindowJson): RunResult {
  return {
    ops: w.ops,
    errors: w.errors,
    seconds: w.seconds,
    latencies: Float64Array.from(w.latencies),
  };
}

function keyArgs(spec: KeySpace): string[] {
  return [
    '-prefix',
    spec.prefix,
    '-width',
    String(spec.width),
    '-keys',
    String(spec.keys),
    '-value-bytes',
    String(spec.valueBytes),
  ];
}

const endpoints = (targets: string[]): string => targets.map(hostPort).join(',');

export class Clientv3Generator implements KvGenerator {
  readonly name = 'go-clientv3';
  readonly api = null;
  readonly fillNote =
    FILL_BATCH === 1
      ? `one Put per key over gRPC (go-clientv3), ${FILL_CLIENTS} concurrent clients`
      : `Txns of ${FILL_BATCH} puts over gRPC (go-clientv3), ${FILL_CLIENTS} concurrent clients`;

  constructor(private readonly bin: string) {}

  /** Runs the generator in its own process group; its JSON output. */
  private run<T>(args: string[], timeoutMs: number, stdin = false): GoRun<T> {
    const proc = spawn(this.bin, args, {
      stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const untrack = trackProcessGroup(proc.pid!, 'clientv3 load generator');
    let out = '';
    let err = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    const result = new Promise<T>((resolve, reject) => {
      proc.once('error', reject);
      proc.once('close', (code, signal) => {
        clearTimeout(timer);
        untrack();
        if (code !== 0) {
          reject(new Error(`clientv3 generator failed (${code ?? signal}): ${tail(err)}`));
          return;
        }
        try {
          resolve(JSON.parse(out) as T);
        } catch (e) {
          reject(new Error(`clientv3 generator printed no JSON (${(e as Error).message})`));
        }
      });
    });
    return { proc, result };
  }

  async fill(targets: string[], spec: FillSpec): Promise<FillResult> {
    const maxMs = Math.max(0, spec.deadline - Date.now());
    const r = await this.run<{
      written: number;
      errors: number;
      seconds: number;
      maxMs: number;
      over1s: number;
    }>(
      [
        '-mode',
        'fill',
        '-endpoints',
        endpoints(targets),
        '-clients',
        String(FILL_CLIENTS),
        '-batch',
        String(FILL_BATCH),
        '-from',
        String(spec.from),
        '-to',
        String(spec.to),
        '-max-ms',
        String(maxMs),
        ...keyArgs(spec),
      ],
      maxMs + 120_000,
    ).result;
    return {
      ops: r.written,
      errors: r.errors,
      seconds: r.seconds,
      maxMs: r.maxMs,
      over1s: r.over1s,
    };
  }

  async load(targets: string[], spec: LoadSpec, generators: number): Promise<RunResult[]> {
    const startAt = Date.now() + GENERATOR_START_MS;
    const per = Math.floor(spec.clients / generators);
    const results = await Promise.all(
      Array.from({ length: generators }, (_, g) =>
        this.run<{ windows: WindowJson[] }>(
          [
            '-mode',
            'load',
            '-endpoints',
            endpoints(targets),
            '-op',
            spec.op,
            ...(spec.consistency === 'serializable' ? ['-serializable'] : []),
            '-clients',
            String(per),
            '-start-at',
            String(startAt),
            '-warmup-ms',
            String(spec.warmupMs),
            '-duration-ms',
            String(spec.durationMs),
            '-runs',
            String(spec.runs),
            '-seed',
            String(g + 1),
            ...keyArgs(spec),
          ],
          spec.warmupMs + spec.runs * spec.durationMs + 5 * 60_000,
        ).result.then((r) => r.windows.map(toRun)),
      ),
    );
    return mergeWindows(results);
  }

  stream(targets: string[], spec: StreamSpec): Stream {
    const run = this.run<{ segments: WindowJson[] }>(
      [
        '-mode',
        'stream',
        '-endpoints',
        endpoints(targets),
        '-clients',
        String(spec.clients),
        '-max-ms',
        String(spec.maxMs),
        '-seed',
        '7',
        ...keyArgs(spec),
      ],
      spec.maxMs + 120_000,
      true,
    );
    return {
      mark: () => run.proc.stdin!.write('mark\n'),
      stop: async () => {
        run.proc.stdin!.end();
        return (await run.result).segments.map(toRun);
      },
    };
  }
}

interface GoRun<T> {
  proc: ChildProcess;
  result: Promise<T>;
}
