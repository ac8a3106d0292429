import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfChangeTransition,
  ConfChangeType,
  EntryType,
  ErrCodec,
  MessageType,
  decodeConfChange,
  decodeConfChangeV2,
  decodeConfState,
  decodeEntry,
  decodeHardState,
  decodeMessage,
  decodeMessageAt,
  decodeSnapshot,
  encodeConfChange,
  encodeConfChangeV2,
  encodeConfState,
  encodeEntry,
  encodeHardState,
  encodeMessage,
  encodeMessageInto,
  encodeSnapshot,
  encodedMessageSize,
  newMessage,
} from '../src/index.js';

const u64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const bytes = fc.uint8Array({ maxLength: 64 });
const entry = fc.record({
  term: u64,
  index: u64,
  type: fc.constantFrom(
    EntryType.EntryNormal,
    EntryType.EntryConfChange,
    EntryType.EntryConfChangeV2,
  ),
  data: bytes,
});
const confState = fc.record({
  voters: fc.array(u64, { maxLength: 5 }),
  learners: fc.array(u64, { maxLength: 5 }),
  votersOutgoing: fc.array(u64, { maxLength: 5 }),
  learnersNext: fc.array(u64, { maxLength: 5 }),
  autoLeave: fc.boolean(),
});
const snapshot = fc.record({
  data: bytes,
  metadata: fc.record({ confState, index: u64, term: u64 }),
});
const messageType = fc.integer({ min: 0, max: 23 }) as fc.Arbitrary<MessageType>;
const baseMessage = fc.record({
  type: messageType,
  to: u64,
  from: u64,
  term: u64,
  logTerm: u64,
  index: u64,
  entries: fc.array(entry, { maxLength: 4 }),
  commit: u64,
  vote: u64,
  snapshot: fc.option(snapshot, { nil: null }),
  reject: fc.boolean(),
  rejectHint: u64,
  context: bytes,
});
const message = baseMessage.chain((m) =>
  fc
    .array(
      baseMessage.map((r) => ({ ...r, responses: [] })),
      { maxLength: 2 },
    )
    .map((responses) => ({ ...m, responses })),
);

