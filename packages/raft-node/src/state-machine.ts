// The two kinds of state machine RaftNode drives, and small helpers for the simple path.
// Both kinds snapshot as streams: a snapshot is never one buffer on either side.
import type { NodeId } from '@tsraft/raft-core';

/** A committed entry as the state machine sees it: the proposer's bytes, in log order. */
export interface AppliedEntry {
  index: number;
  term: number;
  /** What was passed to propose(). */
  data: Uint8Array;
  /** The node that called propose(). */
  proposer: NodeId;
}

/**
 * A point-in-time view of a state machine, read as a stream of chunks (any sizes). RaftNode
 * reads it while further entries are applied, and calls `close()` when it is done with it
 * (also when it stops early), so that the view (an iterator, a file) can be released.
 */
export type SnapshotSource = AsyncIterable<Uint8Array> & { close?(): void };

/**
 * The in-memory kind: the state lives in the process. At start RaftNode calls `restore` with
 * the latest snapshot (if any) and then `apply` for every committed entry after it, so `apply`
 * sees each entry exactly once per process, in index order, and never concurrently with
 * `snapshot` or `restore`.
 *
 * `snapshot()` is called between two applies and must be cheap and synchronous: it captures a
 * view (a persistent map, a copy-on-write structure, a copy of a small state) and returns a
 * source that RaftNode writes to a snapshot file in the background while applies go on.
 */
export interface StateMachine<R = unknown> {
  /** Applies committed entries; returns one result per entry (given to that entry's proposer). */
  apply(entries: readonly AppliedEntry[]): readonly R[] | Promise<readonly R[]>;
  /** The state as of the last applied entry, as a stream (see above). */
  snapshot(): SnapshotSource;
  /** Replaces the whole state with one that `snapshot` produced (here or on another member). */
  restore(from: AsyncIterable<Uint8Array>): void | Promise<void>;
}

/**
 * The on-disk kind: the state machine owns durable data (a database) and its applied index.
 *
 * - `open()` opens the data and returns the index of the last entry applied to it: RaftNode
 *   replays only the committed entries after it. It is the truth after a crash.
 * - `apply()` persists the entries' effects and the index of the last of them atomically (one
 *   write batch): a crash leaves either all of a batch or none of it. It need not fsync: the
 *   raft log is durable, and RaftNode calls `sync()` before it compacts the log. It may
 *   resolve before its batch is written, if every later read, apply, snapshot, sync and
 *   close sees the batch (open() after a crash may then be behind: RaftNode replays).
 * - A snapshot for log compaction costs nothing: RaftNode records raft's metadata only.
 * - `snapshot()` (for a follower that needs the whole state) is called between two applies
 *   and returns a stream of a point-in-time view (e.g. a LevelDB snapshot iterator) that
 *   carries the view's applied index; the follower's `restore()` consumes it into temp space
 *   and swaps it in atomically, after which its `open()`-index is the view's.
 */
export interface OnDiskStateMachine<R = unknown> {
  open(): Promise<number>;
  apply(entries: readonly AppliedEntry[]): Promise<readonly R[]>;
  snapshot(): SnapshotSource;
  restore(from: AsyncIterable<Uint8Array>): Promise<void>;
  /**
   * Optional, so that a follower restores while the leader's stream is still arriving (and
   * not after a whole copy of it was received into a file): consumes the stream into temp
   * space, checked and durable, without touching the live state, and resolves once it ended.
   * Rejects (and leaves nothing behind) when the stream is refused or fails. RaftNode then
   * calls `install()` between two applies, or `discard()`.
   */
  prepareRestore?(from: AsyncIterable<Uint8Array>): Promise<PreparedRestore>;
  /** The index `open()` would return now (the last applied batch's). */
  appliedIndex(): number;
  /** Makes every applied batch durable (fsync). */
  sync(): Promise<void>;
  /** Closes the data (RaftNode calls it at stop, after the last apply). */
  close(): Promise<void>;
}

/** A restore filled beside the live state (OnDiskStateMachine.prepareRestore). */
export interface PreparedRestore {
  /** The applied index of the state it holds. */
  readonly appliedIndex: number;
  /** Swaps it in atomically: the state machine's state and applied index become its. */
  install(): Promise<void>;
  /** Removes it (nothing once installed). */
  discard(): Promise<void>;
}

export type AnyStateMachine<R = unknown> = StateMachine<R> | OnDiskStateMachine<R>;

/** The on-disk kind is told apart by the methods only it has. */
export function isOnDisk<R>(sm: AnyStateMachine<R>): sm is OnDiskStateMachine<R> {
  const d = sm as Partial<OnDiskStateMachine<R>>;
  return typeof d.open === 'function' && typeof d.appliedIndex === 'function';
}

/** Why `sm` is neither kind, or null. */
export function stateMachineProblem(sm: unknown): string | null {
  if (sm == null || typeof sm !== 'object') return 'stateMachine is required';
  const has = (k: string) => typeof (sm as Record<string, unknown>)[k] === 'function';
  const missing = ['apply', 'snapshot', 'restore'].filter((k) => !has(k));
  if (missing.length > 0) return `stateMachine lacks ${missing.join(', ')}`;
  if (has('appliedIndex')) {
    const more = ['open', 'sync', 'close'].filter((k) => !has(k));
    if (more.length > 0) return `an on-disk stateMachine lacks ${more.join(', ')}`;
  }
  return null;
}

/** A snapshot source over bytes already in hand (for small states). */
export function snapshotOf(bytes: Uint8Array): SnapshotSource {
  return {
    async *[Symbol.asyncIterator]() {
      yield bytes;
    },
  };
}

/** Reads a whole stream into one buffer (for small states). */
export async function readAll(from: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of from) parts.push(c);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
