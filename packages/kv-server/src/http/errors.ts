// The API's error shape: `{"error": {"code": "...", "message": "..."}}` with a 4xx or 5xx
// status. Codes are stable strings (clients switch on them); messages are for people.
import type { ServerResponse } from 'node:http';

export const ErrorCode = {
  /** 400: the request is malformed (bad JSON, bad field, unknown parameter…). */
  BadRequest: 'bad_request',
  InvalidJson: 'invalid_json',
  InvalidKey: 'invalid_key',
  InvalidValue: 'invalid_value',
  InvalidParameter: 'invalid_parameter',
  /** 404 */
  KeyNotFound: 'key_not_found',
  NotFound: 'not_found',
  MemberNotFound: 'member_not_found',
  /** 405 */
  MethodNotAllowed: 'method_not_allowed',
  /** 409: a CAS comparison failed; nothing changed. */
  CompareFailed: 'compare_failed',
  /** 409: the membership change is not allowed in the current configuration. */
  MembershipConflict: 'membership_conflict',
  /** 413 */
  PayloadTooLarge: 'payload_too_large',
  /** 503: no leader is known, the proposal was dropped, or the node is stopping: retry. */
  Unavailable: 'unavailable',
  /** 504/503: the outcome of a write is unknown (leadership changed or the deadline passed after it was appended). */
  Indeterminate: 'indeterminate',
  /** 504: the deadline passed before the request was sent to raft. */
  Timeout: 'timeout',
  Internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    /** Extra top-level fields of the error body (e.g. the current kv of a failed CAS). */
    readonly extra?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function badRequest(code: ErrorCode, message: string): HttpError {
  return new HttpError(400, code, message);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(
    res,
    err.status,
    { error: { code: err.code, message: err.message }, ...err.extra },
    err.headers,
  );
}
