// etcd 3.4 beside raft-kv in the kv suite (`pnpm bench kv --peers`): Debian's etcd-server,
// three members on 127.0.0.1 with its defaults (each in its own process group). The suite
// drives it with the same Go clientv3 generator as raft-kv (lib/kv-clientv3-gen.ts).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from '@tsraft/kv-server/process-cluster';
import { ensurePackages } from '../lib/apt.js';
import { stopGroup, trackProcessGroup } from '../lib/cleanup.js';
import type { KvMember, KvSystem, Progress } from '../lib/kv-systems.js';

export const PEER = 'etcd';

/** null when etcd runs (installing Debian's etcd-server first when `install`); else why not. */
export function ensureEtcd(install: boolean, log: (l: string) => void): Promise<string | null> {
  return ensurePackages(['etcd-server'], [['etcd', '--version']], { install, log });
}

/** etcd's version line, e.g. "etcd Version: 3.4.23". */
export function etcdVersion(): string {
  const r = spawnSync('etcd', ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return (r.stdout ?? '').split('\n')[0]?.trim() || 'etcd ?';
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
  /** Extra etcd flags for every member (e.g. ['--snapshot-count', '100000000']). */
  args?: string[];
  log: (line: string) => void;
}

/** Three etcd members, their defaults but for a backend quota that holds the 1 GiB rows. */
export class EtcdSystem implements KvSystem {
  readonly impl = PEER;
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
    const target = `http://127.0.0.1:${p.clientPort}`;
    return { id: p.id, pid: p.proc.pid!, target, dataDir: p.dataDir };
  }

  members(): KvMember[] {
    return [...this.procs.values()]
      .filter((p) => p.proc.exitCode === null && p.proc.signalCode === null)
      .map((p) => this.member(p));
  }

  private status(m: KvMember, timeoutMs = 2000): Promise<StatusJson> {
    return postJson<StatusJson>(`${m.target}/v3/maintenance/status`, {}, timeoutMs);
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
          `${leader.target}/v3/cluster/member/add`,
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
}
