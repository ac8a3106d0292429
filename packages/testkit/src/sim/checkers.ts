// Checks of the Raft safety properties (Raft paper, figure 3), fed by the cluster harness as
// things happen, so a violation is reported at the step that causes it:
//
// - Election safety: at most one leader per term, ever (every (term, leader) pair is kept).
// - Log matching: if two logs have an entry with the same index and term, the logs are
//   identical up to it. Checked inductively on every entry a node persists: all copies of
//   (index, term) must carry the same payload and follow an entry of the same term, which
//   by induction makes the prefixes identical.
// - Leader completeness: an entry committed in term t is in the log of every leader of a
//   term > t. A node that knows index i committed while at term t proves i was committed by
//   term t; every node that leads a later term is checked for it while it leads.
// - State machine safety: no two nodes apply different entries at an index; applied prefixes
//   agree (a hash chain over the applied entries must match at every index, which also
//   covers state restored from snapshots).
// - Durability: what any node knew committed never changes (every commit index a node
//   persists, before or after a restart, must cover the same entries).
import type { EntryType, Index, NodeId, Term } from '@tsraft/raft-core';

export class SafetyViolation extends Error {
  constructor(
    readonly property: string,
    detail: string,
  ) {
    super(`${property} violated: ${detail}`);
    this.name = 'SafetyViolation';
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function showBytes(d: Uint8Array): string {
  if (d.length <= 16) return `[${Array.from(d).join(',')}]`;
  return `<${d.length} bytes>`;
}

interface LogRecord {
  prevTerm: Term;
  type: EntryType;
  data: Uint8Array;
  node: NodeId;
}

/** What a node's log says about index i: its term, or undefined when it does not know it. */
export type TermAt = (i: Index) => Term | undefined;

export class Checker {
  /** term -> the leader of that term. */
  readonly leaders = new Map<Term, NodeId>();
  /** (index, term) -> what the first node that persisted it stored there. */
  private readonly logRecords = new Map<number, LogRecord>();
  /**
   * commitTerm[i]: the lowest term at which some node knew index i committed. Nondecreasing
   * in i (whoever knows i committed knows every earlier index committed).
   */
  private readonly commitTerm: Term[] = [0];
  /** committedEntryTerm[i]: the term of the committed entry at i (0 while unknown). */
  private readonly committedEntryTerm: Term[] = [0];
  /** Applied history: what the first node to apply index i applied, and its state hash. */
  private readonly appliedTerm: Term[] = [0];
  private readonly appliedType: EntryType[] = [0];
  private readonly appliedData: Uint8Array[] = [new Uint8Array(0)];
  private readonly appliedHash: number[] = [0];
  private readonly appliedBy: NodeId[] = [0];
  /** Per node: the term it leads and the committed prefix already checked in its log. */
  private readonly leaderChecked = new Map<NodeId, { term: Term; upTo: Index }>();
  /** Counters, for reports. */
  elections = 0;
  checks = 0;

  /** The highest index known committed anywhere. */
  get maxCommitted(): Index {
    return this.commitTerm.length - 1;
  }

  /** The highest index applied anywhere. */
  get maxApplied(): Index {
    return this.appliedTerm.length - 1;
  }

  /** The term of the committed entry at i, if known. */
  committedTermAt(i: Index): Term | undefined {
    const t = this.committedEntryTerm[i];
    return t === undefined || t === 0 ? undefined : t;
  }

  /** Election safety: `id` is leader of `term`. */
  observeLeader(id: NodeId, term: Term): void {
    this.checks++;
    const prev = this.leaders.get(term);
    if (prev === undefined) {
      this.leaders.set(term, id);
      this.elections++;
    } else if (prev !== id) {
      throw new SafetyViolation(
        'election safety',
        `two leaders in term ${term}: ${prev} and ${id}`,
      );
    }
  }

  /** Log matching: `node` persisted entry (index, term) whose predecessor has prevTerm. */
  observePersistedEntry(
    node: NodeId,
    index: Index,
    term: Term,
    prevTerm: Term | undefined,
    type: EntryType,
    data: Uint8Array,
  ): void {
    this.checks++;
    if (term >= 1_000_000) throw new Error(`term ${term} too large for the checker's keys`);
    const key = index * 1_000_000 + term;
    const rec = this.logRecords.get(key);
    if (rec === undefined) {
      // prevTerm undefined: the predecessor is compacted here; learn it from another copy.
      this.logRecords.set(key, { prevTerm: prevTerm ?? -1, type, data, node });
      return;
    }
    if (rec.type !== type || !bytesEqual(rec.data, data)) {
      throw new SafetyViolation(
        'log matching',
        `entry ${term}/${index} differs: node ${rec.node} has type ${rec.type} ${showBytes(rec.data)}, node ${node} has type ${type} ${showBytes(data)}`,
      );
    }
    if (prevTerm !== undefined) {
      if (rec.prevTerm === -1) {
        rec.prevTerm = prevTerm;
      } else if (rec.prevTerm !== prevTerm) {
        throw new SafetyViolation(
          'log matching',
          `entry ${term}/${index} follows term ${rec.prevTerm} on node ${rec.node} but term ${prevTerm} on node ${node}`,
        );
      }
    }
  }

  /**
   * `node`, at term `nodeTerm`, knows everything up to `commit` committed; `termAt` reads its
   * log. Checks the committed entries agree with what others committed, and records them.
   */
  observeCommit(node: NodeId, nodeTerm: Term, commit: Index, termAt: TermAt, from = 1): void {
    this.checks++;
    const ct = this.commitTerm;
    // Lower the commit terms of indexes up to `commit` (suffix walk: ct is nondecreasing).
    for (let i = Math.min(commit, ct.length - 1); i >= 1; i--) {
      if (ct[i]! <= nodeTerm) break;
      ct[i] = nodeTerm;
    }
    while (ct.length <= commit) {
      ct.push(nodeTerm);
      this.committedEntryTerm.push(0);
    }
    const cet = this.committedEntryTerm;
    for (let i = Math.max(from, 1); i <= commit; i++) {
      const t = termAt(i);
      if (t === undefined) continue;
      const known = cet[i]!;
      if (known === 0) cet[i] = t;
      else if (known !== t) {
        throw new SafetyViolation(
          'commit durability',
          `node ${node} has entry ${t}/${i} committed, but entry ${known}/${i} was committed before`,
        );
      }
    }
  }

  /**
   * Leader completeness: `node` leads `term`; every entry committed by an earlier term must
   * be in its log. Incremental: only the committed prefix not yet checked for this leader.
   */
  checkLeaderCompleteness(node: NodeId, term: Term, termAt: TermAt, firstIndex: Index): void {
    this.checks++;
    let st = this.leaderChecked.get(node);
    if (st === undefined || st.term !== term) {
      st = { term, upTo: 0 };
      this.leaderChecked.set(node, st);
    }
    // The committed prefix whose commit term is below `term` (binary search: nondecreasing).
    const ct = this.commitTerm;
    let lo = 0;
    let hi = ct.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ct[mid]! < term) lo = mid;
      else hi = mid - 1;
    }
    const upTo = lo;
    const cet = this.committedEntryTerm;
    for (let i = Math.max(st.upTo + 1, firstIndex); i <= upTo; i++) {
      const want = cet[i]!;
      if (want === 0) continue;
      const have = termAt(i);
      if (have !== want) {
        throw new SafetyViolation(
          'leader completeness',
          `leader ${node} of term ${term} has ${have === undefined ? 'no entry' : `term ${have}`} at ${i}, but ${want}/${i} was committed by term ${ct[i]}`,
        );
      }
    }
    if (upTo > st.upTo) st.upTo = upTo;
  }