/** Compares as plain data: decoded objects are protobufjs instances with prototype defaults. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k in v) {
      const f = (v as Record<string, unknown>)[k];
      if (typeof f !== 'function') out[k] = plain(f);
    }
    return out;
  }
  return v;
}

describe('codec round trips', () => {
  it('Message', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(plain(decodeMessage(encodeMessage(m)))).toEqual(plain(m));
      }),
    );
  });
  it('Entry, HardState, ConfState, Snapshot', () => {
    fc.assert(
      fc.property(entry, (e) => {
        expect(plain(decodeEntry(encodeEntry(e)))).toEqual(plain(e));
      }),
    );
    fc.assert(
      fc.property(fc.record({ term: u64, vote: u64, commit: u64 }), (h) => {
        expect(plain(decodeHardState(encodeHardState(h)))).toEqual(plain(h));
      }),
    );
    fc.assert(
      fc.property(confState, (c) => {
        expect(plain(decodeConfState(encodeConfState(c)))).toEqual(plain(c));
      }),
    );
    fc.assert(
      fc.property(snapshot, (s) => {
        expect(plain(decodeSnapshot(encodeSnapshot(s)))).toEqual(plain(s));
      }),
    );
  });
  it('ConfChange and ConfChangeV2', () => {
    const cc = {
      type: ConfChangeType.ConfChangeRemoveNode,
      nodeId: 7,
      context: new Uint8Array([1]),
      id: 3,
    };
    expect(plain(decodeConfChange(encodeConfChange(cc)))).toEqual(plain(cc));
    const v2 = {
      transition: ConfChangeTransition.ConfChangeTransitionJointExplicit,
      changes: [
        { type: ConfChangeType.ConfChangeAddNode, nodeId: 2 },
        { type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 9 },
      ],
      context: new Uint8Array(0),
    };
    expect(plain(decodeConfChangeV2(encodeConfChangeV2(v2)))).toEqual(plain(v2));
  });
  it('a decoded message with no snapshot has snapshot null and empty defaults', () => {
    const m = decodeMessage(encodeMessage(newMessage({ type: MessageType.MsgHeartbeat, to: 2 })));
    expect(m.snapshot).toBeNull();
    expect(m.entries).toHaveLength(0);
    expect(m.context).toHaveLength(0);
  });
});

describe('codec errors', () => {
  it('rejects a uint64 above Number.MAX_SAFE_INTEGER', () => {
    // field 1 (term) varint 2^53 = 0x20000000000000
    const big = new Uint8Array([0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
    expect(() => decodeHardState(big)).toThrow(ErrCodec);
    expect(() => decodeHardState(big)).toThrow(/MAX_SAFE_INTEGER/);
    const max = encodeHardState({ term: Number.MAX_SAFE_INTEGER, vote: 0, commit: 0 });
    expect(decodeHardState(max).term).toBe(Number.MAX_SAFE_INTEGER);
  });
  it('rejects encoding numbers that are not safe non-negative integers', () => {
    for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) {
      expect(() => encodeHardState({ term: bad, vote: 0, commit: 0 })).toThrow(ErrCodec);
    }
  });
  it('rejects every truncation of a valid message', () => {
    const m = newMessage({
      type: MessageType.MsgApp,
      to: 2,
      from: 1,
      term: 5,
      index: 9,
      entries: [{ term: 5, index: 10, type: EntryType.EntryNormal, data: new Uint8Array(20) }],
    });
    const b = encodeMessage(m);
    let rejected = 0;
    for (let n = 1; n < b.length; n++) {
      try {
        decodeMessage(b.subarray(0, n));
      } catch (err) {
        expect(err).toBeInstanceOf(ErrCodec);
        rejected++;
      }
    }
    // A cut exactly between two fields is a shorter valid message; any other cut is an error.
    expect(rejected).toBeGreaterThan(b.length / 2);
  });
  it('rejects an unknown message type instead of reading it as MsgHup', () => {
    expect(() => decodeMessage(new Uint8Array([0x08, 99]))).toThrow(ErrCodec);
  });
  it('never throws anything but ErrCodec on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          decodeMessage(b);
        } catch (err) {
          expect(err).toBeInstanceOf(ErrCodec);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('codec unknowns', () => {
  it('rejects an unknown field inside an entry of a message', () => {
    const e = encodeEntry({
      term: 1,
      index: 1,
      type: EntryType.EntryNormal,
      data: new Uint8Array(0),
    });
    const withUnknown = new Uint8Array([...e, 0x78, 0x01]); // field 15, varint 1
    const msg = new Uint8Array([0x3a, withUnknown.length, ...withUnknown]); // field 7 (entries)
    expect(() => decodeMessage(msg)).toThrow(ErrCodec);
    expect(() => decodeEntry(withUnknown)).toThrow(ErrCodec);
  });
});

describe('encodeMessageInto', () => {
  /** encodeMessageInto at an offset of a larger buffer, checked against encodeMessage. */
  function sameBytes(m: Parameters<typeof encodeMessage>[0]): void {
    const want = encodeMessage(m);
    const size = encodedMessageSize(m);
    expect(size).toBe(want.length);
    const buf = new Uint8Array(size + 10).fill(0xee);
    expect(encodeMessageInto(m, buf, 3)).toBe(3 + size);
    expect(Array.from(buf.subarray(3, 3 + size))).toEqual(Array.from(want));
    expect(buf[2]).toBe(0xee);
    expect(buf[3 + size]).toBe(0xee);
    expect(plain(decodeMessage(buf.subarray(3, 3 + size)))).toEqual(plain(decodeMessage(want)));
  }

  it('writes exactly what encodeMessage returns, for any message', () => {
    // Without snapshot and responses (the hand-written path) and with them (the fallback).
    const simple = baseMessage.map((m) => ({ ...m, snapshot: null, responses: [] }));
    fc.assert(fc.property(simple, sameBytes), { numRuns: 500 });
    fc.assert(fc.property(message, sameBytes), { numRuns: 200 });
  });

  it('matches encodeMessage on decoded messages (defaults on the prototype) and partial ones', () => {
    fc.assert(
      fc.property(message, (m) => sameBytes(decodeMessage(encodeMessage(m)))),
      { numRuns: 200 },
    );
    sameBytes(newMessage({ type: MessageType.MsgHeartbeat, to: 2, from: 1, term: 3 }));
    sameBytes({ type: MessageType.MsgApp, to: 2 } as never);
    sameBytes({ entries: [{ data: new Uint8Array(300).fill(1) }] } as never);
    sameBytes({ type: MessageType.MsgSnapStatus, to: 2 ** 40, index: 2 ** 53 - 1 } as never);
  });

  it('throws ErrCodec where encodeMessage does', () => {
    const bad = [
      newMessage({ type: MessageType.MsgApp, term: -1 }),
      newMessage({ type: MessageType.MsgApp, index: 2 ** 53 }),
      newMessage({ type: MessageType.MsgApp, commit: 1.5 }),
      newMessage({
        type: MessageType.MsgApp,
        entries: [
          { term: 1, index: Number.NaN, type: EntryType.EntryNormal, data: new Uint8Array(1) },
        ],
      }),
    ];
    for (const m of bad) {
      expect(() => encodeMessage(m)).toThrow(ErrCodec);
      expect(() => encodedMessageSize(m)).toThrow(ErrCodec);
    }
  });
});

