// Workloads W1-W3 of shared/BENCHMARKS.md on raft-core's RawNode, driven exactly as the peers'
// harnesses drive theirs (../shared/peers/etcd-raft-go/main.go, coaty/bench.js), so that the
// ratios ours/peer compare like with like:
// - each node starts from a snapshot at index 1, term 1 holding the voters, in MemoryStorage;
// - a Ready is handled by applying its snapshot (if any), appending its entries, setting its
//   hard state, queueing its messages, counting its committed normal 128-byte entries, and
//   advancing;
// - messages are delivered FIFO by stepping them into their target (W3: through
//   encodeMessage/decodeMessage first); stepping never sends directly (messages leave through
//   the next Ready), so the queue can be delivered as a whole;
// - no ticks: nothing times out, so every run does the same work.
import {
  EMPTY_BYTES,
  EntryType,
  type Message,
  MemoryStorage,
  RawNode,
  StateType,
  decodeMessage,
  encodeMessage,
  isEmptyHardState,
  isEmptySnap,
  newConfState,
} from '@tsraft/raft-core';
import { measureAlloc } from './alloc.js';

/** Every proposal carries this one buffer; only entries of this size are counted. */
const PAYLOAD = new Uint8Array(128).fill(0x61);
const PAYLOAD_SIZE = PAYLOAD.length;

interface BenchNode {
  id: number;
  rn: RawNode;
  storage: MemoryStorage;
  /** Committed normal entries carrying the benchmark payload. */
  applied: number;
}

function newNode(id: number, voters: number[]): BenchNode {
  const storage = new MemoryStorage();
  storage.applySnapshot({
    data: EMPTY_BYTES,
    metadata: { index: 1, term: 1, confState: newConfState({ voters }) },
  });
  const rn = new RawNode({
    id,
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    maxSizePerMsg: 1 << 20,
    maxInflightMsgs: 256,
    checkQuorum: true,
    preVote: true,
  });
  return { id, rn, storage, applied: 0 };
}

/** Handles one Ready; its messages go to `out` (a single voter must send none). */
function handleReady(n: BenchNode, out: Message[] | null): void {
  const rd = n.rn.ready();
  if (rd.snapshot !== undefined && !isEmptySnap(rd.snapshot)) n.storage.applySnapshot(rd.snapshot);
  if (rd.entries.length > 0) n.storage.append(rd.entries);
  if (rd.hardState !== undefined && !isEmptyHardState(rd.hardState)) {
    n.storage.setHardState(rd.hardState);
  }
  const msgs = rd.messages;
  if (out !== null) {
    for (let i = 0; i < msgs.length; i++) out.push(msgs[i]!);
  } else if (msgs.length !== 0) {
    throw new Error('a single voter produced messages');
  }
  const ce = rd.committedEntries;
  let c = 0;
  for (let i = 0; i < ce.length; i++) {
    const e = ce[i]!;
    if (e.type === EntryType.EntryNormal && e.data.length === PAYLOAD_SIZE) c++;
  }
  n.applied += c;
  n.rn.advance();
}

const isLeader = (n: BenchNode): boolean =>
  n.rn.basicStatus().softState.raftState === StateType.Leader;

export interface Cluster {
  nodes: BenchNode[];
  /** One round: every node with a Ready handles it, then every queued message is delivered.
   * Returns false when there was nothing to do. */
  pump(): boolean;
  /** Messages delivered so far. */
  delivered: number;
  /** Bytes encoded so far (W3). */
  wireBytes: number;
}

function makeCluster(voters: number, encode: boolean): Cluster {
  const ids = Array.from({ length: voters }, (_, i) => i + 1);
  const nodes = ids.map((id) => newNode(id, ids));
  const byId: BenchNode[] = [];
  for (const n of nodes) byId[n.id] = n;
  const queue: Message[] = [];
  const c: Cluster = {
    nodes,
    delivered: 0,
    wireBytes: 0,
    pump() {
      let any = false;
      for (let i = 0; i < nodes.length; i++) {
        const n = nodes[i]!;
        if (n.rn.hasReady()) {
          handleReady(n, queue);
          any = true;
        }
      }
      if (queue.length === 0) return any;
      for (let i = 0; i < queue.length; i++) {
        let m = queue[i]!;
        if (encode) {
          const bytes = encodeMessage(m);
          c.wireBytes += bytes.length;
          m = decodeMessage(bytes);
        }
        byId[m.to]!.rn.step(m);
      }
      c.delivered += queue.length;
      // Emptied keeping its backing store (as the Go harness reuses its slice): in V8
      // `queue.length = 0` frees it, and the next round's first push allocates another.
      queue.length = 1;
      queue.pop();
      return true;
    },
  };
  return c;
}

