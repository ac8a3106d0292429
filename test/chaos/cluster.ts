// The raft-kv processes of a chaos run, started from this checkout, and the faults the runner
// injects: SIGKILL + restart, SIGSTOP / SIGCONT, partitions. Partitions go through network
// namespaces when the machine allows them (netns.ts), else through a fault-injecting peer
// proxy on 127.0.0.1 (proxy.ts: each node advertises its proxy address, so every peer
// connection to it passes there). Every line a node prints goes to <dir>/node-<id>.log.
import { type WriteStream, createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KvClient } from '@tsraft/kv-server';
import { freePorts } from '@tsraft/kv-server/process-cluster';
import { NetnsNetwork } from './netns.js';
import { NodeProc } from './node-proc.js';
import { PeerProxy } from './proxy.js';

export type PartitionMode = 'netns' | 'proxy';

export interface ChaosClusterOptions {
  dir: string;
  size: number;
  /** Extra raft-kv flags for every node. */
  args: string[];
  partitions: PartitionMode;
}

export class ChaosCluster {
  readonly ids: number[];
  /** Lines that name TRANSPORT_BAD_MESSAGE, over all nodes. */
  badMessages = 0;
  readonly stopped = new Set<number>();
  private readonly nodes = new Map<number, NodeProc>();
  private readonly clientUrls = new Map<number, string>();
  /** The flags a node starts with on its first start only. */
  private readonly firstStart = new Map<number, string[]>();
  private readonly logs = new Map<number, WriteStream>();
  private proxy: PeerProxy | null = null;
  private netns: NetnsNetwork | null = null;

  constructor(private readonly o: ChaosClusterOptions) {
    this.ids = Array.from({ length: o.size }, (_, i) => i + 1);
    mkdirSync(join(o.dir, 'data'), { recursive: true });
  }

  get partitions(): PartitionMode {
    return this.o.partitions;
  }

  private log(id: number): WriteStream {
    let s = this.logs.get(id);
    if (s === undefined) {
      s = createWriteStream(join(this.o.dir, `node-${id}.log`), { flags: 'a' });
      this.logs.set(id, s);
    }
    return s;
  }

  private define(id: number, listenClient: string, listenPeer: string, netns: string | null) {
    const base = [
      '--id',
      String(id),
      '--listen-client',
      listenClient,
      '--listen-peer',
      listenPeer,
      '--data-dir',
      join(this.o.dir, 'data', `node-${id}`),
      '--log-level',
      'info',
      ...this.o.args,
    ];
    const onLine = (line: string) => {
      if (line.includes('TRANSPORT_BAD_MESSAGE')) this.badMessages++;
      this.log(id).write(`${line}\n`);
    };
    this.nodes.set(id, new NodeProc(id, base, netns, onLine));
    this.clientUrls.set(id, `http://${listenClient}`);
  }

  async start(): Promise<void> {
    if (this.o.partitions === 'netns') {
      const net = new NetnsNetwork(this.ids);
      this.netns = net;
      net.setUp();
      const spec = this.ids.map((id) => `${id}=${net.addr(id)}:2380`).join(',');
      for (const id of this.ids) {
        this.define(id, `${net.addr(id)}:2379`, `${net.addr(id)}:2380`, net.ns(id));
        this.firstStart.set(id, ['--initial-cluster', spec]);
      }
    } else {
      const proxy = new PeerProxy();
      this.proxy = proxy;
      const proxied = new Map<number, string>();
      for (const id of this.ids) {
        const [clientPort, peerPort] = await freePorts(2);
        this.define(id, `127.0.0.1:${clientPort}`, `127.0.0.1:${peerPort}`, null);
        proxied.set(id, await proxy.listen(id, () => peerPort!));
      }
      const spec = this.ids.map((id) => `${id}=${proxied.get(id)}`).join(',');
      for (const id of this.ids) {
        this.firstStart.set(id, ['--initial-cluster', spec, '--advertise-peer', proxied.get(id)!]);
      }
    }
    for (const id of this.ids) this.node(id).spawn(this.firstStart.get(id)!);
  }

  private node(id: number): NodeProc {
    return this.nodes.get(id)!;
  }

  running(id: number): boolean {
    return this.node(id).running;
  }

  /** Client URLs of the processes alive (a stopped one included: clients cannot tell). */
  endpoints(): string[] {
    return this.ids.filter((id) => this.running(id)).map((id) => this.clientUrls.get(id)!);
  }

  /** The leader most live members report, or 0. */
  async leader(): Promise<number> {
    const votes = new Map<number, number>();
    await Promise.all(
      this.ids
        .filter((id) => this.running(id) && !this.stopped.has(id))
        .map(async (id) => {
          try {
            const s = await new KvClient(this.clientUrls.get(id)!).status({ timeoutMs: 1000 });
            if (s.leader !== 0) votes.set(s.leader, (votes.get(s.leader) ?? 0) + 1);
          } catch {}
        }),
    );
    const best = [...votes].sort((a, b) => b[1] - a[1])[0];
    return best === undefined ? 0 : best[0];
  }

  async kill(id: number): Promise<void> {
    this.stopped.delete(id);
    await this.node(id).stop('SIGKILL');
  }

  /** Starts a member that is down again, from its data dir (its saved addresses included). */
  restart(id: number): void {
    if (this.running(id)) return;
    // The proxy address must stay advertised; --initial-cluster is only read on an empty dir.
    const extra = this.proxy === null ? [] : this.firstStart.get(id)!.slice(2);
    this.node(id).spawn(extra);
  }

  pause(id: number): void {
    this.node(id).signal('SIGSTOP');
    this.stopped.add(id);
  }

  resume(id: number): void {
    if (!this.stopped.delete(id)) return;
    this.node(id).signal('SIGCONT');
  }

  isolate(id: number): void {
    if (this.netns !== null) this.netns.isolate(id);
    else this.proxy!.isolate([id], this.ids);
  }

  heal(): void {
    if (this.netns !== null) this.netns.heal();
    else this.proxy!.heal();
  }

  /** Undoes every fault: heals the network, resumes, restarts. */
  healAll(): void {
    this.heal();
    for (const id of [...this.stopped]) this.resume(id);
    for (const id of this.ids) this.restart(id);
  }

  /** Stops everything this run started, whatever state it is in. */
  async shutdown(): Promise<void> {
    this.stopped.clear();
    await Promise.all([...this.nodes.values()].map((n) => n.stop('SIGTERM')));
    await this.proxy?.close();
    this.netns?.tearDown();
    await Promise.all(
      [...this.logs.values()].map((s) => new Promise<void>((r) => s.end(() => r()))),
    );
  }
}
