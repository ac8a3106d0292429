// The snapshot stream of the on-disk store: what a follower needs to become this store at one
// applied index, written and read in chunks so that neither side holds it whole.
//
//   "TSKV" u8 format=5  varint appliedIndex  varint revision  varint compactRevision
//   records, keys first in ascending byte order, then the history in revision order, then
//   members by ascending id, then leases by ascending id:
//     u8 1  varint keyLen key  varint createRevision modRevision version lease
//           varint valueLen value
//     u8 3  varint main  varint sub  varint len event (history.ts's "r" record value)
//     u8 2  varint id  varint len clientUrl  varint len peerUrl
//     u8 4  varint id  varint ttl                       (format 4: leases)
//   u8 0  varint keyCount  varint memberCount  varint eventCount  varint leaseCount
//   u32be CRC-32 of every byte before it
//
// Decoding is strict: any truncation, unknown tag, out-of-order key, revision above the
// stream's, member URL that is not UTF-8, count or checksum mismatch, or byte after the end is a
// KvSnapshotError. raft-node checksums chunks on the wire as well; the CRC here also covers
// the stream's own assembly and storage.
import { ByteWriter, bytesOf } from './bytes.js';
import { decodeEvent, parseRevKey, revKey } from './history.js';
import { crc32 } from 'node:zlib';
import { KvSnapshotError } from './errors.js';
import { type LeaseRecord, type MemberRecord, kvRecordHead, readVarint } from './records.js';

const MAGIC = Buffer.from('TSKV', 'latin1');
/**
 * 5: keys and values may be any bytes. 4 held only UTF-8 and is otherwise the same, so a
 * format 4 stream is read as well; a version that reads only 4 refuses format 5 by its number.
 */
export const SNAPSHOT_FORMAT = 5;
const READABLE_FORMATS = [4, 5];
const TAG_END = 0;
const TAG_KV = 1;
const TAG_MEMBER = 2;
const TAG_EVENT = 3;
const TAG_LEASE = 4;
/** Chunks are cut once they reach this size (a record is never split across writers). */
export const SNAPSHOT_CHUNK_BYTES = 256 << 10;
/** The largest key, value or URL a stream may declare; more is refused as malformed. */
export const MAX_FIELD_BYTES = 64 << 20;

export interface SnapshotHeader {
  appliedIndex: number;
  revision: number;
  compactRevision: number;
}

/** Builds the stream's chunks from the store's raw records. */
export class SnapshotEncoder {
  private w: ByteWriter;
  private crc = 0;
  private keys = 0;
  private members = 0;
  private events = 0;
  private leases = 0;

  constructor(header: SnapshotHeader) {
    this.w = new ByteWriter(SNAPSHOT_CHUNK_BYTES + 1024);
    for (const b of MAGIC) this.w.u8(b);
    this.w
      .u8(SNAPSHOT_FORMAT)
      .uvarint(header.appliedIndex)
      .uvarint(header.revision)
      .uvarint(header.compactRevision);
  }

  /** A "k" record as stored: its LevelDB key (prefix byte included) and value. */
  kv(dbKey: Uint8Array, dbValue: Uint8Array, where: string): void {
    const head = kvRecordHead(dbValue);
    if (head === null) throw new KvSnapshotError(`a key record in ${where} does not decode`);
    this.w
      .u8(TAG_KV)
      .bytes(dbKey.subarray(1))
      .uvarint(head.createRevision)
      .uvarint(head.modRevision)
      .uvarint(head.version)
      .uvarint(head.lease)
      .bytes(dbValue.subarray(head.valueAt));
    this.keys++;
  }

  /** An "r" record as stored. */
  event(dbKey: Uint8Array, dbValue: Uint8Array): void {
    const { main, sub } = parseRevKey(dbKey);
    this.w.u8(TAG_EVENT).uvarint(main).uvarint(sub).bytes(dbValue);
    this.events++;
  }

  member(m: MemberRecord): void {
    this.w.u8(TAG_MEMBER).uvarint(m.id).str(m.clientUrl).str(m.peerUrl);
    this.members++;
  }

  lease(l: LeaseRecord): void {
    this.w.u8(TAG_LEASE).uvarint(l.id).uvarint(l.ttl);
    this.leases++;
  }

  /** A full chunk, or null while the current one is smaller than SNAPSHOT_CHUNK_BYTES. */
  take(): Uint8Array | null {
    if (this.w.length < SNAPSHOT_CHUNK_BYTES) return null;
    return this.cut();
  }

  /** The last chunk: what is left, the counts and the checksum. */
  end(): Uint8Array {
    this.w
      .u8(TAG_END)
      .uvarint(this.keys)
      .uvarint(this.members)
      .uvarint(this.events)
      .uvarint(this.leases);
    const body = this.cut();
    const out = Buffer.allocUnsafe(body.length + 4);
    out.set(body);
    out.writeUInt32BE(this.crc, body.length);
    return out;
  }

