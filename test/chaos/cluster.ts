// The raft-kv processes of a chaos run: started from this checkout (ProcessCluster), their
// peer traffic through the fault-injecting proxy (each node advertises its proxy address),
// every line they print kept in <dir>/node-<id>.log, and the faults the runner injects:
// SIGKILL + restart, SIGSTOP / SIGCONT, partitions.
import { type WriteStream, createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KvClient } from '@tsraft/kv-server';
import { ProcessCluster } from '@tsraft/kv-server/process-cluster';
import { PeerProxy } from './proxy.js';

export interface ChaosClusterOptions {
  dir: string;
  size: number;
  /** Extra raft-kv flags for every node. */
  args: string[];
}

export class ChaosCluster {
  readonly ids: number[];
  readonly proxy = new PeerProxy();
  readonly cluster: ProcessCluster;
  /** Lines that name TRANSPORT_BAD_MESSAGE, over all nodes. */
  badMessages = 0;
  readonly stopped = new Set<number>();
  private readonly proxyAddr = new Map<number, string>();
  private readonly logs = new Map<number, WriteStream>();

  constructor(private readonly o: ChaosClusterOptions) {
    this.ids = Array.from({ length: o.size }, (_, i) => i + 1);
    mkdirSync(o.dir, { recursive: true });
    this.cluster = new ProcessCluster({
      baseDir: join(o.dir, 'data'),
      args: o.args,
      logLevel: 'info',
      onLine: (id, line) => {
        if (line.includes('TRANSPORT_BAD_MESSAGE')) this.badMessages++;
        this.log(id).write(`${line}\n`);
      },
    });
  }

  private log(id: number): WriteStream {
    let s = this.logs.get(id);
    if (s === undefined) {
      s = createWriteStream(join(this.o.dir, `node-${id}.log`), { flags: 'a' });
      this.logs.set(id, s);
    }
    return s;
  }

  async start(): Promise<void> {
    for (const id of this.ids) {
      const node = await this.cluster.define(id);
      this.proxyAddr.set(id, await this.proxy.listen(id, () => node.spec.peerPort));
    }
    const spec = this.ids.map((id) => `${id}=${this.proxyAddr.get(id)}`).join(',');
    for (const id of this.ids) {
      this.cluster.node(id).spawn(['--initial-cluster', spec, ...this.own(id)]);
    }
  }

  private own(id: number): string[] {
    return ['--advertise-peer', this.proxyAddr.get(id)!];
  }

  running(id: number): boolean {
    return this.cluster.node(id).running;
  }

  /** Client URLs of the processes alive (a stopped one included: clients cannot tell). */
  endpoints(): string[] {
    return this.ids.filter((id) => this.running(id)).map((id) => this.cluster.node(id).clientUrl);
  }

  /** The leader most live members report, or 0. */
  async leader(): Promise<number> {
    const votes = new Map<number, number>();
    await Promise.all(
      this.ids
        .filter((id) => this.running(id) && !this.stopped.has(id))
        .map(async (id) => {
          try {
            const s = await new KvClient(this.cluster.node(id).clientUrl).status({
              timeoutMs: 1000,
            });
            if (s.leader !== 0) votes.set(s.leader, (votes.get(s.leader) ?? 0) + 1);
          } catch {}
        }),
    );
    const best = [...votes].sort((a, b) => b[1] - a[1])[0];
    return best === undefined ? 0 : best[0];
  }

  async kill(id: number): Promise<void> {
    this.stopped.delete(id);
    await this.cluster.node(id).kill('SIGKILL');
  }

  restart(id: number): void {
    if (!this.running(id)) this.cluster.node(id).spawn(this.own(id));
  }

  pause(id: number): void {
    this.cluster.node(id).proc?.kill('SIGSTOP');
    this.stopped.add(id);
  }

  resume(id: number): void {
    if (!this.stopped.delete(id)) return;
    this.cluster.node(id).proc?.kill('SIGCONT');
  }

  isolate(id: number): void {
    this.proxy.isolate([id], this.ids);
  }

  /** Undoes every fault: heals the network, resumes, restarts. */
  healAll(): void {
    this.proxy.heal();
    for (const id of [...this.stopped]) this.resume(id);
    for (const id of this.ids) this.restart(id);
  }

  /** Stops everything this run started, whatever state it is in. */
  async shutdown(): Promise<void> {
    for (const id of [...this.stopped]) this.resume(id);
    await this.cluster.stop(5_000);
    await this.proxy.close();
    await Promise.all(
      [...this.logs.values()].map((s) => new Promise<void>((r) => s.end(() => r()))),
    );
  }
}
