// Bytes <-> raftpb values, with the static code protobufjs generates from proto/raftpb.proto
// (src/pb/raftpb.js, made by scripts/gen-proto.mjs). Two things are ours:
// - every uint64 is read straight into a JS number and rejected above Number.MAX_SAFE_INTEGER
//   (protobufjs would build a Long object, or silently round);
// - any failure (truncated buffer, bad wire type, unknown enum value, too-deep nesting) is an
//   ErrCodec, and nothing half-decoded is returned.
// Decoded byte fields (entry data, context, snapshot data) are views into the input buffer.
import protobuf from 'protobufjs/minimal.js';
import { ErrCodec } from './errors.js';
import { raftpb as pb } from './pb/raftpb.js';
import {
  type ConfChange,
  type ConfChangeV2,
  type ConfState,
  EMPTY_BYTES,
  EMPTY_ENTRIES,
  EMPTY_MESSAGES,
  type Entry,
  type HardState,
  type Message,
  type MessageType,
  type Snapshot,
} from './raftpb.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

class SafeReader extends protobuf.Reader {
  constructor(buf: Uint8Array) {
    super(buf);
    // Keep unknown fields and enum values, so rejectUnknowns sees them.
    this.discardUnknown = false;
  }

  override uint64(): never {
    // Typed `never` only to satisfy protobufjs' Long-typed signature; returns a number.
    const buf = this.buf;
    let pos = this.pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= this.len) throw new ErrCodec(`truncated varint at offset ${pos}`);
      const b = buf[pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.pos = pos;
        // Once past 2^53 the sum can only round upwards, so this check is exact.
        if (value > MAX_SAFE) {
          throw new ErrCodec(`uint64 at offset ${pos} exceeds Number.MAX_SAFE_INTEGER`);
        }
        return value as never;
      }
      scale *= 128;
    }
    throw new ErrCodec(`varint longer than 10 bytes at offset ${pos}`);
  }
}

class SafeWriter extends protobuf.Writer {
  override uint64(value: number): this {
    if (value >>> 0 === value) return this.uint32(value) as this;
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ErrCodec(`cannot encode ${value} as uint64: not a safe non-negative integer`);
    }
    return super.uint64(value) as this;
  }
}

// One writer reused by every encode call: encoding is synchronous and never re-entered.
const writer = new SafeWriter();

type Encoder<T> = (value: T, w: protobuf.Writer) => protobuf.Writer;
type Decoder = (r: protobuf.Reader) => unknown;

function encodeWith<T>(encode: Encoder<T>, value: T): Uint8Array {
  writer.reset();
  writer.pos = 0;
  try {
    encode(value, writer);
  } catch (err) {
    writer.pos = 0;
    if (err instanceof ErrCodec) throw err;
    throw new ErrCodec(`encode failed: ${(err as Error).message}`);
  }
  return writer.finish();
}

function decodeWith<T>(
  decode: Decoder,
  bytes: Uint8Array,
  what: string,
  check: (v: T) => boolean = (v) => {
    rejectUnknowns(v, what);
    return false;
  },
): T {
  let value: unknown;
  try {
    value = decode(new SafeReader(bytes));
  } catch (err) {
    if (err instanceof ErrCodec) throw new ErrCodec(`${what}: ${err.message}`);
    throw new ErrCodec(`${what}: ${(err as Error).message}`);
  }
  if (check(value as T)) throw new ErrCodec(`${what}: unknown field or enum value`);
  return value as T;
}

/** Unknown fields or enum values (which protobufjs parks in `$unknowns`) are refused: an
 * unknown MessageType must never be read as MsgHup, its zero value. */
function hasUnknowns(v: unknown): boolean {
  return (v as { $unknowns?: unknown }).$unknowns !== undefined;
}

/** The generic check, for the cold types: walks every nested object. */
function rejectUnknowns(v: unknown, what: string): void {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return;
  if (hasUnknowns(v)) throw new ErrCodec(`${what}: unknown field or enum value`);
  for (const key of Object.keys(v)) {
    const f = (v as Record<string, unknown>)[key];
    if (Array.isArray(f)) {
      for (const x of f) rejectUnknowns(x, what);
    } else if (f !== null && typeof f === 'object') {
      rejectUnknowns(f, what);
    }
  }
}

