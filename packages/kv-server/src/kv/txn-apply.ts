// One transaction (etcd's Txn, Put or DeleteRange) applied on its own, between batches: its
// compares, nested ones included, are decided against the state before it (as etcd decides
// the path first), then its requests run in order, each seeing the ones before. All its
// changes share one revision, numbered by sub revision in request order; a deleted range
// takes as many sub revisions as keys it deletes. A range delete is kept as its range and a
// count, not as its keys: the commit streams the keys again from disk (txnWrites), so no
// memory per deleted key is needed unless prev_kv asks for them.
import type { KeyValue } from './apply-batch.js';
import { type ByteString, bytesOf } from './bytes.js';
import { toKv } from './apply-batch.js';
import type { KvEvent } from './history.js';
import type { Db } from './level-handle.js';
import { KvRevisionError, type RangeEntry, runRange, scanAt, scanHeads } from './range-read.js';
import type { KvRecord } from './records.js';
import {
  type ByteRange,
  type Compare,
  type RequestOp,
  type ResponseOp,
  type TxnOp,
  type TxnResult,
  TXN_ERROR_MESSAGES,
  type TxnErrorCode,
  inRange,
  toByteRange,
  writesAreDisjoint,
} from './txn.js';

export interface TxnEnv {
  db: Db;
  /** For error messages. */
  path: string;
  revision: number;
  compactRevision: number;
  /** A key's current head (the cache, else the disk). */
  get(key: ByteString): Promise<KvRecord | undefined>;
  /** Whether a lease exists (etcd refuses a put to a lease that does not). */
  hasLease(id: number): boolean;
}

/** A range deleted by the transaction: its keys on disk not under an earlier deleted range. */
export interface DeletedRange {
  range: ByteRange;
  /** The sub revision of its first key; the others follow in key order. */
  subStart: number;
  count: number;
}

/** The decided path of a transaction: which branch, and the same for nested ones. */
interface Path {
  succeeded: boolean;
  ops: RequestOp[];
  nested: Map<TxnOp, Path>;
}

class TxnFailure extends Error {
  constructor(readonly code: TxnErrorCode) {
    super(TXN_ERROR_MESSAGES[code]);
  }
}

export class TxnApply {
  /** The keys put, by key: their new heads. */
  readonly puts = new Map<ByteString, KvRecord>();
  readonly deleted: DeletedRange[] = [];
  /** Put events (range deletes' events are made by the commit). */
  readonly events: KvEvent[] = [];
  /** Live keys added (puts of new keys) minus keys deleted. */
  keyDelta = 0;
  private sub = 0;
  private readonly main: number;

  constructor(private readonly env: TxnEnv) {
    this.main = env.revision + 1;
  }

  /** Whether it changed anything (it then takes revision `env.revision + 1`). */
  get changed(): boolean {
    return this.sub > 0;
  }

  get revision(): number {
    return this.changed ? this.main : this.env.revision;
  }

  async run(t: TxnOp): Promise<TxnResult> {
    try {
      const path = await this.decide(t);
      if (!writesAreDisjoint(flatten(path))) throw new TxnFailure('duplicateKey');
      await this.check(path);
      const responses = await this.execute(path);
      return { op: 'txn', revision: this.revision, succeeded: path.succeeded, responses };
    } catch (err) {
      if (err instanceof TxnFailure) return this.fail(err.code);
      if (err instanceof KvRevisionError) return this.fail(err.reason);
      throw err;
    }
  }

  private fail(code: TxnErrorCode): TxnResult {
    this.puts.clear();
    this.deleted.length = 0;
    this.events.length = 0;
    this.keyDelta = 0;
    this.sub = 0;
    return { op: 'txnError', revision: this.env.revision, code, message: TXN_ERROR_MESSAGES[code] };
  }

  // ---- the path, decided against the state before the transaction ----

  private async decide(t: TxnOp): Promise<Path> {
    let ok = true;
    for (const c of t.compare) {
      if (!(await this.compare(c))) {
        ok = false;
        break;
      }
    }
    const ops = ok ? t.success : t.failure;
    const nested = new Map<TxnOp, Path>();
    for (const o of ops) if (o.op === 'txn') nested.set(o, await this.decide(o));
    return { succeeded: ok, ops, nested };
  }

  /** etcd's applyCompare: every key of the range must satisfy it; no key compares as zeros. */
  private async compare(c: Compare): Promise<boolean> {
    const range = toByteRange(c);
    let any = false;
    for await (const e of scanHeads(this.env.db, range, this.env.path)) {
      any = true;
      if (!compareOne(c, e.record)) return false;
    }
    if (any) return true;
    // A value cannot be compared with a key that does not exist (nil and "" are one in gRPC).
    if (c.target === 'value') return false;
    return compareOne(c, { value: '', createRevision: 0, modRevision: 0, version: 0, lease: 0 });
  }

