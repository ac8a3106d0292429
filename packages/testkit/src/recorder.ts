// Records what clients do as a tsraft-lincheck history: wrap each async call, and the
// recorder stamps its call and return with one clock (process.hrtime.bigint, in ns since the
// recorder was made) and writes one JSON line per operation when it completes. Operations
// still running at close() are written with an unknown outcome.
import { type WriteStream, createWriteStream } from 'node:fs';
import { type Operation, formatOperation, operation } from './lincheck/history.js';

export interface RecorderOptions {
  /** Append the history to this file (JSON lines). */
  file?: string;
  /** Also called with every completed operation. */
  onOperation?: (op: Operation) => void;
  /**
   * Whether an error means the operation surely did not take effect (ok: false), e.g. a
   * refused connection or a 4xx. Any other error is an unknown outcome (ok: null): a timeout
   * or a lost connection may hide a write that happened. Default: every error is unknown.
   */
  failedForSure?: (err: unknown) => boolean;
}

type Pending = Omit<Operation, 'return' | 'ok' | 'output' | 'line'>;
/** What the caller says about an operation; the recorder adds the times and the outcome. */
export type OperationCall = Omit<Pending, 'call' | 'error'>;

export class HistoryRecorder {
  /** Every completed operation, in completion order. */
  readonly operations: Operation[] = [];
  private readonly t0 = process.hrtime.bigint();
  private readonly stream: WriteStream | null;
  private readonly pending = new Set<Pending>();

  constructor(private readonly opts: RecorderOptions = {}) {
    this.stream = opts.file === undefined ? null : createWriteStream(opts.file, { flags: 'a' });
  }

  /** Nanoseconds since the recorder was made. */
  now(): number {
    return Number(process.hrtime.bigint() - this.t0);
  }

  async put(
    client: number,
    key: string,
    value: string,
    call: () => Promise<unknown>,
  ): Promise<void> {
    await this.run({ client, op: 'put', key, value, expect: null }, call, () => ({ ok: true }));
  }

  async delete(client: number, key: string, call: () => Promise<unknown>): Promise<void> {
    await this.run({ client, op: 'delete', key, value: null, expect: null }, call, () => ({
      ok: true,
    }));
  }

  /** `call` resolves with the value read, null when the key is absent. */
  get(client: number, key: string, call: () => Promise<string | null>): Promise<string | null> {
    return this.run({ client, op: 'get', key, value: null, expect: null }, call, (v) => ({
      ok: true,
      output: v,
    }));
  }

  /** `call` resolves true when the compare held and the value was written. */
  cas(
    client: number,
    key: string,
    expect: string | null,
    value: string,
    call: () => Promise<boolean>,
  ): Promise<boolean> {
    return this.run({ client, op: 'cas', key, value, expect }, call, (swapped) => ({
      ok: swapped,
    }));
  }

  /**
   * Runs one operation. Resolves with what `call` resolved with; a rejection is recorded
   * (as failed or unknown, see failedForSure) and rethrown.
   */
  async run<T>(
    what: OperationCall,
    call: () => Promise<T>,
    outcome: (result: T) => { ok: boolean; output?: string | null },
  ): Promise<T> {
    const rec: Pending = { ...what, call: this.now() };
    this.pending.add(rec);
    try {
      const result = await call();
      const o = outcome(result);
      this.complete(rec, o.ok, o.output ?? null);
      return result;
    } catch (err) {
      const sure = this.opts.failedForSure?.(err) === true;
      this.complete(rec, sure ? false : null, null, errorText(err));
      throw err;
    }
  }

  /** Writes operations still running as unknown, and flushes the file. */
  async close(): Promise<void> {
    for (const rec of [...this.pending]) this.complete(rec, null, null, 'still running at close');
    const s = this.stream;
    if (s !== null)
      await new Promise<void>((resolve, reject) =>
        s.end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
  }

  private complete(rec: Pending, ok: boolean | null, output: string | null, error?: string): void {
    if (!this.pending.delete(rec)) return;
    const op = operation({ ...rec, return: this.now(), ok, output });
    if (error !== undefined) op.error = error;
    this.operations.push(op);
    this.stream?.write(`${formatOperation(op)}\n`);
    this.opts.onOperation?.(op);
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
