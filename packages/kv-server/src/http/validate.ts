// Validation of keys, values and query parameters. Everything a request carries is checked
// here before anything is proposed, so a bad request is a 4xx and changes nothing.
import type { ByteString } from '../kv/bytes.js';
import { utf8Length } from '../kv/bytes.js';
import { ErrorCode, badRequest } from './errors.js';

export interface Limits {
  /** Longest key in UTF-8 bytes. */
  maxKeyBytes: number;
  /** Longest value in UTF-8 bytes. */
  maxValueBytes: number;
  /** Largest request body in bytes. */
  maxBodyBytes: number;
  /** Most keys a range returns; also the default `limit`. */
  maxRangeLimit: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxKeyBytes: 4096,
  maxValueBytes: 1 << 20,
  maxBodyBytes: (1 << 20) + (64 << 10),
  maxRangeLimit: 10_000,
};

// A lone UTF-16 surrogate cannot be encoded as UTF-8: it would be stored as U+FFFD, so the
// stored string would differ from the one sent. Reject instead.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Checks text and returns it as the store keeps it: the byte string of its UTF-8 bytes. */
export function checkString(
  what: 'key' | 'value' | 'prefix',
  s: string,
  maxBytes: number,
): ByteString {
  const code = what === 'value' ? ErrorCode.InvalidValue : ErrorCode.InvalidKey;
  if (LONE_SURROGATE.test(s)) throw badRequest(code, `the ${what} contains a lone surrogate`);
  const n = utf8Length(s);
  if (n > maxBytes) throw badRequest(code, `the ${what} is ${n} bytes; the limit is ${maxBytes}`);
  // As many bytes as characters: ASCII, which is its own byte string (no copy).
  return n === s.length ? s : Buffer.from(s, 'utf8').toString('latin1');
}

/** Checks a key given as text; returns its bytes as a byte string. */
export function checkKey(key: string, limits: Limits): ByteString {
  if (key.length === 0) throw badRequest(ErrorCode.InvalidKey, 'the key is empty');
  return checkString('key', key, limits.maxKeyBytes);
}

/** A string field of a JSON body: the text, and its bytes as a byte string. */
export function stringField(
  obj: Record<string, unknown>,
  name: string,
  maxBytes: number,
): { text: string; bytes: ByteString } | undefined {
  const v = obj[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') {
    throw badRequest(ErrorCode.InvalidValue, `"${name}" must be a string`);
  }
  return { text: v, bytes: checkString('value', v, maxBytes) };
}

/** A non-negative safe integer field of a JSON body. */
export function uintField(obj: Record<string, unknown>, name: string): number | undefined {
  const v = obj[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw badRequest(ErrorCode.InvalidValue, `"${name}" must be a non-negative integer`);
  }
  return v;
}

/** The query string, with unknown or repeated parameters rejected. */
export class Query {
  private readonly params: URLSearchParams;

  constructor(search: string, allowed: readonly string[]) {
    this.params = new URLSearchParams(search);
    const seen = new Set<string>();
    for (const k of this.params.keys()) {
      if (!allowed.includes(k)) {
        throw badRequest(
          ErrorCode.InvalidParameter,
          `unknown query parameter "${k}" (allowed: ${allowed.join(', ') || 'none'})`,
        );
      }
      if (seen.has(k)) throw badRequest(ErrorCode.InvalidParameter, `"${k}" is repeated`);
      seen.add(k);
    }
  }

  has(name: string): boolean {
    return this.params.has(name);
  }

  string(name: string): string | undefined {
    return this.params.get(name) ?? undefined;
  }

  oneOf<T extends string>(name: string, values: readonly T[], dflt: T): T {
    const v = this.params.get(name);
    if (v === null) return dflt;
    if (!(values as readonly string[]).includes(v)) {
      throw badRequest(
        ErrorCode.InvalidParameter,
        `"${name}" must be one of ${values.join(', ')}; got "${v}"`,
      );
    }
    return v as T;
  }

  /** `?flag`, `?flag=true` or `?flag=1` are true; `false`/`0` false. */
  bool(name: string): boolean {
    const v = this.params.get(name);
    if (v === null) return false;
    if (v === '' || v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw badRequest(ErrorCode.InvalidParameter, `"${name}" must be true or false; got "${v}"`);
  }

  uint(name: string, min: number, max: number): number | undefined {
    const v = this.params.get(name);
    if (v === null) return undefined;
    const n = /^[0-9]+$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw badRequest(
        ErrorCode.InvalidParameter,
        `"${name}" must be an integer from ${min} to ${max}; got "${v}"`,
      );
    }
    return n;
  }
}
