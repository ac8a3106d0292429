// Reading a bounded request body and parsing it as one JSON object.
import type { IncomingMessage } from 'node:http';
import { ErrorCode, HttpError, badRequest } from './errors.js';

/** Reads the whole body; 413 as soon as it exceeds `limit` bytes (declared or actual). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

function tooLarge(limit: number): HttpError {
  return new HttpError(
    413,
    ErrorCode.PayloadTooLarge,
    `request body is larger than ${limit} bytes`,
    undefined,
    // The rest of the body is not read: close the connection rather than drain it.
    { connection: 'close' },
  );
}

/** Parses `body` as a JSON object (not an array, not a scalar). */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) throw badRequest(ErrorCode.InvalidJson, 'the request needs a JSON body');
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw badRequest(
      ErrorCode.InvalidJson,
      `the body is not valid JSON: ${(err as Error).message}`,
    );
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw badRequest(ErrorCode.InvalidJson, 'the body must be a JSON object');
  }
  return v as Record<string, unknown>;
}

/** Rejects fields other than `allowed` (a typo must not silently mean "absent"). */
export function onlyFields(obj: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) {
      throw badRequest(
        ErrorCode.BadRequest,
        `unknown field "${k}" (allowed: ${allowed.join(', ') || 'none'})`,
      );
    }
  }
}