  /** Forget a node's leadership watermark (it restarted: its log may have changed). */
  resetNode(node: NodeId): void {
    this.leaderChecked.delete(node);
  }

  /**
   * State machine safety: `node` applied (index, term, type, data) reaching state `hash`.
   * Also checks it against the committed entry at that index.
   */
  observeApply(
    node: NodeId,
    index: Index,
    term: Term,
    type: EntryType,
    data: Uint8Array,
    hash: number,
  ): void {
    this.checks++;
    const n = this.appliedTerm.length;
    if (index < n) {
      const t = this.appliedTerm[index]!;
      if (t === -1) {
        // Known only as a snapshot's state so far, or not at all.
        const known = this.appliedHash[index]!;
        if (known !== -1 && known !== hash) {
          throw new SafetyViolation(
            'state machine safety',
            `node ${node} applied ${term}/${index} reaching state ${hash}, but a snapshot at ${index} has state ${this.appliedHash[index]}`,
          );
        }
        this.appliedTerm[index] = term;
        this.appliedHash[index] = hash;
        this.appliedType[index] = type;
        this.appliedData[index] = data;
        this.appliedBy[index] = node;
      } else if (
        t !== term ||
        this.appliedType[index] !== type ||
        !bytesEqual(this.appliedData[index]!, data)
      ) {
        throw new SafetyViolation(
          'state machine safety',
          `node ${node} applied ${term}/${index} ${showBytes(data)}, node ${this.appliedBy[index]} applied ${t}/${index} ${showBytes(this.appliedData[index]!)}`,
        );
      } else if (this.appliedHash[index] !== hash) {
        throw new SafetyViolation(
          'state machine safety',
          `node ${node} reached a different state at ${index} than node ${this.appliedBy[index]} (applied prefixes differ)`,
        );
      }
    } else {
      while (this.appliedTerm.length < index) this.pushUnknown();
      this.appliedTerm.push(term);
      this.appliedType.push(type);
      this.appliedData.push(data);
      this.appliedHash.push(hash);
      this.appliedBy.push(node);
    }
    const ct = this.committedTermAt(index);
    if (ct !== undefined && ct !== term) {
      throw new SafetyViolation(
        'state machine safety',
        `node ${node} applied ${term}/${index}, but ${ct}/${index} is the committed entry`,
      );
    }
  }

  /** A node's state was restored from a snapshot at `index` with state `hash`. */
  observeSnapshotState(node: NodeId, index: Index, hash: number): void {
    this.checks++;
    if (index === 0) return;
    if (index < this.appliedHash.length) {
      const h = this.appliedHash[index]!;
      if (h === -1) {
        this.appliedHash[index] = hash;
      } else if (h !== hash) {
        throw new SafetyViolation(
          'state machine safety',
          `node ${node} restored a snapshot at ${index} with state ${hash}, but the state at ${index} is ${h}`,
        );
      }
      return;
    }
    while (this.appliedTerm.length < index) this.pushUnknown();
    this.appliedTerm.push(-1);
    this.appliedType.push(0);
    this.appliedData.push(new Uint8Array(0));
    this.appliedHash.push(hash);
    this.appliedBy.push(node);
  }

  private pushUnknown(): void {
    this.appliedTerm.push(-1);
    this.appliedType.push(0);
    this.appliedData.push(new Uint8Array(0));
    this.appliedHash.push(-1);
    this.appliedBy.push(0);
  }

  /** The state hash at index i as first observed (-1 if unknown). */
  appliedHashAt(i: Index): number {
    return this.appliedHash[i] ?? -1;
  }
}
