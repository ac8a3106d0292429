// What a leader knows about one follower's log, and how it may send to it.
import type { Index } from '../raftpb.js';
import type { Message } from '../raftpb.js';
import type { Inflights } from './inflights.js';

export enum ProgressStateType {
  /** The leader does not know the follower's last index: one MsgApp per heartbeat, then wait. */
  StateProbe = 0,
  /** The follower is caught up enough: stream MsgApps optimistically, bounded by Inflights. */
  StateReplicate = 1,
  /** The follower needs a snapshot; no MsgApps until it reports the snapshot applied. */
  StateSnapshot = 2,
}

export class Progress {
  /**
   * Invariant: 0 <= match < next. `match` is the highest index known to be in the follower's
   * log; `next` is the index of the next entry to send.
   */
  match: Index;
  next: Index;
  /**
   * The highest commit index sent to the follower (via MsgApp or heartbeat). Kept below next
   * where the state transitions set it (the follower can only use a commit index below next);
   * canBumpCommit checks `sentCommit < next - 1` itself rather than relying on it.
   */
  sentCommit: Index = 0;
  state: ProgressStateType = ProgressStateType.StateProbe;
  /** In StateSnapshot: the index of the snapshot sent. */
  pendingSnapshot: Index = 0;
  /** Heard from since the last CheckQuorum round (always true for the leader itself). */
  recentActive = false;
  /** In StateProbe: a MsgApp was sent and not answered. In StateReplicate: Inflights is full. */
  msgAppFlowPaused = false;
  inflights: Inflights;
  isLearner: boolean;
  /**
   * A MsgApp to this follower that is queued in raft's outbox but not yet handed to the
   * application: new entries are merged into it instead of sending another message.
   */
  pendingApp: Message | null = null;
  /** The size (entsSize) of pendingApp's entries, bounded by maxSizePerMsg. */
  pendingAppBytes = 0;
  /** Whether pendingApp.entries is an array raft made itself (safe to grow in place). */
  pendingAppOwned = false;

  constructor(next: Index, inflights: Inflights, isLearner: boolean, match: Index = 0) {
    this.match = match;
    this.next = next;
    this.inflights = inflights;
    this.isLearner = isLearner;
  }

  /** Moves to `state`, clearing what belongs to the previous state. */
  resetState(state: ProgressStateType): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
    this.pendingApp = null;
  }

  becomeProbe(): void {
    // After a snapshot, the follower has at least the snapshot: probe from just past it.
    if (this.state === ProgressStateType.StateSnapshot) {
      const pendingSnapshot = this.pendingSnapshot;
      this.resetState(ProgressStateType.StateProbe);
      this.next = Math.max(this.match + 1, pendingSnapshot + 1);
    } else {
      this.resetState(ProgressStateType.StateProbe);
      this.next = this.match + 1;
    }
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
  }

  becomeReplicate(): void {
    this.resetState(ProgressStateType.StateReplicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: Index): void {
    this.resetState(ProgressStateType.StateSnapshot);
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
    this.sentCommit = snapshotIndex;
  }

  /** Updates the progress after a MsgApp with `entries` entries of `bytes` payload was sent. */
  sentEntries(entries: number, bytes: number): void {
    switch (this.state) {
      case ProgressStateType.StateReplicate:
        if (entries > 0) {
          this.next += entries;
          this.inflights.add(this.next - 1, bytes);
        }
        this.msgAppFlowPaused = this.inflights.full();
        break;
      case ProgressStateType.StateProbe:
        // One probe at a time: wait for its answer (or the next heartbeat response).
        if (entries > 0) this.msgAppFlowPaused = true;
        break;
      default:
        throw new Error(`sending append in unhandled state ${ProgressStateType[this.state]}`);
    }
  }

  /** Like sentEntries, for entries merged into the pending (unsent) MsgApp. */
  mergedEntries(entries: number, bytes: number): void {
    this.next += entries;
    this.inflights.extendLast(this.next - 1, bytes);
    this.msgAppFlowPaused = this.inflights.full();
  }

  /** Whether sending `index` as the commit would tell the follower something new. */
  canBumpCommit(index: Index): boolean {
    // The follower can only use a commit index below next; sending more is pointless.
    return index > this.sentCommit && this.sentCommit < this.next - 1;
  }

  sentCommitTo(commit: Index): void {
    this.sentCommit = commit;
  }

  /**
   * Handles an acknowledgement of index n. Returns false if it was stale (n <= match).
   */
  maybeUpdate(n: Index): boolean {
    if (n <= this.match) return false;
    this.match = n;
    if (this.next < n + 1) this.next = n + 1;
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * Handles a rejection of the MsgApp whose previous index was `rejected`; `matchHint` is the
   * follower's guess at where the logs match. Returns false if the rejection was stale.
   */
  maybeDecrTo(rejected: Index, matchHint: Index): boolean {
    if (this.state === ProgressStateType.StateReplicate) {
      // Stale: we already know the follower has everything up to match.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      this.sentCommit = Math.min(this.sentCommit, this.next - 1);
      this.pendingApp = null;
      return true;
    }
    // In probe state only the answer to the current probe (at next-1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** Whether sending MsgApps to this follower is throttled. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressStateType.StateProbe:
      case ProgressStateType.StateReplicate:
        return this.msgAppFlowPaused;
      default:
        return true;
    }
  }

  /** A copy sharing the Inflights (what confchange needs: it only flips isLearner). */
  shallowCopy(): Progress {
    const p = this.clone();
    p.inflights = this.inflights;
    return p;
  }

  clone(): Progress {
    const p = new Progress(this.next, this.inflights.clone(), this.isLearner, this.match);
    p.sentCommit = this.sentCommit;
    p.state = this.state;
    p.pendingSnapshot = this.pendingSnapshot;
    p.recentActive = this.recentActive;
    p.msgAppFlowPaused = this.msgAppFlowPaused;
    return p;
  }

  toString(): string {
    let s = `StateType=${ProgressStateType[this.state].slice(5)} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += ' learner';
    if (this.isPaused()) s += ' paused';
    if (this.pendingSnapshot > 0) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += ' inactive';
    if (this.inflights.count > 0) s += ` inflight=${this.inflights.count}`;
    return s;
  }
}
