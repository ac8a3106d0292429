// Helpers for end-to-end tests against raft-kv processes: bounded polling, leader discovery,
// and writes retried until acknowledged (with a ledger of what was acknowledged).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvClient, type KvClientTls, KvHttpError, type NodeStatusView } from '../../src/client.js';
import { ProcessCluster } from '../../src/process-cluster.js';

/** A cluster of one node (id 1) in `dir`, its lines (at info) collected in `logs`. */
export async function oneLoggedNode(dir: string) {
  const logs: string[] = [];
  const cluster = new ProcessCluster({
    baseDir: dir,
    logLevel: 'info',
    onLine: (_, l) => logs.push(l),
  });
  const node = await cluster.define(1);
  return { cluster, node, logs };
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`);
}

export class TestCluster {
  readonly cluster: ProcessCluster;
  readonly logs: string[] = [];
  private readonly dir: string;
  /** One client per node with TLS, so requests share connections and handshakes. */
  private readonly tlsClients = new Map<number, KvClient>();

  /** With `clientTls`, clients talk https:// to every node (which must run --cert-file). */
  constructor(
    args: string[],
    private readonly clientTls?: KvClientTls,
    /** Flags for node itself, e.g. --max-old-space-size. */
    extra: { nodeFlags?: string[] } = {},
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'tsraft-kv-e2e-'));
    this.cluster = new ProcessCluster({
      baseDir: this.dir,
      args,
      ...extra,
      logLevel: 'warn',
      onLine: (id, line) => {
        this.logs.push(`[${id}] ${line}`);
        if (this.logs.length > 2000) this.logs.splice(0, 1000);
      },
    });
  }

  client(id: number): KvClient {
    if (this.clientTls === undefined) return new KvClient(this.cluster.node(id).clientUrl);
    let c = this.tlsClients.get(id);
    if (c === undefined) {
      c = new KvClient(this.clientUrl(id), { tls: this.clientTls });
      this.tlsClients.set(id, c);
    }
    return c;
  }

  /** Node `id`'s client URL: https:// when the cluster serves clients over TLS. */
  clientUrl(id: number): string {
    const url = this.cluster.node(id).clientUrl;
    return this.clientTls === undefined ? url : url.replace(/^http:/, 'https:');
  }

  async status(id: number): Promise<NodeStatusView> {
    return this.client(id).status({ timeoutMs: 2000 });
  }

  /** The leader that a running node reports, once that leader is running too. */
  async leader(timeoutMs = 20_000): Promise<number> {
    return waitFor(
      'a leader',
      async () => {
        for (const n of this.cluster.running()) {
          try {
            const s = await this.status(n.id);
            if (s.leader !== 0 && this.cluster.nodes.get(s.leader)?.running) return s.leader;
          } catch {}
        }
        return undefined;
      },
      timeoutMs,
    );
  }

  /** Waits until node `id` has applied at least `index`. */
  async caughtUp(id: number, index: number, timeoutMs = 30_000): Promise<NodeStatusView> {
    return waitFor(
      `node ${id} to apply index ${index}`,
      async () => {
        const s = await this.status(id);
        return s.applied >= index ? s : undefined;
      },
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    for (const c of this.tlsClients.values()) c.close();
    await this.cluster.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  tail(n = 60): string {
    return this.logs.slice(-n).join('\n');
  }

  /** `p`, printing the last log lines to stderr if it fails. */
  withLogs<T>(p: Promise<T>): Promise<T> {
    return p.catch((err) => {
      process.stderr.write(`--- last log lines ---\n${this.tail()}\n`);
      throw err;
    });
  }
}

/** Every write acknowledged with 200, by key (keys are unique per write). */
export class Ledger {
  readonly acked = new Map<string, string>();
  indeterminate = 0;

  /**
   * Puts key=value through node `via` (or any running node), retrying on 5xx and network
   * errors until acknowledged. Each key is written once, so a retry after an indeterminate
   * outcome is idempotent.
   */
  async put(tc: TestCluster, key: string, value: string, via?: number, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    let i = 0;
    while (true) {
      const running = tc.cluster.running();
      const node =
        via !== undefined && tc.cluster.node(via).running ? via : running[i++ % running.length]!.id;
      try {
        await tc.client(node).put(key, value, { timeoutMs: 5000 });
        this.acked.set(key, value);
        return;
      } catch (err) {
        if (err instanceof KvHttpError && err.status < 500) throw err;
        if (err instanceof KvHttpError && err.code === 'indeterminate') this.indeterminate++;
        if (Date.now() > deadline) throw err;
        via = undefined; // try another node next time
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /**
   * Writes keys `${prefix}${from}`..`${prefix}${to - 1}`, `parallel` at a time; each value is
   * `value-${i}`, or `${pad}-${i}` to make them large.
   */
  async putMany(
    tc: TestCluster,
    prefix: string,
    from: number,
    to: number,
    parallel = 8,
    pad = 'value',
  ) {
    let next = from;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < to) {
          const i = next++;
          await this.put(tc, `${prefix}${i}`, `${pad}-${i}`);
        }
      }),
    );
  }

  /** Checks every acknowledged write on node `id` (range reads, so few requests). */
  async verify(tc: TestCluster, id: number, consistency: 'linearizable' | 'serializable') {
    // One range read of every key (the tests write hundreds, not thousands).
    const r = await tc.client(id).range('', { limit: 10_000, consistency });
    const seen = new Map(r.kvs.map((kv) => [kv.key, kv.value]));
    const missing: string[] = [];
    for (const [k, v] of this.acked) if (seen.get(k) !== v) missing.push(k);
    return missing;
  }
}
