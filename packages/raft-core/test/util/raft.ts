// Helpers for tests that drive the Raft state machine directly (below RawNode), the way
// etcd/raft's raft_test.go does: build a raft over a MemoryStorage with a given membership,
// read the messages it wants sent, and persist/apply what it hands out.
import {
  type Config,
  type Entry,
  type HardState,
  MemoryStorage,
  type Message,
  MessageType,
  type NodeId,
  Raft,
  StateType,
  type Term,
  describeMessage,
  newConfState,
  newEntry,
  newMessage,
  validateConfig,
} from '../../src/index.js';
import { seededRandom } from './rng.js';

/** No size limit for MsgApps (etcd's noLimit). */
export const noLimit = Number.MAX_SAFE_INTEGER;

/**
 * A MemoryStorage whose (empty) snapshot carries the given membership, so a raft built over
 * it starts with those voters and learners and an empty log at index 0.
 */
export function newTestStorage(voters: NodeId[], learners: NodeId[] = []): MemoryStorage {
  const s = new MemoryStorage();
  // The initial snapshot is the storage's own object (index 0): give it a ConfState in place,
  // as etcd's withPeers does; applySnapshot would refuse index 0.
  s.snapshot().metadata.confState = newConfState({ voters: [...voters], learners: [...learners] });
  return s;
}