/** The hot-path check for messages: visits only the nested messages a Message can hold. */
function messageHasUnknowns(m: Message): boolean {
  if (hasUnknowns(m)) return true;
  const ents = m.entries;
  for (let i = 0; i < ents.length; i++) if (hasUnknowns(ents[i])) return true;
  const s = m.snapshot;
  if (s !== null) {
    if (hasUnknowns(s)) return true;
    if (s.metadata !== null && (hasUnknowns(s.metadata) || hasUnknowns(s.metadata.confState))) {
      return true;
    }
  }
  const rs = m.responses;
  for (let i = 0; i < rs.length; i++) if (messageHasUnknowns(rs[i]!)) return true;
  return false;
}

// protobufjs' encoders accept our plain objects: they match the generated interfaces.
const asEncoder = <T>(e: (m: never, w?: protobuf.Writer) => protobuf.Writer): Encoder<T> =>
  e as unknown as Encoder<T>;

const encMessage = asEncoder<Message>(pb.Message.encode);
const encEntry = asEncoder<Entry>(pb.Entry.encode);
const encHardState = asEncoder<HardState>(pb.HardState.encode);
const encConfState = asEncoder<ConfState>(pb.ConfState.encode);
const encSnapshot = asEncoder<Snapshot>(pb.Snapshot.encode);
const encConfChange = asEncoder<ConfChange>(pb.ConfChange.encode);
const encConfChangeV2 = asEncoder<ConfChangeV2>(pb.ConfChangeV2.encode);

export const encodeMessage = (m: Message): Uint8Array => encodeWith(encMessage, m);
export const encodeEntry = (e: Entry): Uint8Array => encodeWith(encEntry, e);
export const encodeHardState = (h: HardState): Uint8Array => encodeWith(encHardState, h);
export const encodeConfState = (c: ConfState): Uint8Array => encodeWith(encConfState, c);
export const encodeSnapshot = (s: Snapshot): Uint8Array => encodeWith(encSnapshot, s);
export const encodeConfChange = (c: ConfChange): Uint8Array => encodeWith(encConfChange, c);
export const encodeConfChangeV2 = (c: ConfChangeV2): Uint8Array => encodeWith(encConfChangeV2, c);

export function decodeMessage(bytes: Uint8Array): Message {
  const m = decodeWith<Message>((r) => pb.Message.decode(r), bytes, 'Message', messageHasUnknowns);
  if (m.snapshot !== null) fillSnapshot(m.snapshot);
  return m;
}

export const decodeEntry = (bytes: Uint8Array): Entry =>
  decodeWith<Entry>((r) => pb.Entry.decode(r), bytes, 'Entry');
export const decodeHardState = (bytes: Uint8Array): HardState =>
  decodeWith<HardState>((r) => pb.HardState.decode(r), bytes, 'HardState');
export const decodeConfState = (bytes: Uint8Array): ConfState =>
  decodeWith<ConfState>((r) => pb.ConfState.decode(r), bytes, 'ConfState');
export const decodeConfChange = (bytes: Uint8Array): ConfChange =>
  decodeWith<ConfChange>((r) => pb.ConfChange.decode(r), bytes, 'ConfChange');
export const decodeConfChangeV2 = (bytes: Uint8Array): ConfChangeV2 =>
  decodeWith<ConfChangeV2>((r) => pb.ConfChangeV2.decode(r), bytes, 'ConfChangeV2');

export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  return fillSnapshot(decodeWith<Snapshot>((r) => pb.Snapshot.decode(r), bytes, 'Snapshot'));
}

/** Absent nested messages decode as null; a Snapshot always has metadata and a ConfState. */
function fillSnapshot(s: Snapshot): Snapshot {
  if (s.metadata === null) s.metadata = pb.SnapshotMetadata.create() as never;
  if (s.metadata.confState === null) s.metadata.confState = pb.ConfState.create() as never;
  return s;
}