  /** What etcd checks before it runs anything: leases, ignore_* on missing keys, revisions. */
  private async check(path: Path): Promise<void> {
    for (const o of path.ops) {
      if (o.op === 'put') {
        if (o.lease !== 0 && !o.ignoreLease && !this.env.hasLease(o.lease)) {
          throw new TxnFailure('leaseNotFound');
        }
        if ((o.ignoreValue || o.ignoreLease) && (await this.env.get(o.key)) === undefined) {
          throw new TxnFailure('keyNotFound');
        }
      } else if (o.op === 'range' && o.revision > 0) {
        checkRevision(o.revision, this.env.revision, this.env.compactRevision);
      } else if (o.op === 'txn') {
        await this.check(path.nested.get(o)!);
      }
    }
  }

  // ---- the requests, in order ----

  private async execute(path: Path): Promise<ResponseOp[]> {
    const out: ResponseOp[] = [];
    for (const o of path.ops) {
      switch (o.op) {
        case 'range':
          out.push(await runRange(this.rangeSource(o.revision, toByteRange(o)), o));
          break;
        case 'put':
          out.push(await this.put(o));
          break;
        case 'deleteRange':
          out.push(await this.deleteRange(toByteRange(o), o.prevKv));
          break;
        case 'txn': {
          const p = path.nested.get(o)!;
          out.push({ op: 'txn', succeeded: p.succeeded, responses: await this.execute(p) });
          break;
        }
      }
    }
    return out;
  }

  private rangeSource(rev: number, range: ByteRange): AsyncIterable<RangeEntry> {
    if (rev === 0) return this.overlay(range);
    if (rev === this.env.revision) return scanHeads(this.env.db, range, this.env.path);
    return scanAt(this.env.db, range, rev, this.env.path);
  }

  /** The keys in `range` as the transaction has left them so far. */
  private async *overlay(range: ByteRange): AsyncGenerator<RangeEntry> {
    const mine = [...this.puts]
      .map(([key, record]) => ({ bytes: bytesOf(key), key, record }))
      .filter((e) => inRange(range, e.bytes))
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    let i = 0;
    for await (const e of scanHeads(this.env.db, range, this.env.path)) {
      while (i < mine.length && Buffer.compare(mine[i]!.bytes, e.bytes) < 0) yield mine[i++]!;
      if (i < mine.length && mine[i]!.bytes.equals(e.bytes)) {
        yield mine[i++]!;
        continue;
      }
      if (this.deleted.some((d) => inRange(d.range, e.bytes))) continue;
      yield e;
    }
    while (i < mine.length) yield mine[i++]!;
  }

  private async put(o: Extract<RequestOp, { op: 'put' }>): Promise<ResponseOp> {
    // Writes are disjoint: the key's state is the one before the transaction.
    const prev = await this.env.get(o.key);
    const record: KvRecord = {
      value: o.ignoreValue && prev !== undefined ? prev.value : o.value,
      createRevision: prev?.createRevision ?? this.main,
      modRevision: this.main,
      version: (prev?.version ?? 0) + 1,
      lease: o.ignoreLease && prev !== undefined ? prev.lease : o.lease,
    };
    if (prev === undefined) this.keyDelta++;
    this.puts.set(o.key, record);
    this.events.push({ key: o.key, main: this.main, sub: this.sub++, record });
    return o.prevKv && prev !== undefined
      ? { op: 'put', prevKv: toKv(o.key, prev) }
      : { op: 'put' };
  }

  private async deleteRange(range: ByteRange, prevKv: boolean): Promise<ResponseOp> {
    const prevKvs: KeyValue[] = [];
    let count = 0;
    for await (const e of scanHeads(this.env.db, range, this.env.path)) {
      if (this.deleted.some((d) => inRange(d.range, e.bytes))) continue;
      count++;
      if (prevKv) prevKvs.push(toKv(e.key, e.record));
    }
    if (count > 0) {
      this.deleted.push({ range, subStart: this.sub, count });
      this.sub += count;
      this.keyDelta -= count;
    }
    return { op: 'deleteRange', deleted: count, prevKvs };
  }
}

export function checkRevision(rev: number, current: number, compacted: number): void {
  if (rev > current) throw new KvRevisionError('futureRev', rev);
  if (rev < compacted) throw new KvRevisionError('compacted', rev);
}

function compareOne(c: Compare, r: KvRecord): boolean {
  let d: number;
  switch (c.target) {
    case 'value':
      // Byte strings compare bytewise, as etcd compares values.
      d = r.value < c.value ? -1 : r.value > c.value ? 1 : 0;
      break;
    case 'version':
      d = r.version - c.number;
      break;
    case 'create':
      d = r.createRevision - c.number;
      break;
    case 'mod':
      d = r.modRevision - c.number;
      break;
    case 'lease':
      d = r.lease - c.number;
      break;
  }
  switch (c.result) {
    case 'equal':
      return d === 0;
    case 'notEqual':
      return d !== 0;
    case 'greater':
      return d > 0;
    case 'less':
      return d < 0;
  }
}

/** Every request of a decided path, nested ones' included. */
function flatten(p: Path): RequestOp[] {
  const out: RequestOp[] = [];
  for (const o of p.ops) {
    if (o.op === 'txn') out.push(...flatten(p.nested.get(o)!));
    else out.push(o);
  }
  return out;
}
