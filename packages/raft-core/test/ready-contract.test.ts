// The Ready contract under random operation: three RawNodes with message loss, elections,
// proposals, snapshots and compaction, driven by ticks and a seeded generator. After every
// Ready the test checks what the contract promises the application:
//   - hasReady() is false exactly when ready() would hand out nothing;
//   - hardState is present exactly when it differs from what was persisted, and mustSync is
//     set exactly when entries, term or vote must become durable;
//   - committed entries continue where the previous ones (or the snapshot) ended, and were
//     persisted no later than in the Ready that hands them out;
//   - the commit index never goes back, nor exceeds the persisted log;
//   - every node applies the same entries in the same order.
import { describe, expect, it } from 'vitest';
import {
  EntryType,
  ErrProposalDropped,
  type HardState,
  type Message,
  MessageType,
  type Ready,
  SnapshotStatus,
  hardStateEqual,
} from '../src/index.js';
import {
  type TestNode,
  enc,
  newTestNode,
  persistAndApply,
  snapshotAndCompact,
} from './util/rawnode.js';
import { seededRandom, withSeed } from './util/rng.js';

interface Tracked {
  n: TestNode;
  persisted: HardState;
  lastApplied: number;
}

/**
 * Steps m into `to`; a forwarded proposal that finds no leader is dropped, as on a real
 * network. Like a transport, it tells the sender how a snapshot went (reportSnapshot).
 */
function deliver(nodes: Tracked[], m: Message, lost = false): void {
  if (m.type === MessageType.MsgSnap) {
    nodes[m.from - 1]!.n.node.reportSnapshot(
      m.to,
      lost ? SnapshotStatus.Failure : SnapshotStatus.Finish,
    );
  }
  if (lost) return;
  try {
    nodes[m.to - 1]!.n.node.step(m);
  } catch (err) {
    if (!(err instanceof ErrProposalDropped)) throw err;
  }
}

function isEmptyReady(rd: Ready): boolean {
  return (
    rd.softState === undefined &&
    rd.hardState === undefined &&
    rd.snapshot === undefined &&
    rd.entries.length === 0 &&
    rd.committedEntries.length === 0 &&
    rd.messages.length === 0 &&
    rd.readStates.length === 0
  );
}

function checkedReady(t: Tracked): Message[] {
  const { n } = t;
  if (!n.node.hasReady()) {
    // Nothing to do: a Ready taken anyway is empty.
    const rd = n.node.ready();
    expect(isEmptyReady(rd), `node ${n.id}: hasReady() false but ready() not empty`).toBe(true);
    n.node.advance();
    return [];
  }
  const rd = n.node.ready();
  const beforeVote = t.persisted;
  // hardState: present exactly when changed.
  const hs = n.node.raft.hardState();
  if (rd.hardState !== undefined) {
    expect(hardStateEqual(rd.hardState, t.persisted), `node ${n.id}: unchanged hardState`).toBe(
      false,
    );
    expect(rd.hardState.commit).toBeGreaterThanOrEqual(t.persisted.commit);
    expect(rd.hardState.term).toBeGreaterThanOrEqual(t.persisted.term);
  } else {
    expect(hardStateEqual(hs, t.persisted), `node ${n.id}: changed hardState missing`).toBe(true);
  }
  const next = rd.hardState ?? t.persisted;
  expect(rd.mustSync).toBe(
    rd.entries.length > 0 || next.term !== beforeVote.term || next.vote !== beforeVote.vote,
  );
  // Committed entries continue from the last applied index (or the snapshot in this Ready).
  let from = t.lastApplied;
  if (rd.snapshot !== undefined) {
    expect(rd.committedEntries, `node ${n.id}: entries applied with a snapshot`).toEqual([]);
    from = rd.snapshot.metadata.index;
  }
  expect(rd.committedEntries.map((e) => e.index)).toEqual(
    rd.committedEntries.map((_, i) => from + 1 + i),
  );
  // Persist, apply, advance.
  const msgs = persistAndApply(n, rd);
  t.persisted = next;
  if (rd.snapshot !== undefined) t.lastApplied = rd.snapshot.metadata.index;
  if (rd.committedEntries.length > 0) {
    t.lastApplied = rd.committedEntries[rd.committedEntries.length - 1]!.index;
  }
  // What was handed out to apply is in the storage by now; the commit index is too.
  expect(t.lastApplied).toBeLessThanOrEqual(n.storage.lastIndex());
  expect(t.persisted.commit).toBeLessThanOrEqual(n.storage.lastIndex());
  return msgs;
}