// ---- Messages written straight into a caller's buffer ------------------------------------
// encodeMessage allocates a result per call; a transport framing thousands of small messages
// per write wants the bytes where the frame goes. The common shape (plain objects, no
// snapshot, no responses, nothing unknown, fields of the declared types) is sized and written
// here by hand, byte for byte what protobufjs writes (same field order; a field is written when
// it is not null, and on a plain object every field found is own, as protobufjs also requires);
// any other message goes through encodeMessage and is copied.

// The helpers are kept small so that V8 inlines them into the per-message loops; the rare
// cases (big values, errors) live in separate functions.

/** Length of a uint64 field's varint; throws ErrCodec as SafeWriter does. */
function u64Size(value: number): number {
  if (value >>> 0 === value) return value < 0x80 ? 1 : value < 0x4000 ? 2 : varintSize(value);
  return bigU64Size(value);
}

function bigU64Size(value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ErrCodec(`cannot encode ${value} as uint64: not a safe non-negative integer`);
  }
  return varintSize(value);
}

function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  if (v < 0x800000000) return 5;
  if (v < 0x40000000000) return 6;
  if (v < 0x2000000000000) return 7;
  return 8; // up to 2^56, beyond MAX_SAFE_INTEGER
}

function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  if (v < 0x80) {
    buf[pos] = v;
    return pos + 1;
  }
  return writeLongVarint(buf, pos, v);
}

function writeLongVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v > 0x7fffffff) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

const OBJECT_PROTO = Object.prototype;

/** A plain object: every field it has is own (protobufjs writes own fields only). */
function isPlain(o: unknown): boolean {
  return o !== null && typeof o === 'object' && Object.getPrototypeOf(o) === OBJECT_PROTO;
}

/** An enum protobufjs writes as a plain varint (int32 of a negative one takes 10 bytes). */
function isPlainEnum(v: unknown): boolean {
  return v == null || (typeof v === 'number' && (v | 0) >= 0);
}

function isPlainBytes(v: unknown): boolean {
  return v == null || v instanceof Uint8Array;
}

function isSimpleMessage(m: Message): boolean {
  if (!isPlain(m) || m.snapshot != null || hasUnknowns(m)) return false;
  if (!isPlainEnum(m.type) || !isPlainBytes(m.context)) return false;
  if (m.responses != null && m.responses.length > 0) return false;
  const ents = m.entries;
  if (ents != null) {
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (!isPlain(e) || hasUnknowns(e) || !isPlainEnum(e.type) || !isPlainBytes(e.data)) {
        return false;
      }
    }
  }
  return true;
}

const u64Field = (v: number | null | undefined): number => (v == null ? 0 : 1 + u64Size(v));
const enumField = (v: number | null | undefined): number => (v == null ? 0 : 1 + varintSize(v | 0));
const bytesField = (v: Uint8Array | null | undefined): number =>
  v == null ? 0 : 1 + varintSize(v.length) + v.length;

function entrySize(e: Entry): number {
  return enumField(e.type) + u64Field(e.term) + u64Field(e.index) + bytesField(e.data);
}

function simpleMessageSize(m: Message): number {
  let n =
    enumField(m.type) +
    u64Field(m.to) +
    u64Field(m.from) +
    u64Field(m.term) +
    u64Field(m.logTerm) +
    u64Field(m.index);
  const ents = m.entries;
  if (ents != null) {
    for (let i = 0; i < ents.length; i++) {
      const s = entrySize(ents[i]!);
      n += 1 + varintSize(s) + s;
    }
  }
  n += u64Field(m.commit);
  if (m.reject != null) n += 2;
  return n + u64Field(m.rejectHint) + bytesField(m.context) + u64Field(m.vote);
}

// Writers for a message already sized (so every value is known valid).
function putVarint(buf: Uint8Array, pos: number, tag: number, v: number | null | undefined) {
  if (v == null) return pos;
  buf[pos] = tag;
  return writeVarint(buf, pos + 1, v);
}

function putBytes(buf: Uint8Array, pos: number, tag: number, b: Uint8Array | null | undefined) {
  if (b == null) return pos;
  buf[pos] = tag;
  pos = writeVarint(buf, pos + 1, b.length);
  if (b.length <= 16) {
    for (let i = 0; i < b.length; i++) buf[pos + i] = b[i]!;
  } else {
    buf.set(b, pos);
  }
  return pos + b.length;
}

