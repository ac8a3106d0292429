// The transport's fast path for raftpb Messages: sized and encoded straight into a caller's
// buffer, and decoded from a range of one, for the common message shape. Everything else falls
// back to codec.ts (protobufjs), and the bytes and errors are identical either way (tests
// check both directions on valid, random, truncated and mutated input).
import { decodeMessage, encodeMessage, hasUnknowns } from './codec.js';
import { ErrCodec } from './errors.js';
import { raftpb as pb } from './pb/raftpb.js';
import {
  EMPTY_BYTES,
  EMPTY_ENTRIES,
  EMPTY_MESSAGES,
  type Entry,
  type Message,
  type MessageType,
} from './raftpb.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

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
