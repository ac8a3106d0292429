// etcd 3.4 beside raft-kv in the kv suite (`pnpm bench kv --peers`): Debian's etcd-server,
// three members on 127.0.0.1 with its defaults (each in its own process group), and a load
// generator over etcd's Go clientv3 (etcd-kv-go/main.go, built at run time with Debian's
// golang-go and golang-etcd-server-dev into a temporary directory).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePorts } from '@tsraft/kv-server/process-cluster';
import { stopGroup, trackProcessGroup } from '../lib/cleanup.js';
import type { FillResult, RunResult } from '../lib/kv-load.js';
import {
  type FillSpec,
  GENERATOR_START_MS,
  type KvMember,
  type KvSystem,
  type LoadSpec,
  type Progress,
  type Stream,
  type StreamSpec,
  mergeWindows,
} from '../lib/kv-systems.js';
import { hasCommand, runScript, tail } from './process.js';

export const PEER = 'etcd';
const PACKAGES = ['etcd-server', 'golang-go', 'golang-etcd-server-dev'];
const GO_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'etcd-kv-go', 'main.go');
/**
 * Puts per request when filling: 1, as raft-kv's API must. Txns of 64 puts loaded 8x faster,
 * but each became one raft entry of ~66 KB, and etcd keeps its raft log in memory up to
 * --snapshot-count (100,000) entries: its RSS after the load measured the loading method.
 */
const FILL_BATCH = 1;
const FILL_CLIENTS = 128;

function installed(pkg: string): boolean {
  const format = ['-f=$', '{Status}'].join(''); // dpkg's own syntax, not a template
  const r = runSync('dpkg-query', ['-W', format, pkg]);
  return r.includes('install ok installed');
}

function runSync(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  return r.stdout ?? '';
}

/** null when etcd, go and the clientv3 sources are there (installing them if apt works). */
export async function ensureToolchain(log: (l: string) => void): Promise<string | null> {
  const missing = PACKAGES.filter((p) => !installed(p));
  if (missing.length === 0 && hasCommand('etcd', ['--version']) && hasCommand('go', ['version']))
    return null;
  if (!hasCommand('apt-get', ['--version'])) return `${missing.join(' ')} missing, no apt-get`;
  if (process.getuid?.() !== 0)
    return `${missing.join(' ')} missing (apt-get install -y ${PACKAGES.join(' ')} needs root)`;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`installing ${missing.join(' ')} with apt-get (once)`);
  const update = await runScript('apt-get', ['update'], { env, timeoutMs: 5 * 60_000 });
  if (update.code !== 0) return `apt-get update failed: ${tail(update.stderr || update.stdout)}`;
  const inst = await runScript('apt-get', ['install', '-y', ...PACKAGES], {
    env,
    timeoutMs: 20 * 60_000,
  });
  if (inst.code !== 0) return `apt-get install failed: ${tail(inst.stderr || inst.stdout)}`;
  if (!hasCommand('etcd', ['--version'])) return 'etcd still missing after apt-get install';
  return hasCommand('go', ['version']) ? null : 'go still missing after apt-get install';
}

/** etcd's version line, e.g. "etcd Version: 3.4.23". */
export function etcdVersion(): string {
  return runSync('etcd', ['--version']).split('\n')[0]?.trim() ?? 'etcd ?';
}

/** Builds the generator into `dir` (GOPATH mode against /usr/share/gocode); its path. */
export async function buildGenerator(dir: string, log: (l: string) => void): Promise<string> {
  const src = join(dir, 'src', 'kvgen');
  mkdirSync(src, { recursive: true });
  copyFileSync(GO_SOURCE, join(src, 'main.go'));
  const bin = join(dir, 'kvgen');
  log('building the etcd clientv3 load generator (go build, once per run)');
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
  return bin;
}

interface EtcdProc {
  id: number;
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  proc: ChildProcess;
  exited: Promise<void>;
  untrack: () => void;
}

