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
import type {
  ConfChange,
  ConfChangeV2,
  ConfState,
  Entry,
  HardState,
  Message,
  Snapshot,
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

/** @internal Unknown fields or enum values (which protobufjs parks in `$unknowns`) are refused: an
 * unknown MessageType must never be read as MsgHup, its zero value. */
export function hasUnknowns(v: unknown): boolean {
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
