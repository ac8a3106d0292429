// A 3-node raft-core cluster, in one process, on three LevelStorage instances: it elects,
// replicates, snapshots and compacts; one node is stopped while the others compact past it;
// then every node is restarted from disk only (new RawNode, reopened storage, state machine
// restored from the stored snapshot) and the cluster must converge, the lagging node catching
// up through a snapshot sent by the leader.
import * as fs from 'node:fs/promises';
import {
  type ConfState,
  EntryType,
  type Message,
  MessageType,
  RawNode,
  type Ready,
  SnapshotStatus,
  StateType,
  decodeConfChange,
  newConfState,
} from '@tsraft/raft-core';
import { afterAll, describe, expect, it } from 'vitest';
import { LevelStorage, type LevelStorageOptions } from '../src/index.js';
import { rng } from './fixtures/crash-model.js';
import { tempDir } from './helpers.js';

const IDS = [1, 2, 3];
const SNAPSHOT_EVERY = 50;
const KEEP_AFTER_SNAPSHOT = 10;
const MAX_ROUNDS = 5000;
// Each node takes other paths: node 1 reads evicted entries back from disk and keeps its
// snapshots in files; node 3 keeps its snapshots in files.
const OPTIONS: Record<number, LevelStorageOptions> = {
  1: { entryCacheBytes: 0, snapshotFileThreshold: 256 },
  2: {},
  3: { snapshotFileThreshold: 256 },
};

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One member: its storage, its RawNode, and its state machine (the list of applied data). */
class Member {
  node: RawNode;
  applied: string[] = [];
  appliedIndex = 0;
  confState: ConfState = newConfState();
  snapshotsReceived = 0;

  constructor(
    readonly id: number,
    readonly storage: LevelStorage,
    random: () => number,
  ) {
    // Restore the state machine from the stored snapshot, as a restarting application does.
    const snap = storage.snapshot();
    if (snap.metadata.index > 0)
      this.restore(snap.data, snap.metadata.index, snap.metadata.confState);
    this.node = new RawNode({
      id,
      storage,
      electionTick: 10,
      heartbeatTick: 1,
      preVote: true,
      checkQuorum: true,
      maxSizePerMsg: 1 << 16,
      maxInflightMsgs: 64,
      applied: this.appliedIndex,
      random,
    });
  }

  restore(data: Uint8Array, index: number, cs: ConfState): void {
    this.applied = JSON.parse(dec.decode(data)) as string[];
    this.appliedIndex = index;
    this.confState = cs;
  }

  /** One Ready, handled the synchronous way: persist, send, apply, advance. */
  async handleReady(send: (ms: Message[]) => void): Promise<void> {
    const rd: Ready = this.node.ready();
    await this.storage.save(rd);
    if (rd.snapshot !== undefined) {
      this.snapshotsReceived++;
      const md = rd.snapshot.metadata;
      this.restore(rd.snapshot.data, md.index, md.confState);
    }
    send(rd.messages);
    for (const e of rd.committedEntries) {
      if (e.index <= this.appliedIndex) continue;
      if (e.type === EntryType.EntryConfChange) {
        this.confState = this.node.applyConfChange(decodeConfChange(e.data));
      } else if (e.data.length > 0) {
        this.applied.push(dec.decode(e.data));
      }
      this.appliedIndex = e.index;
    }
    this.node.advance();
    await this.maybeSnapshot();
  }

  private async maybeSnapshot(): Promise<void> {
    const snapIndex = this.storage.snapshot().metadata.index;
    if (this.appliedIndex - snapIndex < SNAPSHOT_EVERY) return;
    const data = enc.encode(JSON.stringify(this.applied));
    await this.storage.createSnapshot(this.appliedIndex, this.confState, data);
    const compactTo = this.appliedIndex - KEEP_AFTER_SNAPSHOT;
    if (compactTo >= this.storage.firstIndex()) await this.storage.compact(compactTo);
  }
}

