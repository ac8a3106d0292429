// One RaftHost process of the multiraft suite (suites/multiraft.ts), driven over IPC: the
// parent sends {id, cmd, ...} and gets {id, ok, value} back. Commands: start, open (groups
// 1..n, members 1,2,3, a counter state machine each), wait (until every open group knows a
// leader, optionally not `notLeader`, and optionally every group is quiesced), load (in-process
// clients proposing 16-byte values to random groups for `seconds`: committed writes and
// latencies), stats (CPU, RSS, host metrics), heap (a heap snapshot into `dir`, to profile
// memory per group), stop. With `allocProf` (a directory) at start, allocations are sampled
// until stop, garbage included, into a .heapprofile there.
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import {
  type AppliedEntry,
  ErrProposalDropped,
  type RaftGroup,
  RaftHost,
  type SnapshotSource,
  type StateMachine,
  readAll,
  sharedDeadline,
  snapshotOf,
} from '../../packages/raft-node/src/index.js';

interface Request {
  id: number;
  cmd: 'start' | 'open' | 'wait' | 'load' | 'touch' | 'stats' | 'heap' | 'stop';
  [k: string]: unknown;
}

/**
 * Why requests failed, counted by kind (the first few kinds): the error, and what the replica
 * knows now (a timeout without a leader, or a leader change: an indeterminate outcome).
 */
class Reasons {
  private readonly counts = new Map<string, number>();