interface StatusJson {
  header: { member_id: string; revision?: string };
  leader: string;
  raftAppliedIndex?: string;
  raftIndex?: string;
}

async function postJson<T>(url: string, body: unknown, timeoutMs = 2000): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export interface EtcdOptions {
  baseDir: string;
  /** The generator binary (buildGenerator). */
  generator: string;
  /** Extra etcd flags for every member (e.g. ['--snapshot-count', '100000000']). */
  args?: string[];
  log: (line: string) => void;
}

/** Three etcd members, their defaults but for a backend quota that holds the 1 GiB rows. */
export class EtcdSystem implements KvSystem {
  readonly impl = PEER;
  readonly fillNote =
    FILL_BATCH === 1
      ? `etcd: one Put per key, ${FILL_CLIENTS} concurrent clients`
      : `etcd: Txns of ${FILL_BATCH} puts, ${FILL_CLIENTS} concurrent clients`;
  private readonly procs = new Map<number, EtcdProc>();
  private readonly token = `bench-${process.pid}-${Date.now()}`;

  constructor(private readonly opts: EtcdOptions) {}

  private async ports(): Promise<{ clientPort: number; peerPort: number }> {
    const [clientPort, peerPort] = await freePorts(2);
    return { clientPort: clientPort!, peerPort: peerPort! };
  }

  private spawnMember(
    id: number,
    ports: { clientPort: number; peerPort: number },
    cluster: string,
    state: 'new' | 'existing',
  ): void {
    const dataDir = join(this.opts.baseDir, `m${id}`);
    const client = `http://127.0.0.1:${ports.clientPort}`;
    const peer = `http://127.0.0.1:${ports.peerPort}`;
    const proc = spawn(
      'etcd',
      [
        '--name',
        `m${id}`,
        '--data-dir',
        dataDir,
        '--listen-client-urls',
        client,
        '--advertise-client-urls',
        client,
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        cluster,
        '--initial-cluster-state',
        state,
        '--initial-cluster-token',
        this.token,
        // 1M keys of 1 KiB plus their history outgrow the default 2 GiB quota, which would
        // stop writes (NOSPACE alarm); a larger quota changes nothing else.
        '--quota-backend-bytes',
        String(8 * 2 ** 30),
        '--logger',
        'zap',
        '--log-level',
        'error',
        ...(this.opts.args ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    const untrack = trackProcessGroup(proc.pid!, `etcd m${id}`);
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    for (const s of [proc.stdout!, proc.stderr!]) {
      s.setEncoding('utf8').on('data', (d: string) => {
        for (const line of d.split('\n')) {
          // grpc's reconnect warnings while members start and stop say nothing useful.
          if (line.trim() === '' || line.includes('addrConn.createTransport')) continue;
          this.opts.log(`etcd m${id}: ${line.slice(0, 300)}`);
        }
      });
    }
    this.procs.set(id, { id, name: `m${id}`, ...ports, dataDir, proc, exited, untrack });
  }

  async start(): Promise<void> {
    const ids = [1, 2, 3];
    const ports = await Promise.all(ids.map(() => this.ports()));
    // The spec needs every member's ports before any starts.
    const spec = ids.map((id, i) => `m${id}=http://127.0.0.1:${ports[i]!.peerPort}`).join(',');
    for (const [i, id] of ids.entries()) this.spawnMember(id, ports[i]!, spec, 'new');
    await this.leader();
  }

  private member(p: EtcdProc): KvMember {
    return { id: p.id, pid: p.proc.pid!, target: `127.0.0.1:${p.clientPort}`, dataDir: p.dataDir };
  }

  members(): KvMember[] {
    return [...this.procs.values()]
      .filter((p) => p.proc.exitCode === null && p.proc.signalCode === null)
      .map((p) => this.member(p));
  }

  private status(m: KvMember, timeoutMs = 2000): Promise<StatusJson> {
    return postJson<StatusJson>(`http://${m.target}/v3/maintenance/status`, {}, timeoutMs);
  }

  async leader(timeoutMs = 30_000): Promise<KvMember> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const m of this.members()) {
        try {
          const s = await this.status(m, 1000);
          if (s.leader !== undefined && s.leader !== '0' && s.leader === s.header.member_id)
            return m;
        } catch {}
      }
      await sleep(200);
    }
    throw new Error('etcd elected no leader');
  }