describe('a 3-node cluster on LevelStorage', () => {
  const dirs = new Map<number, string>();
  afterAll(async () => {
    for (const d of dirs.values()) await fs.rm(d, { recursive: true, force: true });
  });

  it('restarts every node from disk and converges', async () => {
    const seed = Number(process.env.CLUSTER_SEED ?? 7);
    const random = rng(seed);
    for (const id of IDS) dirs.set(id, await tempDir(`tsraft-cluster-${id}-`));
    const members = new Map<number, Member>();
    const up = new Set<number>();
    let queue: Message[] = [];
    const send = (ms: Message[]) => {
      queue.push(...ms);
    };

    async function start(id: number, fresh: boolean): Promise<void> {
      const m = new Member(id, await LevelStorage.open(dirs.get(id)!, OPTIONS[id]), random);
      if (fresh) m.node.bootstrap(IDS.map((i) => ({ id: i })));
      members.set(id, m);
      up.add(id);
    }
    async function stop(id: number): Promise<void> {
      up.delete(id);
      await members.get(id)!.storage.close();
    }

    /** Ticks, handles Readys and delivers messages until `done` or the round limit. */
    async function runUntil(done: () => boolean, what: string): Promise<void> {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        if (done()) return;
        for (const id of up) members.get(id)!.node.tick();
        for (let settle = 0; settle < 50; settle++) {
          let busy = false;
          for (const id of up) {
            const m = members.get(id)!;
            while (m.node.hasReady()) {
              busy = true;
              await m.handleReady(send);
            }
          }
          const batch = queue;
          queue = [];
          for (const msg of batch) {
            if (!up.has(msg.to)) continue; // a stopped node loses its messages
            members.get(msg.to)!.node.step(msg);
            busy = true;
            if (msg.type === MessageType.MsgSnap) {
              members.get(msg.from)!.node.reportSnapshot(msg.to, SnapshotStatus.Finish);
            }
          }
          if (!busy) break;
        }
      }
      const status = [...up].map((id) => JSON.stringify(members.get(id)!.node.basicStatus()));
      throw new Error(`${what}: not reached in ${MAX_ROUNDS} rounds (seed ${seed}): ${status}`);
    }

    const leader = (): Member | undefined =>
      [...up]
        .map((id) => members.get(id)!)
        .find((m) => m.node.basicStatus().softState.raftState === StateType.Leader);

    let proposed = 0;
    async function proposeAndWait(n: number, on: number[]): Promise<void> {
      await runUntil(() => leader() !== undefined, 'a leader');
      for (let k = 0; k < n; k++) leader()!.node.propose(enc.encode(`v${++proposed}`));
      await runUntil(
        () => on.every((id) => members.get(id)!.applied.length === proposed),
        `${proposed} applied`,
      );
    }

    for (const id of IDS) await start(id, true);
    await proposeAndWait(100, IDS);

    // Node 3 stops; the others go on and compact past everything it has.
    await stop(3);
    await proposeAndWait(200, [1, 2]);
    for (const id of [1, 2]) expect(members.get(id)!.storage.firstIndex()).toBeGreaterThan(150);

    // Every node restarts from its disk alone.
    for (const id of [1, 2]) await stop(id);
    members.clear();
    for (const id of IDS) await start(id, false);
    expect(members.get(1)!.applied.length).toBeGreaterThan(0); // restored from its snapshot
    expect(members.get(3)!.applied.length).toBeLessThanOrEqual(100);

    await proposeAndWait(50, IDS);
    const want = Array.from({ length: proposed }, (_, k) => `v${k + 1}`);
    for (const id of IDS) expect(members.get(id)!.applied).toEqual(want);
    expect(members.get(3)!.snapshotsReceived).toBeGreaterThan(0);
    const n1 = members.get(1)!.storage.stats();
    expect(n1.cachedEntries).toBeLessThan(n1.entries);

    // And once more from disk: the hard states and logs agree with what was applied.
    const commits = IDS.map((id) => members.get(id)!.storage.initialState().hardState.commit);
    for (const id of IDS) await stop(id);
    for (const id of IDS) {
      const s = await LevelStorage.open(dirs.get(id)!);
      expect(s.initialState().hardState.commit).toBe(commits[id - 1]);
      expect(s.lastIndex()).toBeGreaterThanOrEqual(commits[id - 1]!);
      await s.close();
    }
  }, 60_000);
});
