// The systems the kv suite measures, behind one interface: tsraft's raft-kv (here) and etcd
// (peers/etcd-kv.ts). A system is a cluster of server processes on 127.0.0.1; the load
// generators that drive it are apart (lib/kv-gen.ts): both systems serve etcd's v3 gRPC API
// on their client URL, raft-kv its HTTP JSON API there too.
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessCluster } from '@tsraft/kv-server/process-cluster';
import { onEmergencyExit } from './cleanup.js';

export interface KvMember {
  id: number;
  /** The server process (RSS, CPU and fsyncs are read from /proc/<pid> and strace). */
  pid: number;
  /** Its client URL, http://127.0.0.1:<port>: what generators are pointed at. */
  target: string;
  dataDir: string;
}

export interface Progress {
  /** Raft's applied index on that member. */
  applied: number;
  /** The store's revision: one per applied put. */
  revision: number;
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
}

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
}
