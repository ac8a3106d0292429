// Runs raft-kv nodes as child processes on 127.0.0.1: the local cluster of `pnpm start`, the
// end-to-end tests and the benchmarks all use it. Each node is the real CLI, started through
// the package's bin (bin/raft-kv.mjs): in a checkout it runs a cached bundle of the current
// sources (rebuilt whenever one changes), installed it runs dist/cli.js; so what runs here is
// exactly what a user runs.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** bin/raft-kv.mjs, from src/ and from dist/ alike. */
export const RAFT_KV_BIN = join(HERE, '..', 'bin', 'raft-kv.mjs');

/** The command line that runs the raft-kv CLI of this package, as its installed bin runs it. */
export function cliCommand(): { cmd: string; args: string[]; cwd: string } {
  return { cmd: process.execPath, args: [...binNodeFlags(), RAFT_KV_BIN], cwd: process.cwd() };
}

/** The node flags on the bin's first line (`#!/usr/bin/env -S node <flags>`). */
export function binNodeFlags(): string[] {
  const first = readFileSync(RAFT_KV_BIN, 'utf8').split('\n', 1)[0]!;
  const flags = /^#!.*\bnode((?:\s+--\S+)*)\s*$/.exec(first)?.[1]?.trim();
  return flags ? flags.split(/\s+/) : [];
}

/**
 * The environment of a node: this process's, with glibc's malloc held to two arenas unless it
 * says otherwise. LevelDB writes and reads run on libuv's worker threads, and glibc gives each
 * thread that allocates an arena of its own, whose freed memory it rarely returns (kv-server
 * README, "Arenas"). Other allocators ignore the variable.
 */
export function nodeEnv(): NodeJS.ProcessEnv {
  return { MALLOC_ARENA_MAX: '2', ...process.env };
}

/** Free TCP ports on 127.0.0.1 (bound and released; another process could take them, rarely). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export interface NodeSpec {
  id: number;
  clientPort: number;
  peerPort: number;
  dataDir: string;
}

export interface ProcessClusterOptions {
  /** Where each node's data dir goes (baseDir/node-<id>). */
  baseDir: string;
  /** Extra CLI flags for every node (e.g. ['--snapshot-interval', '100']). */
  args?: string[];
  /** Extra node flags of the child processes (e.g. ['--max-old-space-size=512']). */
  nodeFlags?: string[];
  /** Receives each line a node prints (stdout and stderr); default: discarded. */
  onLine?: (id: number, line: string) => void;
  /** Default 'warn'. */
  logLevel?: string;
  /**
   * Each node in its own process group: a terminal's Ctrl+C (SIGINT to the foreground group)
   * then reaches only the parent, which stops each node once (`pnpm start`).
   */
  detached?: boolean;
}

export class ProcessNode {
  proc: ChildProcess | null = null;
  /** Resolves with the exit code (or signal) of the current process. */
  exited: Promise<number | string> = Promise.resolve(0);

  constructor(
    readonly spec: NodeSpec,
    private readonly cluster: ProcessCluster,
  ) {}

  get id(): number {
    return this.spec.id;
  }

  get clientUrl(): string {
    return `http://127.0.0.1:${this.spec.clientPort}`;
  }

  get peerAddr(): string {
    return `127.0.0.1:${this.spec.peerPort}`;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /**
   * Spawns the node with `args` on top of its own addresses and data dir; `cliArgs` replaces
   * the node arguments that run the CLI (default: the bin, cliCommand()).
   */
  spawn(args: string[], cliArgs?: string[]): void {
    if (this.running) throw new Error(`node ${this.id} is already running`);
    const { cmd, args: bin, cwd } = cliCommand();
    const base = cliArgs ?? bin;
    const o = this.cluster.options;
    const proc = spawn(
      cmd,
      [
        ...(o.nodeFlags ?? []),
        ...base,
        '--id',
        String(this.id),
        '--listen-client',
        `127.0.0.1:${this.spec.clientPort}`,
        '--listen-peer',
        this.peerAddr,
        '--data-dir',
        this.spec.dataDir,
        '--log-level',
        o.logLevel ?? 'warn',
        ...(o.args ?? []),
        ...args,
      ],
      { cwd, env: nodeEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: o.detached ?? false },
    );
    this.proc = proc;
    for (const stream of [proc.stdout, proc.stderr]) {
      const rl = createInterface({ input: stream });
      rl.on('line', (line) => o.onLine?.(this.id, line));
    }
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
    });
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`). */
  async kill(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<number | string> {
    const proc = this.proc;
    if (proc === null || !this.running) return this.exited;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

export class ProcessCluster {
  readonly nodes = new Map<number, ProcessNode>();

  constructor(readonly options: ProcessClusterOptions) {}

  /** Allocates ports and a data dir for node `id` (not started). */
  async define(id: number): Promise<ProcessNode> {
    const [clientPort, peerPort] = await freePorts(2);
    const node = new ProcessNode(
      {
        id,
        clientPort: clientPort!,
        peerPort: peerPort!,
        dataDir: join(this.options.baseDir, `node-${id}`),
      },
      this,
    );
    this.nodes.set(id, node);
    return node;
  }

  /** Uses fixed ports for node `id` (e.g. the well-known ports of `pnpm start`). */
  defineAt(id: number, clientPort: number, peerPort: number): ProcessNode {
    const node = new ProcessNode(
      { id, clientPort, peerPort, dataDir: join(this.options.baseDir, `node-${id}`) },
      this,
    );
    this.nodes.set(id, node);
    return node;
  }

  node(id: number): ProcessNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** The --initial-cluster flag for the given members. */
  initialCluster(ids: readonly number[]): string {
    return ids.map((id) => `${id}=${this.node(id).peerAddr}`).join(',');
  }

  /** Defines (when needed) and starts nodes 1..n as a new cluster. */
  async start(n: number): Promise<void> {
    const ids = Array.from({ length: n }, (_, i) => i + 1);
    for (const id of ids) if (!this.nodes.has(id)) await this.define(id);
    const spec = this.initialCluster(ids);
    for (const id of ids) this.node(id).spawn(['--initial-cluster', spec]);
  }

  /** Restarts a stopped member from its data dir. */
  restart(id: number): void {
    this.node(id).spawn([]);
  }

  /** Starts a new node that joins through `via`'s client URL. */
  async join(id: number, via: number, extra: string[] = []): Promise<ProcessNode> {
    const node = this.nodes.get(id) ?? (await this.define(id));
    node.spawn(['--join', this.node(via).clientUrl, ...extra]);
    return node;
  }

  running(): ProcessNode[] {
    return [...this.nodes.values()].filter((n) => n.running);
  }

  /** SIGTERM to every running node, then wait (SIGKILL after the timeout). */
  async stop(timeoutMs = 10_000): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.kill('SIGTERM', timeoutMs)));
  }
}