describe('decodeMessageAt', () => {
  /** Same outcome as decodeMessage on the range: equal data, or ErrCodec from both. */
  function sameDecode(body: Uint8Array): void {
    const buf = new Uint8Array(body.length + 7).fill(0x55);
    buf.set(body, 4);
    let want: unknown;
    try {
      want = plain(decodeMessage(body));
    } catch (err) {
      expect(err).toBeInstanceOf(ErrCodec);
      expect(() => decodeMessageAt(buf, 4, 4 + body.length)).toThrow(ErrCodec);
      return;
    }
    const got = decodeMessageAt(buf, 4, 4 + body.length);
    expect(plain(got)).toEqual(want);
    // Byte fields are views of the input, as Uint8Arrays.
    for (const e of got.entries) {
      expect(Object.getPrototypeOf(e.data)).toBe(Uint8Array.prototype);
      if (e.data.length > 0) expect(e.data.buffer).toBe(buf.buffer);
    }
  }

  it('decodes what decodeMessage decodes, at any offset', () => {
    const simple = baseMessage.map((m) => ({ ...m, snapshot: null, responses: [] }));
    fc.assert(
      fc.property(simple, (m) => sameDecode(encodeMessage(m))),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(message, (m) => sameDecode(encodeMessage(m))),
      { numRuns: 200 },
    );
    sameDecode(new Uint8Array(0));
    const hb = decodeMessageAt(
      Buffer.from(encodeMessage(newMessage({ type: MessageType.MsgHeartbeat, to: 2 }))),
      0,
      encodeMessage(newMessage({ type: MessageType.MsgHeartbeat, to: 2 })).length,
    );
    expect(hb.snapshot).toBeNull();
    expect(hb.entries).toHaveLength(0);
    expect(hb.responses).toHaveLength(0);
  });

  it('refuses exactly what decodeMessage refuses (random, truncated and mutated bytes)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), sameDecode), { numRuns: 3000 });
    const simple = baseMessage.map((m) => ({ ...m, snapshot: null, responses: [] }));
    fc.assert(
      fc.property(simple, fc.nat(), fc.nat(255), fc.nat(), (m, at, byte, cut) => {
        const b = encodeMessage(m).slice();
        if (b.length === 0) return;
        b[at % b.length] = byte;
        sameDecode(b);
        sameDecode(b.subarray(0, cut % (b.length + 1)));
      }),
      { numRuns: 3000 },
    );
    // Unknown enum values, unknown fields, non-canonical and over-long varints.
    for (const b of [
      [0x08, 99],
      [0x08, 0x81, 0x00],
      [0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
      [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f],
      [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10],
      [0x78, 0x01],
      [0x3a, 0x02, 0x08, 0x09],
      [0x3a, 0x03, 0x22, 0x05, 0x00],
      [0x50, 0x80, 0x80, 0x80, 0x80, 0x01],
      [0x88, 0x00, 0x03],
    ]) {
      sameDecode(new Uint8Array(b));
    }
  });
});
