// Which client errors prove that an operation did not take effect. Anything else (a timeout,
// a reset connection, "indeterminate") is an unknown outcome: the write may have happened.
import { KvHttpError } from '@tsraft/kv-server';

export function failedForSure(err: unknown): boolean {
  if (err instanceof KvHttpError) {
    if (err.status >= 400 && err.status < 500) return true;
    // raft-kv answers 503 "not applied, safe to retry" when raft dropped the proposal.
    return err.status === 503 && /^not applied/.test(String(errorMessage(err)));
  }
  // fetch failed before a connection was made: the request never left.
  const cause = (err as { cause?: { code?: string } } | null)?.cause;
  return cause?.code === 'ECONNREFUSED';
}

function errorMessage(err: KvHttpError): unknown {
  return (err.body.error as { message?: unknown } | undefined)?.message;
}