  async progress(m: KvMember): Promise<Progress> {
    const s = await this.status(m);
    return {
      applied: Number(s.raftAppliedIndex ?? s.raftIndex ?? Number.NaN),
      revision: Number(s.header.revision ?? Number.NaN),
    };
  }

  async join(id: number): Promise<KvMember> {
    const leader = await this.leader();
    const ports = await this.ports();
    // etcd refuses a member while it thinks a member is unhealthy (strict reconfig check),
    // which a loaded member can look like for a moment: retry for up to 30 s.
    for (let attempt = 0; ; attempt++) {
      try {
        await postJson(
          `http://${leader.target}/v3/cluster/member/add`,
          { peerURLs: [`http://127.0.0.1:${ports.peerPort}`] },
          10_000,
        );
        break;
      } catch (err) {
        if (attempt >= 30 || !/unhealthy|HTTP 503/.test((err as Error).message)) throw err;
        this.opts.log(`etcd: member add refused (${(err as Error).message}); retrying`);
        await sleep(1000);
      }
    }
    const ids = [...this.procs.keys(), id].sort((a, b) => a - b);
    const spec = ids
      .map(
        (i) => `m${i}=http://127.0.0.1:${i === id ? ports.peerPort : this.procs.get(i)!.peerPort}`,
      )
      .join(',');
    this.spawnMember(id, ports, spec, 'existing');
    return this.member(this.procs.get(id)!);
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.procs.values()].map(async (p) => {
        await stopGroup(p.proc.pid!, p.exited);
        p.untrack();
      }),
    );
  }

  /** Runs the generator; its JSON output. */
  private gen<T>(args: string[], timeoutMs: number, stdin = false): GoRun<T> {
    const proc = spawn(this.opts.generator, args, {
      stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const untrack = trackProcessGroup(proc.pid!, 'etcd load generator');
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
          reject(new Error(`etcd generator failed (${code ?? signal}): ${tail(err)}`));
          return;
        }
        try {
          resolve(JSON.parse(out) as T);
        } catch (e) {
          reject(new Error(`etcd generator printed no JSON (${(e as Error).message})`));
        }
      });
    });
    return { proc, result };
  }

  private keyArgs(spec: { prefix: string; width: number; keys: number; valueBytes: number }) {
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

  async fill(targets: string[], spec: FillSpec): Promise<FillResult> {
    const maxMs = Math.max(0, spec.deadline - Date.now());
    const r = await this.gen<{
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
        targets.join(','),
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
        ...this.keyArgs(spec),
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
        this.gen<{ windows: WindowJson[] }>(
          [
            '-mode',
            'load',
            '-endpoints',
            targets.join(','),
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
            ...this.keyArgs(spec),
          ],
          spec.warmupMs + spec.runs * spec.durationMs + 5 * 60_000,
        ).result.then((r) => r.windows.map(toRun)),
      ),
    );
    return mergeWindows(results);
  }

  stream(targets: string[], spec: StreamSpec): Stream {
    const run = this.gen<{ segments: WindowJson[] }>(
      [
        '-mode',
        'stream',
        '-endpoints',
        targets.join(','),
        '-clients',
        String(spec.clients),
        '-max-ms',
        String(spec.maxMs),
        '-seed',
        '7',
        ...this.keyArgs(spec),
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

/** A temporary directory for the generator build; removed by the caller. */
export function generatorDir(): string {
  return mkdtempSync(join(tmpdir(), 'tsraft-bench-etcd-kv-'));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
