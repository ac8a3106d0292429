// The commands' semantics over one apply batch: reads see the state at the batch's start
// (`base`, prefetched) overlaid with the batch's own earlier writes, so entry n sees what
// entries 1..n-1 of the same batch did. Pure and synchronous: the state machine prefetches
// every key a command touches. Only single-key commands are batched here; prefix deletes,
// transactions and compactions run on their own (txn-apply.ts), between batches.
//
// Revisions follow etcd: the store's `revision` counts successful mutations (a put, a delete
// that removed something, a CAS that succeeded; a failed CAS or a delete of a missing key
// leaves it unchanged). Every change is also an event of the history (sub revision 0). Each key carries createRevision (the revision that created it),
// modRevision (the revision of its last change) and version (puts since it was created).
// Member records (client and peer URLs) live beside the keys and do not count as revisions.
import type { ByteString } from './bytes.js';
import type { Command } from './command.js';
import type { KvEvent } from './history.js';
import type { KvHead } from './kv-cache.js';
import type { KvRecord, MemberRecord } from './records.js';
import type { TxnResult } from './txn.js';

/** A key's state; key and value are byte strings (kv/bytes.ts). */
export interface KeyValue {
  key: ByteString;
  value: ByteString;
  createRevision: number;
  modRevision: number;
  version: number;
  /** The key's lease; absent for none (so the JSON API shows it only when there is one). */
  lease?: number;
}

export type CommandResult =
  | { op: 'put'; revision: number; kv: KeyValue; prev?: KeyValue }
  | { op: 'delete'; revision: number; deleted: number; prev?: KeyValue }
  | { op: 'deletePrefix'; revision: number; deleted: number }
  | { op: 'cas'; revision: number; succeeded: boolean; kv?: KeyValue; prev?: KeyValue }
  | { op: 'setMember' | 'removeMember'; revision: number }
  | TxnResult
  | { op: 'compact'; revision: number; compactRevision: number }
  | { op: 'leaseGrant'; revision: number; id: number; ttl: number }
  | { op: 'leaseRevoke'; revision: number; deleted: number };

export class ApplyBatch {
  /** Keys written by this batch: their new record, or null when deleted. */
  readonly writes = new Map<ByteString, KvRecord | null>();
  /** The changes, in order: one event per mutation. */
  readonly events: KvEvent[] = [];
  /** Members written by this batch: the new record, or null when removed. */
  readonly memberWrites = new Map<number, MemberRecord | null>();

  constructor(
    /** Successful mutations so far; invariant: every key's modRevision <= revision. */
    public revision: number,
    public keyCount: number,
    /**
     * A key's record at the start of the batch (undefined: absent); its head is enough for a
     * key only put without its previous value wanted (PutCommand.withoutPrev).
     */
    private readonly base: (key: ByteString) => KvRecord | KvHead | undefined,
  ) {}

  lookup(key: ByteString): KvRecord | undefined {
    const r = this.lookupHead(key);
    if (r !== undefined && !('value' in r)) {
      throw new Error(`the value of ${JSON.stringify(key)} was not prefetched`);
    }
    return r;
  }

  private lookupHead(key: ByteString): KvRecord | KvHead | undefined {
    const w = this.writes.get(key);
    if (w !== undefined) return w ?? undefined;
    return this.base(key);
  }

  get empty(): boolean {
    return this.writes.size === 0 && this.memberWrites.size === 0;
  }

  /** Applies one single-key or member command (isBatched). */
  apply(cmd: Command): CommandResult {
    switch (cmd.op) {
      case 'put': {
        if (cmd.withoutPrev === true) {
          const kv = this.put(cmd.key, cmd.value, this.lookupHead(cmd.key));
          return { op: 'put', revision: this.revision, kv };
        }
        const prev = this.lookup(cmd.key);
        const kv = this.put(cmd.key, cmd.value, prev);
        return prev === undefined
          ? { op: 'put', revision: this.revision, kv }
          : { op: 'put', revision: this.revision, kv, prev: toKv(cmd.key, prev) };
      }
      case 'delete': {
        const prev = this.lookup(cmd.key);
        if (prev === undefined) return { op: 'delete', revision: this.revision, deleted: 0 };
        this.revision++;
        this.remove(cmd.key);
        return {
          op: 'delete',
          revision: this.revision,
          deleted: 1,
          prev: toKv(cmd.key, prev),
        };
      }
      case 'cas': {
        const prev = this.lookup(cmd.key);
        const ok =
          (cmd.expectRevision === undefined || (prev?.modRevision ?? 0) === cmd.expectRevision) &&
          (cmd.expectValue === undefined || prev?.value === cmd.expectValue);
        if (!ok) {
          return prev === undefined
            ? { op: 'cas', revision: this.revision, succeeded: false }
            : { op: 'cas', revision: this.revision, succeeded: false, kv: toKv(cmd.key, prev) };
        }
        if (cmd.value !== undefined) {
          const kv = this.put(cmd.key, cmd.value, prev);
          return prev === undefined
            ? { op: 'cas', revision: this.revision, succeeded: true, kv }
            : {
                op: 'cas',
                revision: this.revision,
                succeeded: true,
                kv,
                prev: toKv(cmd.key, prev),
              };
        }
        // Compare-and-delete: deleting a missing key succeeds and changes nothing.
        if (prev === undefined) return { op: 'cas', revision: this.revision, succeeded: true };
        this.revision++;
        this.remove(cmd.key);
        return {
          op: 'cas',
          revision: this.revision,
          succeeded: true,
          prev: toKv(cmd.key, prev),
        };
      }
      case 'setMember':
        this.memberWrites.set(cmd.id, {
          id: cmd.id,
          clientUrl: cmd.clientUrl,
          peerUrl: cmd.peerUrl,
        });
        return { op: 'setMember', revision: this.revision };
      case 'removeMember':
        this.memberWrites.set(cmd.id, null);
        return { op: 'removeMember', revision: this.revision };
      default:
        throw new Error(`${cmd.op} is not a batched command`);
    }
  }

  private put(key: ByteString, value: ByteString, prev: KvRecord | KvHead | undefined): KeyValue {
    this.revision++;
    const rec: KvRecord =
      prev === undefined
        ? { value, createRevision: this.revision, modRevision: this.revision, version: 1, lease: 0 }
        : {
            value,
            createRevision: prev.createRevision,
            modRevision: this.revision,
            version: prev.version + 1,
            // As etcd's Put without a lease: the key leaves the lease it had.
            lease: 0,
          };
    if (prev === undefined) this.keyCount++;
    this.writes.set(key, rec);
    this.events.push({ key, main: this.revision, sub: 0, record: rec });
    return toKv(key, rec);
  }

  /** Deletes a key the caller found live. */
  private remove(key: ByteString): void {
    this.keyCount--;
    this.writes.set(key, null);
    this.events.push({ key, main: this.revision, sub: 0, record: null });
  }
}

export function toKv(key: ByteString, r: KvRecord): KeyValue {
  const kv: KeyValue = {
    key,
    value: r.value,
    createRevision: r.createRevision,
    modRevision: r.modRevision,
    version: r.version,
  };
  if (r.lease !== 0) kv.lease = r.lease;
  return kv;
}