/** The ids 1..n. */
export function idsBySize(n: number): NodeId[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/**
 * A raft over `storage` with etcd's test defaults (no MsgApp size limit, 256 inflights) and a
 * random generator seeded by the id, so runs repeat exactly. `extra` overrides any field.
 */
export function newTestRaft(
  id: NodeId,
  electionTick: number,
  heartbeatTick: number,
  storage: MemoryStorage,
  extra: Partial<Config> = {},
): Raft {
  return new Raft(validateConfig(testConfig(id, electionTick, heartbeatTick, storage, extra)));
}

export function testConfig(
  id: NodeId,
  electionTick: number,
  heartbeatTick: number,
  storage: MemoryStorage,
  extra: Partial<Config> = {},
): Config {
  return {
    id,
    electionTick,
    heartbeatTick,
    storage,
    maxSizePerMsg: noLimit,
    maxInflightMsgs: 256,
    random: seededRandom(id * 7919),
    ...extra,
  };
}

/** Entries with consecutive indexes from `first`, one per term given. */
export function entsFrom(first: number, ...terms: Term[]): Entry[] {
  return terms.map((term, i) => newEntry({ index: first + i, term }));
}

/** An entry carrying `data` (as UTF-8). */
export function dataEntry(index: number, term: Term, data: string): Entry {
  return newEntry({ index, term, data: new TextEncoder().encode(data) });
}

/** A Message with defaults for every field not given. */
export function msg(fields: Partial<Message>): Message {
  return newMessage(fields);
}

/** A MsgProp with one entry of `data`, from `from` to `to` (etcd tests use to = from). */
export function propMsg(to: NodeId, data = 'somedata'): Message {
  return newMessage({
    type: MessageType.MsgProp,
    from: to,
    to,
    entries: [newEntry({ data: new TextEncoder().encode(data) })],
  });
}

/**
 * Steps the node's self-addressed durable-only messages (its own MsgAppResp and vote) back
 * into it, and queues the rest for sending, until none are left. This is what a driver does
 * once the entries and hard state are persisted; the entries themselves stay unstable.
 */
export function advanceMessagesAfterAppend(r: Raft): void {
  for (;;) {
    const msgs = r.msgsAfterAppend;
    if (msgs.length === 0) return;
    r.msgsAfterAppend = [];
    for (const m of msgs) {
      if (m.to === r.id) r.step(m);
      else r.msgs.push(m);
    }
  }
}

/**
 * Takes the messages the node wants to send (after advanceMessagesAfterAppend). Like
 * RawNode.ready(), it closes the MsgApps handed out to further merging.
 */
export function readMessages(r: Raft): Message[] {
  advanceMessagesAfterAppend(r);
  const msgs = r.msgs;
  r.msgs = [];
  for (const pr of r.trk.progress.values()) pr.pendingApp = null;
  return msgs;
}

/**
 * Persists the node's unstable snapshot and entries into `s`, steps its own acknowledgements,
 * then hands out (and marks applied) the committed entries: etcd's nextEnts.
 */
export function nextEnts(r: Raft, s: MemoryStorage): Entry[] {
  const log = r.raftLog;
  const snap = log.unstable.snapshot;
  if (snap !== null) {
    // Persisted, and the state machine restored from it: applied moves to its index.
    s.applySnapshot(snap);
    r.appliedSnap(snap);
  }
  const ents = log.nextUnstableEnts();
  s.append(ents);
  log.acceptUnstable();
  log.stableTo(log.lastIndex(), log.lastTerm());
  advanceMessagesAfterAppend(r);
  const committed = log.nextCommittedEnts(true);
  log.appliedTo(log.committed, 0);
  return committed;
}

/** A raft (id among `peers`) whose log holds one entry per given term, at that last term. */
export function raftWithLog(
  id: NodeId,
  peers: NodeId[],
  terms: Term[],
  extra: Partial<Config> = {},
): Raft {
  const s = newTestStorage(peers);
  s.append(entsFrom(1, ...terms));
  const r = newTestRaft(id, 10, 1, s, extra);
  r.reset(terms.length > 0 ? terms[terms.length - 1]! : 0);
  return r;
}

/** A raft (id among `peers`) that voted for `vote` in `term`. */
export function raftWithVote(
  id: NodeId,
  peers: NodeId[],
  vote: NodeId,
  term: Term,
  extra: Partial<Config> = {},
): Raft {
  const s = newTestStorage(peers);
  s.setHardState({ term, vote, commit: 0 });
  const r = newTestRaft(id, 10, 1, s, extra);
  r.reset(term);
  return r;
}

/** Makes a fresh raft a leader at the next term without any messages (etcd tests do this). */
export function makeLeader(r: Raft): void {
  r.becomeCandidate();
  r.becomeLeader();
}

/**
 * Commits the new leader's empty entry on every follower (as if each acknowledged it) and
 * persists and applies it, so a test starts from a leader with a committed entry of its term.
 */
export function commitNoopEntry(r: Raft, s: MemoryStorage): void {
  if (r.state !== StateType.Leader) throw new Error('commitNoopEntry needs a leader');
  r.bcastAppend();
  for (const m of readMessages(r)) {
    if (
      m.type !== MessageType.MsgApp ||
      m.entries.length !== 1 ||
      m.entries[0]!.data.length !== 0
    ) {
      throw new Error('not a message appending the empty entry');
    }
    r.step(acceptAndReply(m));
  }
  readMessages(r); // the followers' commit updates: not needed here
  s.append(r.raftLog.nextUnstableEnts());
  r.raftLog.acceptUnstable();
  r.raftLog.appliedTo(r.raftLog.committed, 0);
  r.raftLog.stableTo(r.raftLog.lastIndex(), r.raftLog.lastTerm());
}

/** The MsgAppResp a follower sends after accepting every entry of MsgApp `m`. */
export function acceptAndReply(m: Message): Message {
  if (m.type !== MessageType.MsgApp) throw new Error('acceptAndReply needs a MsgApp');
  return newMessage({
    type: MessageType.MsgAppResp,
    from: m.to,
    to: m.from,
    term: m.term,
    index: m.index + m.entries.length,
  });
}

/** Messages in a stable order (by type, to, then index) for comparisons. */
export function sortMessages(msgs: Message[]): Message[] {
  return [...msgs].sort((a, b) => a.type - b.type || a.to - b.to || a.index - b.index);
}

/** The hard state as plain data. */
export function hardStateOf(r: Raft): HardState {
  return r.hardState();
}

/** Term and index of each entry, for readable comparisons. */
export function termIndex(ents: readonly Entry[]): Array<[number, number]> {
  return ents.map((e) => [e.term, e.index]);
}

/** A readable dump of a log, for comparing two nodes' logs (etcd's ltoa). */
export function logString(r: Raft): string {
  const log = r.raftLog;
  const lines = [`committed: ${log.committed}`, `applied: ${log.applied}`];
  for (const e of log.allEntries()) lines.push(`${e.index}: ${e.term} ${[...e.data].join(',')}`);
  return lines.join('\n');
}

/** Messages as describeMessage lines, sorted (order across peers is not part of the protocol). */
export function show(msgs: readonly Message[]): string[] {
  return msgs.map((m) => describeMessage(m)).sort();
}
