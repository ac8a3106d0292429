// The two kinds of state machine in running clusters: an in-memory one keeps applying while its
// snapshot streams to disk; an on-disk one is compacted without a snapshot file, catches a
// follower up by a streamed view, and is replayed only after its own index. On the in-memory
// transport (MemoryNetwork), and with a storage of the embedder's.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { LevelStorage } from '@tsraft/raft-storage-level';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AppliedEntry,
  ErrNodeFailed,
  MemoryNetwork,
  RaftNode,
  type RaftNodeOptions,
  type SnapshotSource,
  type StateMachine,
  readAll,
} from '../src/index.js';
import { DiskRecorder, PreparingDiskRecorder } from './disk-sm.js';
import { Cluster, FAST, type TestNode, op, tempDir, until } from './helpers.js';

const dec = new TextDecoder();
const enc = new TextEncoder();

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  const cs = cleanup.reverse();
  cleanup = [];
  for (const c of cs) await c();
});

/** Records values; its snapshot stream waits at a gate the test opens. */
class GatedRecorder implements StateMachine<number> {
  values: number[] = [];
  snapshotsStarted = 0;
  appliedWhileStreaming = 0;
  streaming = false;
  private openGate: () => void = () => {};
  private gate = new Promise<void>((r) => {
    this.openGate = r;
  });

  release(): void {
    this.openGate();
  }

  apply(entries: readonly AppliedEntry[]): number[] {
    if (this.streaming) this.appliedWhileStreaming += entries.length;
    for (const e of entries) this.values.push(Number(dec.decode(e.data)));
    return entries.map(() => this.values.length);
  }

  snapshot(): SnapshotSource {
    const view = [...this.values]; // the point-in-time view, taken synchronously
    this.snapshotsStarted++;
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        self.streaming = true;
        yield enc.encode('[');
        await self.gate;
        yield enc.encode(view.join(','));
        yield enc.encode(']');
        self.streaming = false;
      },
    };
  }

  async restore(from: AsyncIterable<Uint8Array>): Promise<void> {
    this.values = JSON.parse(dec.decode(await readAll(from))) as number[];
  }
}

function single(
  dir: string,
  stateMachine: RaftNodeOptions<number>['stateMachine'],
  extra: Partial<RaftNodeOptions<number>> = {},
): RaftNode<number> {
  return new RaftNode<number>({
    id: 1,
    peers: { 1: '127.0.0.1:0' },
    listen: '127.0.0.1:0',
    dataDir: dir,
    stateMachine,
    logger: pino({ level: 'silent' }),
    ...FAST,
    ...extra,
  });
}

describe('in-memory state machine', () => {
  it('keeps applying while its snapshot streams, and restarts from the streamed file', async () => {
    const dir = await tempDir();
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const net = new MemoryNetwork();
    const sm = new GatedRecorder();
    let node = single(dir, sm, { snapshotInterval: 10, transport: net.transport });
    cleanup.push(() => node.stop());
    cleanup.push(async () => sm.release());
    await node.start();
    await node.waitForLeader();
    for (let i = 1; i <= 12; i++) await node.propose(op(i));
    await until(() => sm.streaming, 5000, 'the snapshot to start streaming');
    // The snapshot is still being written: applies go on.
    for (let i = 13; i <= 40; i++) await node.propose(op(i));
    expect(sm.appliedWhileStreaming).toBeGreaterThanOrEqual(28);
    expect(node.status().snapshotIndex).toBe(0); // not recorded before its file is durable
    sm.release();
    await until(() => node.status().snapshotIndex > 0, 5000, 'the snapshot to be recorded');
    await node.stop();
    // The recorded snapshot's file is there (another, taken right after, may be beside it).
    const files = await readdir(path.join(dir, 'sm-snap'));
    const recorded = `${String(node.status().snapshotIndex).padStart(16, '0')}.snap`;
    expect(files).toContain(recorded);

    const again = new GatedRecorder();
    again.release();
    node = single(dir, again, { snapshotInterval: 1000, transport: net.transport });
    await node.start();
    await node.read();
    expect(again.values).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });
});

/**
 * A 3-node cluster of on-disk state machines (from `make`, in each node's `sm` dir) whose
 * leader took 100 proposals and compacted past index 50 while one follower was stopped.
 */
async function compactedPastAFollower<S extends DiskRecorder>(make: (dir: string) => S) {
  const sms = new Map<number, S>();
  /** A stateMachineFor that records each node's state machine in `sms`. */
  const recording = (mk: (dir: string) => S) => (dir: string, id: number) => {
    const sm = mk(path.join(dir, 'sm'));
    sms.set(id, sm);
    return sm;
  };
  const smFor = recording(make);
  const net = new MemoryNetwork();
  const c = await Cluster.start(3, {
    snapshotInterval: 20,
    snapshotCatchUpEntries: 5,
    transport: net.transport,
    stateMachineFor: smFor,
  });
  cleanup.push(() => c.stopAll());
  const leader = await c.leader();
  const lagging = c.followers(leader.id)[0]!;
  await lagging.stop();
  for (let i = 1; i <= 100; i++) await leader.propose(op(i));
  await until(() => leader.status().firstIndex > 50, 5000, 'the leader to compact');
  return { sms, smFor, recording, net, c, leader, lagging };
}