function writeSimpleMessage(m: Message, buf: Uint8Array, pos: number): number {
  pos = putVarint(buf, pos, 8, m.type == null ? null : m.type | 0);
  pos = putVarint(buf, pos, 16, m.to);
  pos = putVarint(buf, pos, 24, m.from);
  pos = putVarint(buf, pos, 32, m.term);
  pos = putVarint(buf, pos, 40, m.logTerm);
  pos = putVarint(buf, pos, 48, m.index);
  const ents = m.entries;
  if (ents != null) {
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      buf[pos] = 58;
      pos = writeVarint(buf, pos + 1, entrySize(e));
      pos = putVarint(buf, pos, 8, e.type == null ? null : e.type | 0);
      pos = putVarint(buf, pos, 16, e.term);
      pos = putVarint(buf, pos, 24, e.index);
      pos = putBytes(buf, pos, 34, e.data);
    }
  }
  pos = putVarint(buf, pos, 64, m.commit);
  if (m.reject != null) {
    buf[pos++] = 80;
    buf[pos++] = m.reject ? 1 : 0;
  }
  pos = putVarint(buf, pos, 88, m.rejectHint);
  pos = putBytes(buf, pos, 98, m.context);
  return putVarint(buf, pos, 104, m.vote);
}

/** The length of `encodeMessage(m)`, without building it for the common message shapes.
 * Throws ErrCodec where encodeMessage would. */
export function encodedMessageSize(m: Message): number {
  return isSimpleMessage(m) ? simpleMessageSize(m) : encodeMessage(m).length;
}

/**
 * Writes the bytes of `encodeMessage(m)` into `buf` at `offset` and returns the offset after
 * them. `buf` must have `encodedMessageSize(m)` bytes of room there; call that first, since it
 * does the validation (an ErrCodec from it means nothing is written).
 */
export function encodeMessageInto(m: Message, buf: Uint8Array, offset: number): number {
  if (isSimpleMessage(m)) return writeSimpleMessage(m, buf, offset);
  const bytes = encodeMessage(m);
  buf.set(bytes, offset);
  return offset + bytes.length;
}

// ---- Messages read from a range of a caller's buffer --------------------------------------
// decodeMessage builds a protobufjs Reader and class instances per call. For the common
// shape (fields 1-8 and 10-13, entries with fields 1-4, canonical one-byte tags) this reads the
// range by hand into plain objects of newMessage's shape; anything else (a snapshot, responses,
// an unknown field or enum value, a wrong wire type, a truncation, an oversized or unusual
// varint) stops it, and decodeMessage reads the same bytes instead, so what is accepted and what
// is refused (ErrCodec) is exactly what decodeMessage does.

/** Message type values protobufjs accepts (MessageType has no gaps, but ask it anyway). */
const MESSAGE_TYPE_OK: boolean[] = [];
for (let v = 0; v < 64; v++) MESSAGE_TYPE_OK.push(pb.MessageType[v as never] !== undefined);
const ENTRY_TYPE_OK: boolean[] = [];
for (let v = 0; v < 8; v++) ENTRY_TYPE_OK.push(pb.EntryType[v as never] !== undefined);

/** The fast reader's position (decoding is synchronous and never re-entered). */
let rpos = 0;
/** Bytes the last readVarint took. */
let rlen = 0;

/** A varint of at most 8 bytes within `end`, or -1 (longer, truncated, above 2^53 - 1). */
function readVarint(buf: Uint8Array, end: number): number {
  const pos = rpos;
  if (pos < end) {
    const b = buf[pos]!;
    if (b < 0x80) {
      rpos = pos + 1;
      rlen = 1;
      return b;
    }
  }
  return readLongVarint(buf, end);
}

function readLongVarint(buf: Uint8Array, end: number): number {
  let pos = rpos;
  if (pos >= end) return -1;
  let b = buf[pos++]!;
  let value = b & 0x7f;
  let scale = 128;
  for (let i = 1; i < 8; i++) {
    if (pos >= end) return -1;
    b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      rlen = i + 1;
      rpos = pos;
      return value > MAX_SAFE ? -1 : value;
    }
    scale *= 128;
  }
  return -1;
}

