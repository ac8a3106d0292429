// The JSON API speaks text; the store keeps bytes (kv/bytes.ts). Text sent here is stored as
// its UTF-8 bytes. A key or value that is not UTF-8 (written over etcd's gRPC API, e.g. by
// `etcdctl check perf`) cannot be a JSON string without changing it, so such a key-value is
// answered with both key and value in base64 and `"encoding": "base64"` beside them; every
// other key-value has no `encoding` field and is text as before.
import type { KeyValue } from '../kv/apply-batch.js';
import { type ByteString, bytesOf, bytesToText } from '../kv/bytes.js';

export interface JsonKeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease?: number;
  /** Present only when key and value are base64 (one of them is not UTF-8). */
  encoding?: 'base64';
}

/** A key-value as the JSON API answers it. */
export function kvJson(kv: KeyValue): JsonKeyValue {
  const key = bytesToText(kv.key);
  const value = bytesToText(kv.value);
  if (key !== undefined && value !== undefined) return { ...kv, key, value };
  return { ...kv, key: base64(kv.key), value: base64(kv.value), encoding: 'base64' };
}

/**
 * A key-value whose key and value are known to be `key` and `value` as the request sent them
 * (a put's result): no conversion back from bytes.
 */
export function kvJsonAsSent(kv: KeyValue, key: string, value: string): JsonKeyValue {
  return { ...kv, key, value };
}

function base64(s: ByteString): string {
  return bytesOf(s).toString('base64');
}