/** A cluster whose node 1 leads, quiescent, with every counter at zero. */
function setup(voters: number, encode: boolean): Cluster {
  const c = makeCluster(voters, encode);
  const n1 = c.nodes[0]!;
  for (let tries = 0; !isLeader(n1); tries++) {
    if (tries >= 10) throw new Error('node 1 did not become leader');
    n1.rn.campaign();
    while (c.pump()) {
      // Run to quiescence: the leader's empty entry is then committed and applied everywhere.
    }
  }
  for (const n of c.nodes) {
    if (n.rn.basicStatus().softState.lead !== 1) throw new Error(`node ${n.id} does not follow 1`);
    n.applied = 0;
  }
  c.delivered = 0;
  c.wireBytes = 0;
  return c;
}

/** W1: one voter; propose in batches of `batch`, draining Ready after each batch. */
function proposeW1(c: Cluster, n: number, batch: number): void {
  const node = c.nodes[0]!;
  const rn = node.rn;
  for (let p = 0; p < n; ) {
    const end = Math.min(n, p + batch);
    for (; p < end; p++) rn.propose(PAYLOAD);
    while (rn.hasReady()) handleReady(node, null);
  }
}

/** W2/W3: propose a batch on the leader, then pump until it is applied on every node. */
function proposeCluster(c: Cluster, n: number, batch: number): void {
  const nodes = c.nodes;
  const leader = nodes[0]!.rn;
  for (let p = 0; p < n; ) {
    const end = Math.min(n, p + batch);
    for (; p < end; p++) leader.propose(PAYLOAD);
    for (;;) {
      let behind = false;
      for (let i = 0; i < nodes.length; i++) if (nodes[i]!.applied < end) behind = true;
      if (!behind) break;
      if (!c.pump()) {
        const at = nodes.map((x) => x.applied).join('/');
        throw new Error(`stalled at ${at} of ${end}`);
      }
    }
  }
}

function check(c: Cluster, n: number): void {
  for (const node of c.nodes) {
    if (node.applied !== n) throw new Error(`node ${node.id} applied ${node.applied} of ${n}`);
  }
  if (!isLeader(c.nodes[0]!)) throw new Error('leadership changed during the run');
}

export interface WorkloadConfig {
  workload: 'W1' | 'W2' | 'W3';
  /** Entries proposed per measured run. */
  n: number;
  batch: number;
  runs: number;
  /** Warm-up runs, each of n/10 entries (as etcd-raft-go's harness does). */
  warmup: number;
}

export interface WorkloadRun {
  ns: number;
  /** V8 heap bytes allocated during the timed part. */
  allocBytes: number;
  delivered: number;
  wireBytes: number;
}

/** One timed run: setup (untimed), a full GC (in measureAlloc), then the proposals. */
export function runOnce(cfg: WorkloadConfig, n: number): WorkloadRun {
  const voters = cfg.workload === 'W1' ? 1 : 3;
  const c = setup(voters, cfg.workload === 'W3');
  const go = voters === 1 ? proposeW1 : proposeCluster;
  let ns = 0;
  // The GC profiler only reads heap statistics at each GC, so the timing stays clean.
  const alloc = measureAlloc(() => {
    const t0 = process.hrtime.bigint();
    go(c, n, cfg.batch);
    ns = Number(process.hrtime.bigint() - t0);
  });
  check(c, n);
  return { ns, allocBytes: alloc.bytes, delivered: c.delivered, wireBytes: c.wireBytes };
}

export interface WorkloadResult {
  config: WorkloadConfig;
  runs: WorkloadRun[];
}

/** A whole configuration: warm-up, then the measured runs. Meant for a child process. */
export function measureWorkload(cfg: WorkloadConfig): WorkloadResult {
  const warmN = Math.max(cfg.batch, Math.floor(cfg.n / 10));
  for (let i = 0; i < cfg.warmup; i++) runOnce(cfg, warmN);
  const runs: WorkloadRun[] = [];
  for (let i = 0; i < cfg.runs; i++) {
    const r = runOnce(cfg, cfg.n);
    runs.push(r);
    const rate = Math.round(cfg.n / (r.ns / 1e9)).toLocaleString('en-US');
    process.stderr.write(
      `[core]   ${cfg.workload} B=${cfg.batch} run ${i + 1}/${cfg.runs}: ` +
        `${(r.ns / 1e9).toFixed(3)} s, ${rate} entries/s\n`,
    );
  }
  return { config: cfg, runs };
}
