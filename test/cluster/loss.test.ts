// Issue 2: a 3-node cluster under 20% message loss elects one leader per term and commits
// 10,000 proposals, applied identically, in the same order, on every node.
import { describe, expect, it } from 'vitest';
import { Cluster, type ClusterOptions, seedFromEnv, withSeedReport } from '../harness/index.js';

const FILE = 'test/cluster/loss.test.ts';

function payload(id: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, id);
  return b;
}

function payloadId(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
}

const modes: {
  name: string;
  opts: Partial<ClusterOptions>;
  async?: boolean;
  /** Hand leadership to another node every this many ticks. */
  churn?: number;
}[] = [
  { name: 'synchronous Ready handling', opts: {} },
  { name: 'leadership moving every 40 ticks', opts: {}, churn: 40 },
  { name: 'pipelined Ready handling', opts: { pipelineDelay: { min: 0, max: 1 } } },
  { name: 'async storage writes', opts: { storageDelay: { min: 0, max: 1 } }, async: true },
];

describe.each(modes)('3-node cluster under 20% message loss ($name)', ({ opts, async, churn }) => {
  it('elects one leader per term and commits 10,000 proposals identically everywhere', () => {
    const seed = seedFromEnv() ?? 2;
    withSeedReport(FILE, seed, (h) => {
      const c = new Cluster({
        seed,
        network: { dropRate: 0.2 },
        // Small messages and a small window, so replication takes many round trips under loss.
        raft: {
          preVote: true,
          checkQuorum: true,
          maxInflightMsgs: 16,
          maxSizePerMsg: 512,
          asyncStorageWrites: async === true,
        },
        trace: process.env.TRACE !== undefined,
        ...opts,
      });
      h.cluster = c;
      const total = 10_000;
      const perTick = 20;
      const maxOutstanding = 400;
      // A proposal is tracked by where the leader put it; it is lost (and proposed again) only
      // once a different entry is known committed at that index, so nothing is applied twice.
      const pending = new Map<number, { index: number; term: number }>();
      const retry: number[] = [];
      let nextId = 0;
      let committed = 0;
      const done = () => committed === total && pending.size === 0;
      c.runUntil(
        () => {
          for (const [id, p] of pending) {
            const t = c.checker.committedTermAt(p.index);
            if (t === undefined) continue;
            pending.delete(id);
            if (t === p.term) committed++;
            else retry.push(id);
          }
          if (done()) return true;
          const leader = c.leader();
          if (leader === undefined || leader.raw === null) return false;
          if (churn !== undefined && c.now % churn === 0) {
            c.transferLeader(leader.id, leader.id === 3 ? 1 : leader.id + 1);
          }
          for (let i = 0; i < perTick && pending.size < maxOutstanding; i++) {
            const id = retry.length > 0 ? retry.pop()! : nextId < total ? nextId++ : -1;
            if (id < 0) break;
            if (!c.propose(leader.id, payload(id))) {
              retry.push(id);
              break;
            }
            const log = leader.raw.raft.raftLog;
            pending.set(id, { index: log.lastIndex(), term: leader.raw.raft.term });
          }
          return false;
        },
        20_000,
        'all proposals committed',
      );
      // Let every node apply everything committed.
      c.runUntil(
        () => [...c.nodes.values()].every((n) => n.sm.appliedIndex >= c.checker.maxCommitted),
        2_000,
        'every node applied the committed log',
      );
      c.checkConverged([1, 2, 3]);
      const seqs = [1, 2, 3].map((id) => c.node(id).sm.payloads().map(payloadId));
      expect(seqs[0]).toHaveLength(total);
      expect(new Set(seqs[0]).size).toBe(total);
      expect(seqs[1]).toEqual(seqs[0]);
      expect(seqs[2]).toEqual(seqs[0]);
      expect(c.checker.elections).toBeGreaterThanOrEqual(churn === undefined ? 1 : 5);
      if (process.env.VERBOSE) {
        console.log(
          `seed ${seed}: ${c.now} ticks, ${c.checker.elections} elections, ${c.stats.sent} sent, ${c.stats.dropped} dropped`,
        );
      }
    });
  });
});