describe('the Ready contract under random operation', () => {
  it('holds for every Ready, and all nodes apply the same sequence', () => {
    const runs = 20;
    for (let run = 0; run < runs; run++) {
      withSeed(`ready-contract-${run}`, (base) => {
        const seed = base + run;
        const rand = seededRandom(seed);
        const ids = [1, 2, 3];
        // One configuration for the whole cluster: mixed preVote/checkQuorum settings can
        // deadlock by design (as in etcd), e.g. a node with neither ignores a stale leader's
        // appends while the others, in their checkQuorum lease, ignore its votes.
        const preVote = rand() < 0.5;
        const checkQuorum = rand() < 0.5;
        const nodes: Tracked[] = ids.map((id) => ({
          n: newTestNode(id, ids, {
            random: seededRandom(seed * 31 + id),
            preVote,
            checkQuorum,
            maxSizePerMsg: rand() < 0.5 ? 64 : 1 << 20,
            maxInflightMsgs: 1 + Math.floor(rand() * 4),
          }),
          persisted: { term: 0, vote: 0, commit: 0 },
          lastApplied: 0,
        }));
        let inFlight: Message[] = [];
        let k = 0;
        let loss = 0.1;
        for (let step = 0; step < 400; step++) {
          const x = rand();
          const t = nodes[Math.floor(rand() * nodes.length)]!;
          if (x < 0.4) {
            t.n.node.tick();
          } else if (x < 0.65) {
            try {
              t.n.node.propose(enc(`p${k}`));
              k++;
            } catch {
              // no leader known: dropped
            }
          } else if (x < 0.68) {
            const st = t.n.node.status();
            if (st.applied > t.n.storage.snapshot().metadata.index && st.applied > 0) {
              snapshotAndCompact(t.n, Math.max(t.n.storage.firstIndex(), st.applied - 2));
            }
          } else if (x < 0.7) {
            loss = rand() * 0.5;
          }
          // Handle Readys and deliver messages (some lost, some delayed a round).
          for (const node of nodes) inFlight.push(...checkedReady(node));
          const later: Message[] = [];
          for (const m of inFlight) {
            if (rand() < loss) {
              deliver(nodes, m, true);
              continue;
            }
            if (rand() < 0.2) {
              later.push(m);
              continue;
            }
            deliver(nodes, m);
          }
          inFlight = later;
        }
        // Heal and settle.
        for (let round = 0; round < 100; round++) {
          for (const node of nodes) node.n.node.tick();
          for (let i = 0; i < 5; i++) {
            for (const node of nodes) inFlight.push(...checkedReady(node));
            for (const m of inFlight) deliver(nodes, m);
            inFlight = [];
          }
        }
        // Same applied sequence everywhere (a node restored from a snapshot has the prefix
        // in its state): compare the state machines.
        const states = nodes.map((t) => t.n.state.join(','));
        expect(states[1]).toBe(states[0]);
        expect(states[2]).toBe(states[0]);
        // And every applied normal entry is one that was proposed, each at most once.
        const applied = nodes[0]!.n.state;
        expect(new Set(applied).size).toBe(applied.length);
        for (const node of nodes) {
          for (const e of node.n.applied) {
            if (e.type === EntryType.EntryNormal && e.data.length > 0) {
              expect(new TextDecoder().decode(e.data)).toMatch(/^p\d+$/);
            }
          }
        }
      });
    }
  });
});
