// The history format tsraft-lincheck reads: JSON lines, one operation each, times in ns from
// one clock (see the README, "History format"). Parsing validates every field and names the
// line of the first bad one.

/** One operation as a client saw it. */
export interface Operation {
  client: number;
  op: 'put' | 'get' | 'cas' | 'delete';
  key: string;
  /** The value a put or cas writes (null for get and delete). */
  value: string | null;
  /** What a cas compares with; null means "the key is absent". */
  expect: string | null;
  /** When the call was made and when its outcome was known, in ns from one clock. */
  call: number;
  /** null when the outcome is unknown and the client gave up waiting. */
  return: number | null;
  /**
   * true: it took effect (a cas: its compare held). false: put/delete/get, or a cas with an
   * `error`, did not take effect; a cas without `error` compared unequal and changed nothing.
   * null: unknown (it may take effect at any time after its call).
   */
  ok: boolean | null;
  /** A get's output (null: absent). */
  output: string | null;
  /** Why it failed, when it did. */
  error?: string;
  /** 1-based line in the input (0 when built in memory). */
  line: number;
}

export type OperationInput = Omit<Operation, 'line' | 'value' | 'expect' | 'output'> & {
  value?: string | null;
  expect?: string | null;
  output?: string | null;
  line?: number;
};

/** Fills defaults of an operation built in code (tests, the recorder). */
export function operation(o: OperationInput): Operation {
  const out: Operation = {
    client: o.client,
    op: o.op,
    key: o.key,
    value: o.value ?? null,
    expect: o.expect ?? null,
    call: o.call,
    return: o.return,
    ok: o.ok,
    output: o.output ?? null,
    line: o.line ?? 0,
  };
  if (o.error !== undefined) out.error = o.error;
  return out;
}

export class HistoryFormatError extends Error {
  readonly code = 'LINCHECK_BAD_HISTORY';
  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`line ${line}: ${detail}`);
    this.name = 'HistoryFormatError';
  }
}

const OPS = new Set(['put', 'get', 'cas', 'delete']);

function isTime(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0;
}

function optString(o: Record<string, unknown>, k: string, line: number): string | null {
  const v = o[k];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new HistoryFormatError(line, `"${k}" must be a string or null`);
  return v;
}

/** Parses one JSON line (1-based `line` for messages). */
export function parseOperation(text: string, line: number): Operation {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new HistoryFormatError(line, `not JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new HistoryFormatError(line, 'not a JSON object');
  }
  const o = raw as Record<string, unknown>;
  if (typeof o.client !== 'number' || !Number.isSafeInteger(o.client)) {
    throw new HistoryFormatError(line, '"client" must be an integer');
  }
  if (typeof o.op !== 'string' || !OPS.has(o.op)) {
    throw new HistoryFormatError(line, '"op" must be one of put, get, cas, delete');
  }
  if (typeof o.key !== 'string') throw new HistoryFormatError(line, '"key" must be a string');
  if (!isTime(o.call)) throw new HistoryFormatError(line, '"call" must be a time in ns');
  if (o.ok !== true && o.ok !== false && o.ok !== null) {
    throw new HistoryFormatError(line, '"ok" must be true, false or null');
  }
  let ret: number | null = null;
  if (o.return !== undefined && o.return !== null) {
    if (!isTime(o.return)) throw new HistoryFormatError(line, '"return" must be a time in ns');
    if (o.return < o.call) throw new HistoryFormatError(line, '"return" is before "call"');
    ret = o.return;
  } else if (o.ok !== null) {
    throw new HistoryFormatError(line, 'an operation with a known outcome needs "return"');
  }
  const op = o.op as Operation['op'];
  const value = optString(o, 'value', line);
  if ((op === 'put' || op === 'cas') && value === null) {
    throw new HistoryFormatError(line, `a ${op} needs a string "value"`);
  }
  if (op === 'cas' && !('expect' in o)) {
    throw new HistoryFormatError(line, 'a cas needs "expect" (null: absent)');
  }
  const out: Operation = {
    client: o.client,
    op,
    key: o.key,
    value: op === 'put' || op === 'cas' ? value : null,
    expect: op === 'cas' ? optString(o, 'expect', line) : null,
    call: o.call,
    return: ret,
    ok: o.ok,
    output: op === 'get' ? optString(o, 'output', line) : null,
    line,
  };
  if (o.error !== undefined && o.error !== null) {
    if (typeof o.error !== 'string') throw new HistoryFormatError(line, '"error" must be a string');
    out.error = o.error;
  }
  return out;
}

/** Parses a whole history (blank lines are skipped). */
export function parseHistory(text: string): Operation[] {
  const ops: Operation[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (l === '') continue;
    ops.push(parseOperation(l, i + 1));
  }
  return ops;
}

/** One operation as a JSON line of the format (without `line`). */
export function formatOperation(o: Operation): string {
  const rec: Record<string, unknown> = { client: o.client, op: o.op, key: o.key };
  if (o.op === 'put' || o.op === 'cas') rec.value = o.value;
  if (o.op === 'cas') rec.expect = o.expect;
  rec.call = o.call;
  rec.return = o.return;
  rec.ok = o.ok;
  if (o.op === 'get') rec.output = o.output;
  if (o.error !== undefined) rec.error = o.error;
  return JSON.stringify(rec);
}

/** A short readable form for reports: `client 3 put k1=v17 [12.001..12.030 ms] ok`. */
export function describeOperation(o: Operation): string {
  let what: string;
  switch (o.op) {
    case 'put':
      what = `put ${o.key}=${o.value}`;
      break;
    case 'delete':
      what = `delete ${o.key}`;
      break;
    case 'get':
      what = `get ${o.key} -> ${o.ok === true ? show(o.output) : '?'}`;
      break;
    case 'cas':
      what = `cas ${o.key} ${show(o.expect)}->${o.value}`;
      break;
  }
  const outcome =
    o.ok === null ? 'unknown' : o.ok ? 'ok' : o.error !== undefined ? 'failed' : 'compare failed';
  const ms = (t: number | null) => (t === null ? '∞' : (t / 1e6).toFixed(3));
  const at = o.line > 0 ? ` (line ${o.line})` : '';
  return `client ${o.client} ${what} [${ms(o.call)}..${ms(o.return)} ms] ${outcome}${at}`;
}

function show(v: string | null): string {
  return v === null ? '(absent)' : JSON.stringify(v);
}
