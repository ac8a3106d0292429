// Helpers for tests that drive RawNode through its Ready contract, with MemoryStorage as the
// durable store: persist a Ready, apply its committed entries, advance, pass messages on.
import {
  type Config,
  type Entry,
  EntryType,
  MemoryStorage,
  type Message,
  type NodeId,
  RawNode,
  type Ready,
  decodeConfChange,
  decodeConfChangeV2,
} from '../../src/index.js';
import { newTestStorage, testConfig } from './raft.js';

export interface TestNode {
  readonly id: NodeId;
  readonly node: RawNode;
  readonly storage: MemoryStorage;
  /** Every committed entry this node applied, in order (not those a snapshot replaced). */
  readonly applied: Entry[];
  /**
   * The state machine: the payloads of the normal entries applied, in order. A snapshot's
   * data is this list as JSON (see snapshotAndCompact), and restoring one replaces it.
   */
  state: string[];
}

/** A RawNode over a MemoryStorage whose initial ConfState has `voters` (and `learners`). */
export function newTestNode(
  id: NodeId,
  voters: NodeId[],
  extra: Partial<Config> = {},
  learners: NodeId[] = [],
): TestNode {
  const storage = voters.length === 0 ? new MemoryStorage() : newTestStorage(voters, learners);
  const node = new RawNode(testConfig(id, 10, 1, storage, extra));
  return { id, node, storage, applied: [], state: [] };
}

/**
 * Does what an application does with a Ready: persist the snapshot, entries and hard state,
 * apply the committed entries (conf changes included), advance. Returns the messages to send.
 */
export function persistAndApply(n: TestNode, rd: Ready): Message[] {
  if (rd.snapshot !== undefined) {
    n.storage.applySnapshot(rd.snapshot);
    n.state = JSON.parse(new TextDecoder().decode(rd.snapshot.data)) as string[];
  }
  n.storage.append(rd.entries);
  if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
  for (const e of rd.committedEntries) {
    n.applied.push(e);
    if (e.type === EntryType.EntryNormal && e.data.length > 0) {
      n.state.push(new TextDecoder().decode(e.data));
    }
    if (e.type === EntryType.EntryConfChange) n.node.applyConfChange(decodeConfChange(e.data));
    else if (e.type === EntryType.EntryConfChangeV2) {
      n.node.applyConfChange(decodeConfChangeV2(e.data));
    }
  }
  n.node.advance();
  return rd.messages;
}

/** Handles one Ready of n if it has one; returns its messages. */
export function step(n: TestNode): Message[] {
  if (!n.node.hasReady()) return [];
  return persistAndApply(n, n.node.ready());
}

/**
 * Handles Readys and delivers messages among `nodes` until nothing is left to do. `filter`
 * may drop messages (return false). Returns every message delivered.
 */
export function stabilize(
  nodes: readonly TestNode[],
  filter: (m: Message) => boolean = () => true,
  maxRounds = 10_000,
): Message[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const delivered: Message[] = [];
  for (let round = 0; round < maxRounds; round++) {
    const out: Message[] = [];
    for (const n of nodes) out.push(...step(n));
    if (out.length === 0 && !nodes.some((n) => n.node.hasReady())) return delivered;
    for (const m of out) {
      if (!filter(m)) continue;
      const to = byId.get(m.to);
      if (to === undefined) continue;
      delivered.push(m);
      to.node.step(m);
    }
  }
  throw new Error(`no quiescence after ${maxRounds} rounds`);
}

/** The payloads of the normal entries a node applied, as strings. */
export function appliedData(n: TestNode): string[] {
  const dec = new TextDecoder();
  return n.applied
    .filter((e) => e.type === EntryType.EntryNormal && e.data.length > 0)
    .map((e) => dec.decode(e.data));
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * Snapshots the node's state machine at its applied index (data: the state as JSON) and
 * compacts its storage up to `compactTo` (default: the snapshot index).
 */
export function snapshotAndCompact(n: TestNode, compactTo?: number): void {
  const st = n.node.status();
  const applied = st.applied;
  const cs = {
    voters: st.config.voters,
    learners: st.config.learners,
    votersOutgoing: st.config.votersOutgoing,
    learnersNext: st.config.learnersNext,
    autoLeave: st.config.autoLeave,
  };
  n.storage.createSnapshot(applied, cs, enc(JSON.stringify(n.state)));
  n.storage.compact(compactTo ?? applied);
}