  private cut(): Uint8Array {
    const chunk = this.w.finishView();
    this.crc = crc32(chunk, this.crc);
    this.w = new ByteWriter(SNAPSHOT_CHUNK_BYTES + 1024);
    return chunk;
  }
}

export interface SnapshotKv {
  /** The key's bytes. */
  key: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: number;
  /** The value's bytes. */
  value: Uint8Array;
}

/** A history record: its revision, key (bytes), type, and the "r" record's value. */
export interface SnapshotEvent {
  main: number;
  sub: number;
  key: Uint8Array;
  type: number;
  value: Uint8Array;
}

export interface SnapshotSink {
  kv(r: SnapshotKv): void;
  event(e: SnapshotEvent): void;
  member(m: MemberRecord): void;
  lease(l: LeaseRecord): void;
}

export interface SnapshotSummary extends SnapshotHeader {
  keyCount: number;
  memberCount: number;
  eventCount: number;
  leaseCount: number;
}

const EMPTY = Buffer.alloc(0);
const urlDecoder = new TextDecoder('utf-8', { fatal: true });

/** Thrown inside the parser when the buffered bytes end mid-record. */
const INCOMPLETE = Symbol('incomplete');

/**
 * Reads a stream chunk by chunk and hands each record to a sink as soon as it is complete
 * and checked. `finish()` says whether the stream ended where it should.
 */
export class SnapshotDecoder {
  private header: SnapshotHeader | null = null;
  private summary: SnapshotSummary | null = null;
  /** Bytes not yet parsed: `buf[pos..]` then `pending`. */
  private buf: Buffer = EMPTY;
  private pos = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes (counted from buf[0]) the record being parsed needs at least. */
  private needed = 0;
  private crc = 0;
  private keys = 0;
  private members = 0;
  private events = 0;
  private lastEvent: { main: number; sub: number } | null = null;
  private lastKey: Buffer | null = null;
  private lastMember = 0;
  private leases = 0;
  private lastLease = 0;