/** A length, enum or bool: at most 4 bytes, read alike by protobufjs' uint32. */
function readSmall(buf: Uint8Array, end: number): number {
  const v = readVarint(buf, end);
  return rlen > 4 ? -1 : v;
}

function view(buf: Uint8Array, start: number, len: number): Uint8Array {
  return len === 0 ? EMPTY_BYTES : new Uint8Array(buf.buffer, buf.byteOffset + start, len);
}

function readEntry(buf: Uint8Array, end: number): Entry | null {
  let term = 0;
  let index = 0;
  let type = 0;
  let data = EMPTY_BYTES;
  while (rpos < end) {
    const tag = buf[rpos++]!;
    let v: number;
    switch (tag) {
      case 8:
        v = readSmall(buf, end);
        if (v < 0 || v >= ENTRY_TYPE_OK.length || !ENTRY_TYPE_OK[v]) return null;
        type = v;
        break;
      case 16:
        term = v = readVarint(buf, end);
        break;
      case 24:
        index = v = readVarint(buf, end);
        break;
      case 34: {
        v = readSmall(buf, end);
        if (v < 0 || rpos + v > end) return null;
        data = view(buf, rpos, v);
        rpos += v;
        break;
      }
      default:
        return null;
    }
    if (v < 0) return null;
  }
  return { term, index, type, data };
}

function readMessage(buf: Uint8Array, start: number, end: number): Message | null {
  rpos = start;
  let type = 0;
  let to = 0;
  let from = 0;
  let term = 0;
  let logTerm = 0;
  let index = 0;
  let entries = EMPTY_ENTRIES;
  let commit = 0;
  let vote = 0;
  let reject = false;
  let rejectHint = 0;
  let context = EMPTY_BYTES;
  while (rpos < end) {
    const tag = buf[rpos++]!;
    let v: number;
    switch (tag) {
      case 8:
        v = readSmall(buf, end);
        if (v < 0 || v >= MESSAGE_TYPE_OK.length || !MESSAGE_TYPE_OK[v]) return null;
        type = v;
        break;
      case 16:
        to = v = readVarint(buf, end);
        break;
      case 24:
        from = v = readVarint(buf, end);
        break;
      case 32:
        term = v = readVarint(buf, end);
        break;
      case 40:
        logTerm = v = readVarint(buf, end);
        break;
      case 48:
        index = v = readVarint(buf, end);
        break;
      case 58: {
        v = readSmall(buf, end);
        if (v < 0 || rpos + v > end) return null;
        const e = readEntry(buf, rpos + v);
        if (e === null) return null;
        if (entries === EMPTY_ENTRIES) entries = [e];
        else entries.push(e);
        break;
      }
      case 64:
        commit = v = readVarint(buf, end);
        break;
      case 80:
        v = readSmall(buf, end);
        reject = v !== 0;
        break;
      case 88:
        rejectHint = v = readVarint(buf, end);
        break;
      case 98:
        v = readSmall(buf, end);
        if (v < 0 || rpos + v > end) return null;
        context = view(buf, rpos, v);
        rpos += v;
        break;
      case 104:
        vote = v = readVarint(buf, end);
        break;
      default:
        return null;
    }
    if (v < 0) return null;
  }
  return {
    type: type as MessageType,
    to,
    from,
    term,
    logTerm,
    index,
    entries,
    commit,
    vote,
    snapshot: null,
    reject,
    rejectHint,
    context,
    responses: EMPTY_MESSAGES,
  };
}

/**
 * Decodes the Message in `bytes[start, end)` without copying or slicing: what
 * `decodeMessage(bytes.subarray(start, end))` decodes, and refused (ErrCodec) exactly when that
 * is. Byte fields are plain Uint8Array views of `bytes` (even when it is a Buffer); the common
 * message shape comes back as a plain object of newMessage's shape.
 */
export function decodeMessageAt(bytes: Uint8Array, start: number, end: number): Message {
  return (
    readMessage(bytes, start, end) ??
    decodeMessage(new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start))
  );
}