  add(g: RaftGroup<number>, err: unknown): void {
    const ls = g.leaderState();
    const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    const k = `${what} (now ${ls.role}, leader ${ls.leader ?? 0})`;
    if (this.counts.size < 5 || this.counts.has(k))
      this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  toString(): string {
    return [...this.counts].map(([k, n]) => `${n}x ${k}`).join('; ');
  }
}

/** Counts applied entries; the smallest state machine that still applies every entry. */
class Count implements StateMachine<number> {
  n = 0;
  apply(entries: readonly AppliedEntry[]): number[] {
    return entries.map(() => ++this.n);
  }
  snapshot(): SnapshotSource {
    return snapshotOf(new TextEncoder().encode(String(this.n)));
  }
  async restore(from: AsyncIterable<Uint8Array>): Promise<void> {
    this.n = Number(new TextDecoder().decode(await readAll(from)));
  }
}

let host: RaftHost | null = null;

/** Sampling every allocation's stack, garbage included (--alloc-prof), while the host runs. */
let allocs: { session: Session; dir: string } | null = null;

function post(s: Session, method: string, params: object = {}): Promise<unknown> {
  return new Promise((resolve, reject) =>
    s.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

async function startAllocProfile(dir: string): Promise<void> {
  const session = new Session();
  session.connect();
  await post(session, 'HeapProfiler.startSampling', {
    samplingInterval: 32 * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  allocs = { session, dir };
}

async function writeAllocProfile(): Promise<void> {
  if (allocs === null) return;
  const { session, dir } = allocs;
  allocs = null;
  const res = (await post(session, 'HeapProfiler.stopSampling')) as { profile: unknown };
  writeFileSync(`${dir}/host-${host!.id}-${process.pid}.heapprofile`, JSON.stringify(res.profile));
  session.disconnect();
}

/** Read and write system calls so far (Linux; sockets, files, pipes alike), else none. */
function syscalls(): Record<string, number> {
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    const n = (k: string): number => Number(new RegExp(`^${k}: (\\d+)`, 'm').exec(io)?.[1] ?? 0);
    return { readCalls: n('syscr'), writeCalls: n('syscw') };
  } catch {
    return {};
  }
}

/** Host counters whose growth over a load tells where its work goes. */
function counters(): Record<string, number> {
  const m = host!.metrics();
  let messages = 0;
  let bytes = 0;
  for (const p of m.transport?.peers ?? []) {
    messages += p.messagesSent;
    bytes += p.bytesSent;
  }
  const cpu = process.cpuUsage();
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    ...syscalls(),
    passes: m.readyPasses.passes,
    passGroups: m.readyPasses.groups,
    groupTicks: m.groupTicks,
    syncedBatches: m.storage?.batches ?? 0,
    storageWrites: m.storage?.writes ?? 0,
    messagesSent: messages,
    bytesSent: bytes,
  };
}
const groups: RaftGroup<number>[] = [];

async function handle(req: Request): Promise<unknown> {
  switch (req.cmd) {
    case 'start': {
      host = new RaftHost({
        id: req.hostId as number,
        listen: req.listen as string,
        dataDir: req.dataDir as string,
        peers: req.peers as Record<number, string>,
        tickMs: 100,
        ...(typeof req.heartbeatTick === 'number' ? { heartbeatTick: req.heartbeatTick } : {}),
      });
      await host.start();
      if (typeof req.allocProf === 'string') await startAllocProfile(req.allocProf);
      return { groups: host.groupIds().length };
    }
    case 'open': {
      // 256 at a time: groups opened together share the synced batches of their registration.
      const n = req.groups as number;
      const t0 = performance.now();
      while (groups.length < n) {
        const from = groups.length + 1;
        const to = Math.min(n, from + 255);
        const ids = Array.from({ length: to - from + 1 }, (_, k) => from + k);
        groups.push(
          ...(await Promise.all(
            ids.map((g) =>
              host!.group<number>(g, { members: [1, 2, 3], stateMachine: new Count() }),
            ),
          )),
        );
      }
      return { ms: performance.now() - t0 };
    }
    case 'wait': {
      const not = (req.notLeader as number | undefined) ?? 0;
      const quiesced = req.quiesced === true;
      const t0 = performance.now();
      const deadline = Date.now() + ((req.timeoutMs as number | undefined) ?? 120_000);
      for (;;) {
        const led = groups.every((g) => {
          const l = g.leader();
          return l !== 0 && l !== not;
        });
        const q = !quiesced || host!.metrics().quiesced === groups.length;
        if (led && q) return { ms: performance.now() - t0 };
        if (Date.now() > deadline) {
          const without = groups.filter((g) => g.leader() === 0 || g.leader() === not).length;
          throw new Error(`timed out: ${without} groups without a leader`);
        }
        // Every 25 ms: a poll walks every group, and must not slow the host it measures.
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    case 'load': {
      const n = req.groups as number;
      const clients = req.clients as number;
      const until = performance.now() + (req.seconds as number) * 1000;
      const lat: number[] = [];
      let failed = 0;
      const why = new Reasons();
      const data = new Uint8Array(16);
      const before = counters();
      const client = async (): Promise<void> => {
        while (performance.now() < until) {
          const g = groups[Math.floor(Math.random() * n)]!;
          const t = performance.now();
          try {
            await g.propose(data, { signal: sharedDeadline(5000) });
            lat.push(performance.now() - t);
          } catch (err) {
            failed++;
            why.add(g, err);
          }
        }
      };
      await Promise.all(Array.from({ length: clients }, client));
      const after = counters();
      const grew: Record<string, number> = {};
      for (const k of Object.keys(after)) grew[k] = after[k]! - before[k]!;
      return { latencies: lat, failed, why: String(why), counters: grew };
    }
    case 'touch': {
      // One write to every group, 256 at a time: each must commit (none lost after a failover).
      // A proposal dropped (a leadership transfer of leader balancing in progress, say) was
      // never accepted: it is retried, as a client would, within the same 10 s.
      let failed = 0;
      const data = new Uint8Array(16);
      const why = new Reasons();
      const write = async (g: RaftGroup<number>, signal: AbortSignal): Promise<void> => {
        for (;;) {
          try {
            await g.propose(data, { signal });
            return;
          } catch (err) {
            if (!(err instanceof ErrProposalDropped) || signal.aborted) throw err;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      };
      for (let i = 0; i < groups.length; i += 256) {
        await Promise.all(
          groups.slice(i, i + 256).map((g) =>
            write(g, AbortSignal.timeout(10_000)).catch((err: unknown) => {
              failed++;
              why.add(g, err);
            }),
          ),
        );
      }
      if (failed > 0) {
        throw new Error(`${failed} of ${groups.length} groups did not commit (${why})`);
      }
      return { groups: groups.length };
    }
    case 'stats': {
      const m = host!.metrics();
      const cpu = process.cpuUsage();
      return {
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        rssBytes: process.memoryUsage().rss,
        heapUsedBytes: process.memoryUsage().heapUsed,
        groups: m.groups,
        quiesced: m.quiesced,
        leaders: m.leaders,
        batches: m.storage?.batches ?? 0,
        writes: m.storage?.writes ?? 0,
        leaderTransfers: m.leaderTransfers,
        groupTicks: m.groupTicks,
        readyGroups: m.readyPasses.groups,
      };
    }
    case 'heap':
      return { file: writeHeapSnapshot(`${req.dir as string}/host-${host!.id}.heapsnapshot`) };
    case 'stop':
      await writeAllocProfile();
      await host?.stop();
      return null;
  }
}

process.on('message', (msg) => {
  const req = msg as Request;
  handle(req).then(
    (value) => process.send!({ id: req.id, ok: true, value }),
    (err: unknown) =>
      process.send!({
        id: req.id,
        ok: false,
        error: err instanceof Error ? err.message : String(err),
      }),
  );
});
process.on('disconnect', () => process.exit(1));
// The suite stops a host with SIGTERM after its stop command: exit normally, so that a
// --cpu-prof profile is written.
process.on('SIGTERM', () => process.exit(0));