describe('on-disk state machine', () => {
  it('compacts without a snapshot file and catches a follower up by a streamed view', async () => {
    const { sms, smFor, net, c, leader, lagging } = await compactedPastAFollower(
      (dir) => new DiskRecorder(dir),
    );
    // Compaction recorded raft's metadata only: the data is the state machine's own.
    expect(await readdir(path.join(leader.dir, 'sm-snap'))).toEqual([]);

    const back = await c.restart(lagging.id, { transport: net.transport, stateMachineFor: smFor });
    await until(
      () => back.metrics().snapshotsRestored === 1 && back.appliedIndex() >= leader.appliedIndex(),
      10_000,
      'the follower to catch up',
    );
    const sm = sms.get(back.id)!;
    expect(sm.restores).toBe(1);
    expect(sm.values).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    // The received file is gone once the state machine holds it.
    expect(await readdir(path.join(back.dir, 'sm-snap'))).toEqual([]);
    for (let i = 101; i <= 110; i++) await leader.propose(op(i));
    await until(() => sm.values.length === 110, 5000, 'new entries on the follower');
    expect(new Set(sm.values).size).toBe(110);
  });
});

/**
 * A follower is stopped while 100 entries commit, restarted with `backSm` (so it needs a
 * snapshot), and 200 more commit while it takes it (catch-up keeps 5): it must catch up with
 * one restore. `leaderSm` makes the state machines of the first start.
 */
async function catchUpWithOneSnapshot(
  leaderSm: (dir: string) => DiskRecorder,
  backSm: (dir: string) => DiskRecorder,
): Promise<void> {
  const sms = new Map<number, DiskRecorder>();
  const net = new MemoryNetwork();
  const recording = (make: (dir: string) => DiskRecorder) => (dir: string, id: number) => {
    const sm = make(path.join(dir, 'sm'));
    sms.set(id, sm);
    return sm;
  };
  const c = await Cluster.start(3, {
    snapshotInterval: 20,
    snapshotCatchUpEntries: 5,
    transport: net.transport,
    stateMachineFor: recording(leaderSm),
  });
  cleanup.push(() => c.stopAll());
  const leader = await c.leader();
  const lagging = c.followers(leader.id)[0]!;
  await lagging.stop();
  for (let i = 1; i <= 100; i++) await leader.propose(op(i));
  const back = await c.restart(lagging.id, {
    transport: net.transport,
    stateMachineFor: recording(backSm),
  });
  for (let i = 101; i <= 300; i++) await leader.propose(op(i));
  await until(() => sms.get(back.id)!.values.length === 300, 20_000, 'the follower to catch up');
  expect(sms.get(back.id)!.restores).toBe(1);
  expect(sms.get(back.id)!.values).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
}

describe('on-disk state machine, a long transfer', () => {
  it('the leader does not compact while it streams a snapshot: one snapshot is enough', async () => {
    await catchUpWithOneSnapshot(
      (dir) => new DiskRecorder(dir, 40), // ~0.8 s per snapshot stream
      (dir) => new DiskRecorder(dir),
    );
  });
});

describe('on-disk state machine, a long install', () => {
  it('the leader keeps the entries after a sent snapshot until the follower installed it', async () => {
    // The transfer is quick, the restore takes 1 s: the leader snapshots meanwhile, but does
    // not compact past the one the follower installs.
    await catchUpWithOneSnapshot(
      (dir) => new DiskRecorder(dir),
      (dir) => new DiskRecorder(dir, 0, 1000),
    );
  });
});

