// A minimal binary writer and reader for the command and snapshot encodings: unsigned varints
// (LEB128, up to Number.MAX_SAFE_INTEGER), length-prefixed UTF-8 strings (URLs) and
// length-prefixed byte strings (keys and values). The reader throws KvCodecError on any
// truncation or overflow, so a damaged payload is never half-decoded.
//
// Keys and values are bytes, as etcd's are. The store keeps them as "byte strings": JS strings
// with one UTF-16 unit per byte (latin1), so that any bytes round-trip, a Map keys by them,
// and `<` compares them bytewise (etcd's key order) — and a byte string is as compact as the
// text it often is (V8 keeps one-byte strings one byte per character). Text becomes a byte
// string as its UTF-8 bytes (textToBytes); ASCII text is its own byte string.

import { isUtf8 } from 'node:buffer';

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Bytes that do not decode as a command or a snapshot. */
export class KvCodecError extends Error {
  readonly code = 'KV_CODEC';
  constructor(message: string) {
    super(message);
    this.name = 'KvCodecError';
  }
}

export class ByteWriter {
  // A Buffer, for Buffer#write: several times faster than TextEncoder#encodeInto on the short
  // strings commands and snapshots are made of.
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 64) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialSize));
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  /** Unsigned varint of a safe integer (arithmetic, not bit operations: values may exceed 2^31). */
  uvarint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`not a uint53: ${v}`);
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.uvarint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** A byte string (see above): its bytes, length-prefixed. */
  bstr(s: ByteString): this {
    const n = s.length;
    this.uvarint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, 'latin1');
    return this;
  }

  str(s: string): this {
    // At most 3 bytes per UTF-16 unit: write after room for the longest length prefix, then
    // move the bytes back in the rare case that the real prefix is shorter.
    const max = s.length * 3;
    const width = varintSize(max);
    this.ensure(Math.max(width, 8) + max);
    const start = this.pos + width;
    const n = this.buf.write(s, start, max, 'utf8');
    const realWidth = varintSize(n);
    if (realWidth !== width) this.buf.copyWithin(this.pos + realWidth, start, start + n);
    this.uvarint(n);
    this.pos += n;
    return this;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /**
   * The content as a view of the writer's buffer, without a copy: for large outputs that
   * own their buffer (Buffers of 4 KiB or more are never pooled). The writer is done after.
   */
  finishView(): Uint8Array {
    if (this.buf.length < 4096) return this.finish();
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos);
  }

  finish(): Uint8Array {
    // A copy the size of the content, as a plain Uint8Array (not a view of a larger buffer).
    const out = new Uint8Array(this.pos);
    out.set(this.buf.subarray(0, this.pos));
    return out;
  }
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

export class ByteReader {
  private pos = 0;
  /** `buf` as a Buffer (a view, made once): byte strings are sliced from it. */
  private readonly view: Buffer;

  constructor(private readonly buf: Uint8Array) {
    this.view = buf instanceof Buffer ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  u8(): number {
    if (this.pos >= this.buf.length) throw new KvCodecError('truncated: expected a byte');
    return this.buf[this.pos++]!;
  }

  uvarint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.buf.length) throw new KvCodecError('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) throw new KvCodecError('varint above 2^53');
        return result;
      }
      mul *= 0x80;
    }
    throw new KvCodecError('varint too long');
  }

  bytes(): Uint8Array {
    const n = this.uvarint();
    if (this.pos + n > this.buf.length) throw new KvCodecError('truncated bytes');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A byte string written by ByteWriter#bstr (any bytes). */
  bstr(): ByteString {
    const n = this.uvarint();
    if (this.pos + n > this.buf.length) throw new KvCodecError('truncated bytes');
    const out = this.view.toString('latin1', this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  str(): string {
    try {
      return decoder.decode(this.bytes());
    } catch (err) {
      if (err instanceof KvCodecError) throw err;
      throw new KvCodecError('invalid UTF-8 in string');
    }
  }

  /** Throws unless every byte was consumed. */
  end(): void {
    if (this.pos !== this.buf.length) {
      throw new KvCodecError(`${this.buf.length - this.pos} trailing bytes`);
    }
  }
}

export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Bytes as a JS string of one UTF-16 unit (0..255) per byte: see the top of this file. */
export type ByteString = string;

/** The byte string of `b[start..end)`. */
export function latin1(b: Uint8Array, start = 0, end = b.length): ByteString {
  const buf = b instanceof Buffer ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
  return buf.toString('latin1', start, end);
}

/** A byte string's bytes (a new Buffer). */
export function bytesOf(s: ByteString): Buffer {
  return Buffer.from(s, 'latin1');
}

/** Text as the byte string of its UTF-8 bytes (ASCII text is returned as it is). */
export function textToBytes(text: string): ByteString {
  return isAsciiText(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}

/**
 * A byte string as text when its bytes are UTF-8, else undefined. ASCII is returned as it is.
 */
export function bytesToText(s: ByteString): string | undefined {
  if (isAsciiText(s)) return s;
  const b = Buffer.from(s, 'latin1');
  return isUtf8(b) ? b.toString('utf8') : undefined;
}

const NOT_ASCII = /[\u0080-\uffff]/;

function isAsciiText(s: string): boolean {
  return !NOT_ASCII.test(s);
}
