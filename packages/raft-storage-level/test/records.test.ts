// Round trips of every kind of record, the checksum, and the key order.
import fc from 'fast-check';
import { newConfState, newEntry } from '@tsraft/raft-core';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Table } from '../src/crc32.js';
import { ErrCorruptRecord } from '../src/errors.js';
import { KEY_HARD_STATE, entryKey, journalKey, keyNumber } from '../src/keys.js';
import {
  FORMAT_VERSION,
  decodeEntryBody,
  decodeHardStateBody,
  decodeLogStart,
  decodeSnapshotRecord,
  decodeVersion,
  encodeEntryBody,
  encodeHardStateBody,
  encodeLogStart,
  encodeSnapshotRecord,
  encodeVersion,
  seal,
  unseal,
} from '../src/records.js';

const u53 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const P = '/db';

describe('crc32', () => {
  it('matches the published check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32Table(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('the table fallback equals the native one, also when chained', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (a, b) => {
        expect(crc32Table(b, crc32Table(a))).toBe(crc32(b, crc32(a)));
      }),
    );
  });
});

describe('keys', () => {
  it('round-trip and sort like the numbers they hold', () => {
    fc.assert(
      fc.property(u53, u53, (a, b) => {
        const ka = entryKey(a);
        const kb = entryKey(b);
        expect(keyNumber(ka)).toBe(a);
        expect(keyNumber(journalKey(b))).toBe(b);
        expect(Math.sign(Buffer.compare(ka, kb))).toBe(Math.sign(a - b));
      }),
    );
  });
});

describe('records', () => {
  it('seal/unseal round-trips and catches any single flipped bit, in key or value', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), u53, fc.nat(), (body, index, bit) => {
        const key = entryKey(index);
        const value = seal(key, body);
        expect([...unseal(key, value, 'entry', index, P)]).toEqual([...body]);
        const damaged = value.slice();
        const at = bit % (damaged.length * 8);
        damaged[at >> 3]! ^= 1 << (at & 7);
        expect(() => unseal(key, damaged, 'entry', index, P)).toThrow(ErrCorruptRecord);
        expect(() => unseal(entryKey(index ^ 1), value, 'entry', index, P)).toThrow(
          ErrCorruptRecord,
        );
      }),
    );
  });

  it('entries', () => {
    fc.assert(
      fc.property(
        u53,
        u53,
        fc.integer({ min: 0, max: 2 }),
        fc.uint8Array({ maxLength: 100 }),
        (index, term, type, data) => {
          const e = newEntry({ index, term, type, data });
          const back = decodeEntryBody(encodeEntryBody(e), index, P);
          expect({ ...back, data: [...back.data] }).toEqual({ ...e, data: [...data] });
        },
      ),
    );
  });

  it('an entry record holding another index is corrupt', () => {
    const body = encodeEntryBody(newEntry({ index: 7, term: 1 }));
    let err: unknown = null;
    try {
      decodeEntryBody(body, 8, P);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ErrCorruptRecord);
    expect((err as ErrCorruptRecord).index).toBe(8);
    expect((err as ErrCorruptRecord).code).toBe('RAFT_STORAGE_CORRUPT_RECORD');
  });

  it('undecodable bodies are ErrCorruptRecord, never data', () => {
    const junk = Uint8Array.of(0xff, 0xff, 0xff);
    expect(() => decodeEntryBody(junk, 1, P)).toThrow(ErrCorruptRecord);
    expect(() => decodeHardStateBody(junk, P)).toThrow(ErrCorruptRecord);
    expect(() => decodeLogStart(junk, P)).toThrow(ErrCorruptRecord);
    expect(() => decodeSnapshotRecord(Uint8Array.of(7), P)).toThrow(ErrCorruptRecord);
    expect(() => decodeSnapshotRecord(Uint8Array.of(0, 0xff, 0xff), P)).toThrow(ErrCorruptRecord);
  });

  it('hard state, log start, version', () => {
    fc.assert(
      fc.property(u53, u53, u53, (term, vote, commit) => {
        const hs = { term, vote, commit };
        expect(
          decodeHardStateBody(
            unseal(
              KEY_HARD_STATE,
              seal(KEY_HARD_STATE, encodeHardStateBody(hs)),
              'hardState',
              null,
              P,
            ),
            P,
          ),
        ).toEqual(hs);
        expect(decodeLogStart(encodeLogStart({ index: term, term: commit }), P)).toEqual({
          index: term,
          term: commit,
        });
      }),
    );
    expect(decodeVersion(encodeVersion())).toBe(FORMAT_VERSION);
    expect(decodeVersion(encodeVersion(42))).toBe(42);
    expect(decodeVersion(new TextEncoder().encode('whatever'))).toBeNull();
  });

  it('snapshot records, inline and in a file', () => {
    const metadata = {
      index: 12,
      term: 3,
      confState: newConfState({
        voters: [1, 2],
        learners: [5],
        votersOutgoing: [1, 2, 3],
        learnersNext: [4],
        autoLeave: true,
      }),
    };
    const inline = decodeSnapshotRecord(
      encodeSnapshotRecord({
        where: 'inline',
        snapshot: { data: Uint8Array.of(1, 2, 3), metadata },
      }),
      P,
    );
    expect(inline.where).toBe('inline');
    if (inline.where === 'inline') {
      expect(inline.snapshot.metadata).toEqual(metadata);
      expect([...inline.snapshot.data]).toEqual([1, 2, 3]);
    }
    const file = { where: 'file' as const, metadata, crc: 0xdeadbeef, size: 2 ** 40 };
    expect(decodeSnapshotRecord(encodeSnapshotRecord(file), P)).toEqual(file);
  });
});
