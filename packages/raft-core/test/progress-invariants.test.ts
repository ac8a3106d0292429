// The leader's per-follower bookkeeping under hostile delivery: messages lost, duplicated,
// reordered and delayed across Readys, proposals in bursts (merged MsgApps), elections.
// After every step, on whoever leads, each follower's Progress must satisfy:
//   0 <= match < next <= lastIndex + 1;
//   in StateReplicate, Inflights holds at most maxInflightMsgs messages with strictly
//   increasing last indexes, all above match, the newest ending at next - 1;
//   a MsgApp still open for merging is in the outbox, addressed to that follower, and ends at
//   next - 1;
// and in the end every node applies the same entries.
import { describe, expect, it } from 'vitest';
import {
  ErrProposalDropped,
  type Inflights,
  type Message,
  MessageType,
  ProgressStateType,
  SnapshotStatus,
  StateType,
} from '../src/index.js';
import { type TestNode, enc, newTestNode, persistAndApply } from './util/rawnode.js';
import { seededRandom, withSeed } from './util/rng.js';

/** The last indexes of the messages in flight, oldest first (through the public API). */
function inflightIndexes(inf: Inflights, from: number): number[] {
  const out: number[] = [];
  const c = inf.clone();
  let lo = from;
  while (c.count > 0) {
    // The smallest bound that frees the oldest message: its last index.
    let a = lo;
    let b = Number.MAX_SAFE_INTEGER;
    while (a < b) {
      const mid = a + Math.floor((b - a) / 2);
      const probe = c.clone();
      probe.freeLE(mid);
      if (probe.count < c.count) b = mid;
      else a = mid + 1;
    }
    const before = c.count;
    c.freeLE(a);
    for (let k = 0; k < before - c.count; k++) out.push(a);
    lo = a + 1;
  }
  return out;
}

function checkLeader(n: TestNode, maxInflight: number): void {
  const r = n.node.raft;
  if (r.state !== StateType.Leader) return;
  const last = r.raftLog.lastIndex();
  for (const [id, pr] of r.trk.progress) {
    if (id === r.id) continue;
    // Plain checks (this runs a million times): the message is built only on failure.
    const ok = (cond: boolean, what: string) => {
      if (!cond) {
        throw new Error(
          `leader ${r.id} term ${r.term}, follower ${id} (${pr.toString()}): ${what}`,
        );
      }
    };
    ok(pr.match >= 0 && pr.match < pr.next, 'not 0 <= match < next');
    ok(pr.next <= last + 1, `next beyond lastIndex ${last} + 1`);
    if (pr.state === ProgressStateType.StateReplicate && pr.inflights.count > 0) {
      const idx = inflightIndexes(pr.inflights, pr.match);
      ok(idx.length <= maxInflight, `more than ${maxInflight} in flight`);
      for (let i = 1; i < idx.length; i++) ok(idx[i]! > idx[i - 1]!, `inflights ${idx}`);
      ok(idx[0]! > pr.match, `inflight ${idx[0]} not above match`);
      ok(idx[idx.length - 1] === pr.next - 1, `newest inflight ${idx} does not end at next-1`);
    }
    const m = pr.pendingApp;
    if (m !== null) {
      ok(r.msgs.includes(m), 'pending MsgApp not in the outbox');
      ok(m.to === id && m.type === MessageType.MsgApp, 'pending message is not a MsgApp to it');
      if (m.entries.length > 0) {
        ok(m.index + m.entries.length === pr.next - 1, 'pending MsgApp does not end at next-1');
      }
    }
  }
}

describe('leader progress under hostile delivery', () => {
  it('keeps its invariants, and everyone applies the same entries', () => {
    const runs = 60;
    let productive = 0;
    for (let run = 0; run < runs; run++) {
      withSeed(`progress-invariants-${run}`, (base) => {
        const seed = base + run;
        const rand = seededRandom(seed);
        const maxInflight = 1 + Math.floor(rand() * 4);
        const ids = [1, 2, 3];
        const nodes = ids.map((id) =>
          newTestNode(id, ids, {
            random: seededRandom(seed * 7 + id),
            maxInflightMsgs: maxInflight,
            maxSizePerMsg: rand() < 0.5 ? 100 : 1 << 20,
            preVote: true,
          }),
        );
        let pool: Message[] = [];
        let k = 0;
        const deliver = (m: Message, lost: boolean) => {
          if (m.type === MessageType.MsgSnap) {
            nodes[m.from - 1]!.node.reportSnapshot(
              m.to,
              lost ? SnapshotStatus.Failure : SnapshotStatus.Finish,
            );
          }
          if (lost) return;
          try {
            nodes[m.to - 1]!.node.step(m);
          } catch (err) {
            if (!(err instanceof ErrProposalDropped)) throw err;
          }
        };
        const check = () => {
          for (const n of nodes) checkLeader(n, maxInflight);
        };
        nodes[0]!.node.campaign();
        for (let step = 0; step < 600; step++) {
          const x = rand();
          const n = nodes[Math.floor(rand() * nodes.length)]!;
          if (x < 0.15) {
            n.node.tick();
          } else if (x < 0.35) {
            // A burst of proposals on whoever leads.
            const lead = nodes.find((t) => t.node.raft.state === StateType.Leader);
            const burst = 1 + Math.floor(rand() * 6);
            for (let i = 0; i < burst && lead !== undefined; i++) {
              try {
                lead.node.propose(enc(`p${k++}-${'x'.repeat(Math.floor(rand() * 40))}`));
              } catch (err) {
                if (!(err instanceof ErrProposalDropped)) throw err;
              }
              check();
            }
          } else if (x < 0.55) {
            if (n.node.hasReady()) pool.push(...persistAndApply(n, n.node.ready()));
          } else {
            // Deliver a few messages from the pool in random order; some lost, some twice.
            const count = Math.min(pool.length, 1 + Math.floor(rand() * 5));
            for (let i = 0; i < count; i++) {
              const j = Math.floor(rand() * pool.length);
              const m = pool[j]!;
              pool[j] = pool[pool.length - 1]!;
              pool.pop();
              const y = rand();
              if (y < 0.1) deliver(m, true);
              else {
                deliver(m, false);
                if (y > 0.9) pool.push(m); // delivered again later
              }
              check();
            }
          }
          check();
        }
        // Heal: deliver everything, tick, until every node applied the same.
        const same = () => nodes.every((n) => n.state.join(',') === nodes[0]!.state.join(','));
        for (let round = 0; round < 200 && !(round > 30 && same()); round++) {
          for (const n of nodes) n.node.tick();
          for (let i = 0; i < 10; i++) {
            for (const n of nodes) {
              if (n.node.hasReady()) pool.push(...persistAndApply(n, n.node.ready()));
            }
            const batch = pool;
            pool = [];
            for (const m of batch) deliver(m, false);
            check();
          }
        }
        const states = nodes.map((n) => n.state.join(','));
        expect(states[1]).toBe(states[0]);
        expect(states[2]).toBe(states[0]);
        if (nodes[0]!.state.length > 0) productive++;
      });
    }
    // Most runs got entries through (a run may spend its time without a leader).
    expect(productive).toBeGreaterThan(runs / 2);
  });
});