  constructor(private readonly sink: SnapshotSink) {}

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.summary !== null) throw new KvSnapshotError('bytes after the end record');
    this.pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.pendingBytes += chunk.length;
    if (this.buf.length + this.pendingBytes < this.needed) return; // still mid-record
    this.buf = Buffer.concat([this.buf.subarray(this.pos), ...this.pending]);
    this.pos = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.parse();
  }

  /** The stream's header and counts; throws unless the end record was read. */
  finish(): SnapshotSummary {
    if (this.summary === null) {
      throw new KvSnapshotError(
        this.header === null ? 'truncated header' : 'truncated: no end record',
      );
    }
    return this.summary;
  }

  private parse(): void {
    for (;;) {
      const start = this.pos;
      try {
        if (this.header === null) this.parseHeader();
        else this.parseRecord();
      } catch (err) {
        if (err !== INCOMPLETE) throw err;
        this.pos = start;
        return;
      }
      this.needed = 0;
      if (this.summary !== null) {
        if (this.pos !== this.buf.length) throw new KvSnapshotError('bytes after the end record');
        return;
      }
    }
  }

  private parseHeader(): void {
    const start = this.pos;
    const magic = this.take(MAGIC.length);
    if (!magic.equals(MAGIC)) throw new KvSnapshotError('not a kv snapshot (bad magic)');
    const format = this.take(1)[0]!;
    if (!READABLE_FORMATS.includes(format)) {
      throw new KvSnapshotError(
        `unknown snapshot format ${format} (this version reads ${READABLE_FORMATS.join(' and ')})`,
      );
    }
    const appliedIndex = this.varint();
    const revision = this.varint();
    const compactRevision = this.varint();
    if (compactRevision > revision) {
      throw new KvSnapshotError(`compacted revision ${compactRevision} above ${revision}`);
    }
    this.crc = crc32(this.buf.subarray(start, this.pos), this.crc);
    this.header = { appliedIndex, revision, compactRevision };
  }

  /** Parses one record (the end record sets `summary`). */
  private parseRecord(): void {
    const start = this.pos;
    const tag = this.take(1)[0]!;
    if (tag === TAG_KV) {
      if (this.members > 0 || this.events > 0) {
        throw new KvSnapshotError('a key after the history or member records');
      }
      const key = this.lengthPrefixed();
      const createRevision = this.varint();
      const modRevision = this.varint();
      const version = this.varint();
      const lease = this.varint();
      const value = this.lengthPrefixed();
      this.checkKv(key, createRevision, modRevision, version);
      this.crc = crc32(this.buf.subarray(start, this.pos), this.crc);
      this.keys++;
      this.lastKey = Buffer.from(key); // a copy: `key` pins the whole chunk
      this.sink.kv({ key, createRevision, modRevision, version, lease, value });
      return;
    }
    if (tag === TAG_EVENT) {
      if (this.members > 0) throw new KvSnapshotError('a history record after the members');
      const main = this.varint();
      const sub = this.varint();
      const value = this.lengthPrefixed();
      const last = this.lastEvent;
      if (main < 1 || main > this.header!.revision) {
        throw new KvSnapshotError(
          `a history record at revision ${main} (store revision ${this.header!.revision})`,
        );
      }
      if (last !== null && (main < last.main || (main === last.main && sub <= last.sub))) {
        throw new KvSnapshotError('history records are not in revision order');
      }
      let ev: ReturnType<typeof decodeEvent>;
      try {
        ev = decodeEvent(revKey(main, sub), value, 'snapshot');
      } catch {
        throw new KvSnapshotError(`the history record of revision ${main}.${sub} does not decode`);
      }
      const key = bytesOf(ev.key);
      if (key.length === 0) throw new KvSnapshotError('a history record with an empty key');
      this.crc = crc32(this.buf.subarray(start, this.pos), this.crc);
      this.events++;
      this.lastEvent = { main, sub };
      this.sink.event({ main, sub, key, type: ev.record === null ? 2 : 1, value });
      return;
    }
    if (tag === TAG_MEMBER) {
      const id = this.varint();
      const clientUrl = this.url();
      const peerUrl = this.url();
      if (this.leases > 0) throw new KvSnapshotError('a member record after the leases');
      if (id < 1 || id <= this.lastMember) {
        throw new KvSnapshotError(`member ${id} out of order (after ${this.lastMember})`);
      }
      this.crc = crc32(this.buf.subarray(start, this.pos), this.crc);
      this.members++;
      this.lastMember = id;
      this.sink.member({ id, clientUrl, peerUrl });
      return;
    }
    if (tag === TAG_LEASE) {
      const id = this.varint();
      const ttl = this.varint();
      if (id < 1 || id <= this.lastLease) {
        throw new KvSnapshotError(`lease ${id} out of order (after ${this.lastLease})`);
      }
      this.crc = crc32(this.buf.subarray(start, this.pos), this.crc);
      this.leases++;
      this.lastLease = id;
      this.sink.lease({ id, ttl });
      return;
    }
    if (tag === TAG_END) {
      const keyCount = this.varint();
      const memberCount = this.varint();
      const eventCount = this.varint();
      const leaseCount = this.varint();
      const crc = crc32(this.buf.subarray(start, this.pos), this.crc);
      const stored = this.take(4).readUInt32BE(0);
      if (
        keyCount !== this.keys ||
        memberCount !== this.members ||
        eventCount !== this.events ||
        leaseCount !== this.leases
      ) {
        throw new KvSnapshotError(
          `counts do not match: the end record says ${keyCount} keys, ${memberCount} members and ${eventCount} history records, the stream held ${this.keys}, ${this.members} and ${this.events} (leases: ${leaseCount} said, ${this.leases} held)`,
        );
      }
      if (crc !== stored) throw new KvSnapshotError('checksum mismatch');
      this.summary = { ...this.header!, keyCount, memberCount, eventCount, leaseCount };
      return;
    }
    throw new KvSnapshotError(`unknown record tag ${tag}`);
  }

  private checkKv(key: Buffer, create: number, mod: number, version: number): void {
    const revision = this.header!.revision;
    if (key.length === 0) throw new KvSnapshotError('an empty key');
    if (this.lastKey !== null && Buffer.compare(this.lastKey, key) >= 0) {
      throw new KvSnapshotError('keys are not in ascending order');
    }
    if (!(create >= 1 && create <= mod && mod <= revision && version >= 1)) {
      throw new KvSnapshotError(
        `bad revisions create=${create} mod=${mod} version=${version} (store revision ${revision})`,
      );
    }
  }

  private take(n: number): Buffer {
    if (this.pos + n > this.buf.length) {
      this.needed = this.pos + n;
      throw INCOMPLETE;
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private varint(): number {
    const r = readVarint(this.buf, this.pos, this.buf.length);
    if (r === null) {
      this.needed = this.buf.length + 1;
      throw INCOMPLETE;
    }
    if (!Number.isSafeInteger(r[0])) throw new KvSnapshotError('a varint above 2^53');
    this.pos = r[1];
    return r[0];
  }

  private lengthPrefixed(): Buffer {
    const n = this.varint();
    if (n > MAX_FIELD_BYTES)
      throw new KvSnapshotError(`a field of ${n} bytes (limit ${MAX_FIELD_BYTES})`);
    return this.take(n);
  }

  private url(): string {
    try {
      return urlDecoder.decode(this.lengthPrefixed());
    } catch (err) {
      if (err === INCOMPLETE || err instanceof KvSnapshotError) throw err;
      throw new KvSnapshotError('a member URL is not UTF-8');
    }
  }
}
