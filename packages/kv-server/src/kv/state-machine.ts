// The replicated state machine raft-node drives: decodes each committed entry's command and
// applies it to the KvStore; snapshots and restores the whole store.
import { KvCodecError } from './bytes.js';
import { decodeCommand } from './command.js';
import { decodeSnapshot, encodeSnapshot, encodeSnapshotAsync } from './snapshot.js';
import { type CommandResult, KvStore } from './store.js';

/** What apply returns for an entry whose data is not a command (the same on every replica). */
export interface InvalidCommandResult {
  op: 'invalid';
  error: string;
}

export type ApplyResult = CommandResult | InvalidCommandResult | undefined;

export interface AppliedEntry {
  index: number;
  data: Uint8Array;
}

export class KvStateMachine {
  readonly store = new KvStore();
  /** Entries applied since start (or the last restore); for metrics. */
  appliedCommands = 0;

  apply(entries: readonly AppliedEntry[]): ApplyResult[] {
    const out: ApplyResult[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) out[i] = this.applyOne(entries[i]!.data);
    return out;
  }

  applyOne(data: Uint8Array): ApplyResult {
    // Empty entries (a new leader's no-op) carry no command.
    if (data.length === 0) return undefined;
    let cmd: ReturnType<typeof decodeCommand>;
    try {
      cmd = decodeCommand(data);
    } catch (err) {
      if (err instanceof KvCodecError) return { op: 'invalid', error: err.message };
      throw err;
    }
    this.appliedCommands++;
    return this.store.apply(cmd);
  }

  /** The whole store as bytes (raft-node applies nothing until the promise settles). */
  snapshot(): Promise<Uint8Array> {
    return encodeSnapshotAsync(this.store);
  }

  /** The same bytes at once, blocking until done. */
  snapshotSync(): Uint8Array {
    return encodeSnapshot(this.store);
  }

  restore(data: Uint8Array): void {
    if (data.length === 0) {
      this.store.reset(0, [], []);
      return;
    }
    const snap = decodeSnapshot(data);
    this.store.reset(snap.revision, snap.kvs, snap.members);
  }
}