describe('on-disk state machine restoring while it receives (prepareRestore)', () => {
  it('catches a follower up without a snapshot file; each entry applied once', async () => {
    const { sms, smFor, net, c, leader, lagging } = await compactedPastAFollower(
      (dir) => new PreparingDiskRecorder(dir),
    );
    const back = await c.restart(lagging.id, { transport: net.transport, stateMachineFor: smFor });
    const sm = sms.get(back.id)!;
    // Proposals go on while it receives: the view may be ahead of raft's snapshot index.
    const more = (async () => {
      for (let i = 101; i <= 150; i++) await leader.propose(op(i));
    })();
    await until(() => sm.installs === 1, 10_000, 'the received snapshot to be swapped in');
    await more;
    await until(() => sm.values.length === 150, 10_000, 'the follower to catch up');
    expect(sm.values).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    expect(sm.restores).toBe(1);
    expect(back.metrics().snapshotsRestored).toBe(1);
    // Never received into a file.
    expect(await readdir(path.join(back.dir, 'sm-snap'))).toEqual([]);
    expect(await readdir(sm.dir)).toEqual(['state.json']);
  });

  it('a view taken past the raft snapshot index: the entries it holds are not applied twice', async () => {
    // The leader's view streams in 20 pieces 40 ms apart and the follower reads them slowly,
    // while entries keep committing: the view is taken after the snapshot's index.
    const { sms, recording, net, c, leader, lagging } = await compactedPastAFollower(
      (dir): DiskRecorder => new DiskRecorder(dir, 40),
    );
    const back = await c.restart(lagging.id, {
      transport: net.transport,
      stateMachineFor: recording((dir) => new PreparingDiskRecorder(dir, 10)),
    });
    for (let i = 101; i <= 300; i++) await leader.propose(op(i));
    const sm = sms.get(back.id) as PreparingDiskRecorder;
    await until(() => sm.values.length === 300, 20_000, 'the follower to catch up');
    expect(sm.values).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(sm.installs + sm.discards).toBe(sm.prepared);
    expect(sm.installs).toBeGreaterThanOrEqual(1);
  });
});

describe('on-disk state machine, restarts', () => {
  it('restarts from a snapshot whose last entries were not its own (a no-op, a conf change)', async () => {
    const dir = await tempDir();
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const sm = () => new DiskRecorder(path.join(dir, 'sm'));
    let node = single(dir, sm(), { snapshotInterval: 1, snapshotCatchUpEntries: 0 });
    cleanup.push(() => node.stop());
    await node.start();
    await node.waitForLeader();
    await node.propose(op(1));
    // A conf change after the last command: raft's snapshot index passes the state machine's
    // own applied index.
    await node.addLearner(2, '127.0.0.1:1');
    await until(() => node.status().snapshotIndex === 4, 5000, 'a snapshot past the last command');
    await node.stop();
    const again = sm();
    node = single(dir, again, { snapshotInterval: 1 });
    await node.start();
    expect(again.restores).toBe(0);
    await node.waitForLeader();
    expect(await node.propose(op(2))).toBe(2);
    expect(again.values).toEqual([1, 2]);
  });
});

describe('seams', () => {
  it('runs on a storage of the embedder’s', async () => {
    const dir = await tempDir();
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    let saves = 0;
    const node = single(dir, new DiskRecorder(path.join(dir, 'sm')), {
      storage: async (d) => {
        const s = await LevelStorage.open(path.join(d, 'mine'));
        const save = s.save.bind(s);
        s.save = (input) => {
          saves++;
          return save(input);
        };
        return s;
      },
    });
    cleanup.push(() => node.stop());
    await node.start();
    await node.waitForLeader();
    await node.propose(op(1));
    expect(saves).toBeGreaterThan(0);
    expect(await readdir(path.join(dir, 'mine'))).toContain('db');
  });

  it('a MemoryNetwork partition cuts a leader off; the rest elect and the log converges', async () => {
    const net = new MemoryNetwork();
    const c = await Cluster.start(3, { transport: net.transport });
    cleanup.push(() => c.stopAll());
    const l1 = await c.leader();
    const [a, b] = c.followers(l1.id) as [TestNode, TestNode];
    net.cut(l1.id, a.id);
    net.cut(l1.id, b.id);
    await until(() => a.isLeader() || b.isLeader(), 10_000, 'a new leader');
    const l2 = a.isLeader() ? a : b;
    expect(await l2.propose(op(7))).toBeGreaterThan(0);
    net.heal(l1.id, a.id);
    net.heal(l1.id, b.id);
    await until(() => l1.leader() === l2.id, 10_000, 'the old leader to follow');
    await l1.read();
    expect(c.node(l1.id).counter.total).toBe(7);
  });
});

describe('a failing snapshot', () => {
  it('a snapshot() that throws fails the node (error event, ErrNodeFailed), no unhandled rejection', async () => {
    const dir = await tempDir();
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const sm: StateMachine<number> = {
      apply: (es) => es.map(() => 0),
      snapshot: () => {
        throw new Error('view unavailable');
      },
      restore: async () => {},
    };
    const node = single(dir, sm, { snapshotInterval: 3 });
    cleanup.push(() => node.stop());
    const errors: Error[] = [];
    node.on('error', (e) => errors.push(e));
    await node.start();
    await node.waitForLeader();
    await Promise.allSettled([1, 2, 3, 4, 5].map((i) => node.propose(op(i))));
    await until(() => node.state === 'stopped', 5000, 'the node to stop');
    expect(errors.map((e) => e.message)).toEqual(['view unavailable']);
    await expect(node.propose(op(9))).rejects.toBeInstanceOf(ErrNodeFailed);
  });
});
