// Fast, sound checks for the common anomalies, run before the complete search: each one it
// reports is a proof of non-linearizability (never a guess), found in O(n log n) per key.
//   never-written  a get returned a value no operation ever (possibly) wrote;
//   future read    a get returned a value only written by operations called after it returned;
//   stale read     every write of the value a get returned finished before another write
//                  that surely took effect started, and that one finished before the get
//                  started: the get saw an overwritten value;
//   lost write     the same, when no get ever returned the overwriting value: an acknowledged
//                  write that nobody saw.
import type { Operation } from './history.js';
import { type KeyOp, type RegisterState, mayWrite, surelyWrote, writtenValue } from './model.js';

export type AnomalyKind = 'never-written' | 'future-read' | 'stale-read' | 'lost-write';

export interface Anomaly {
  kind: AnomalyKind;
  key: string;
  /** The operations that prove it: the get first. */
  ops: Operation[];
  detail: string;
}

/** Writers of one value, by call time, with the running maximum of their return times. */
interface Writers {
  calls: number[];
  maxRet: number[];
  ops: KeyOp[];
}

/** The first anomaly found among ops (one key's, in call order), or null. */
export function findAnomaly(key: string, ops: readonly KeyOp[]): Anomaly | null {
  const writers = new Map<RegisterState, Writers>();
  // The initial state: "absent", written before everything.
  writers.set(null, {
    calls: [Number.NEGATIVE_INFINITY],
    maxRet: [Number.NEGATIVE_INFINITY],
    ops: [],
  });
  const readValues = new Set<RegisterState>();
  for (const k of ops) {
    if (k.t.kind === 'read') readValues.add(k.t.value);
    if (!mayWrite(k.t)) continue;
    const v = writtenValue(k.t);
    let w = writers.get(v);
    if (w === undefined) {
      w = { calls: [], maxRet: [], ops: [] };
      writers.set(v, w);
    }
    const prev = w.maxRet.length > 0 ? w.maxRet[w.maxRet.length - 1]! : Number.NEGATIVE_INFINITY;
    w.calls.push(k.call);
    w.maxRet.push(Math.max(prev, k.ret));
    w.ops.push(k);
  }
  // Writes that surely took effect, by call time, with the suffix minimum of return times.
  const sure = ops.filter(surelyWrote);
  const sureCalls = sure.map((k) => k.call);
  const minRetFrom: number[] = new Array(sure.length + 1);
  const argMin: number[] = new Array(sure.length + 1);
  minRetFrom[sure.length] = Number.POSITIVE_INFINITY;
  argMin[sure.length] = -1;
  for (let i = sure.length - 1; i >= 0; i--) {
    const better = sure[i]!.ret < minRetFrom[i + 1]!;
    minRetFrom[i] = better ? sure[i]!.ret : minRetFrom[i + 1]!;
    argMin[i] = better ? i : argMin[i + 1]!;
  }
  for (const r of ops) {
    if (r.t.kind !== 'read') continue;
    const v = r.t.value;
    const w = writers.get(v);
    if (w === undefined) {
      return {
        kind: 'never-written',
        key,
        ops: [r.op],
        detail: `a get returned ${JSON.stringify(v)}, which no operation that may have taken effect wrote`,
      };
    }
    // Writers of v called before the get returned (or at once: ties count as concurrent);
    // none: it read the future.
    const n = countAtMost(w.calls, r.ret);
    if (n === 0) {
      return {
        kind: 'future-read',
        key,
        ops: [r.op, ...w.ops.slice(0, 3).map((k) => k.op)],
        detail: `a get returned ${JSON.stringify(v)}, written only by operations called after it returned`,
      };
    }
    const lastWriteEnd = w.maxRet[n - 1]!;
    if (lastWriteEnd === Number.POSITIVE_INFINITY) continue;
    // A sure write called after every writer of v returned, that returned before the get.
    const i = countAtMost(sureCalls, lastWriteEnd);
    if (i < sure.length && minRetFrom[i]! < r.call) {
      const over = sure[argMin[i]!]!;
      const seen = readValues.has(writtenValue(over.t));
      const src = w.ops
        .slice(0, n)
        .filter((k) => k.ret <= lastWriteEnd)
        .slice(-2);
      return {
        kind: seen ? 'stale-read' : 'lost-write',
        key,
        ops: [r.op, over.op, ...src.map((k) => k.op)],
        detail: seen
          ? `a get returned ${JSON.stringify(v)} after a later write of ${JSON.stringify(writtenValue(over.t))} had finished`
          : `the write of ${JSON.stringify(writtenValue(over.t))} was acknowledged but a later get returned the older ${JSON.stringify(v)}, and no get ever saw it`,
      };
    }
  }
  return null;
}

/** The number of elements of ascending `xs` that are <= x. */
function countAtMost(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
