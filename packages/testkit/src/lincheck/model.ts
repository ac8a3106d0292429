// The sequential model of one key: a register whose state is a value or absent (null), and
// the operations of the history turned into its transitions. Operations that tell nothing
// (a failed put/delete/get, a cas that failed with an error, a get of unknown outcome) are
// left out; an operation of unknown outcome gets an infinite return, so the search may place
// it anywhere after its call, or last, which is the same as never.
import type { Operation } from './history.js';

/** A key's value; null is "absent" (the initial state). */
export type RegisterState = string | null;

export type Transition =
  | { kind: 'write'; value: RegisterState } // put, delete: always possible
  | { kind: 'read'; value: RegisterState } // get: only when state === value
  | { kind: 'cas'; expect: RegisterState; value: string } // compare held: state === expect
  | { kind: 'casFailed'; expect: RegisterState } // compare failed: state !== expect
  | { kind: 'casMaybe'; expect: RegisterState; value: string }; // unknown cas: either

/** One operation of a key's history, as the search sees it. */
export interface KeyOp {
  /** Position in the key's list (the bit in a linearized set). */
  id: number;
  call: number;
  /** Infinity for an operation of unknown outcome. */
  ret: number;
  t: Transition;
  op: Operation;
  /**
   * It may never have taken effect, and its return is when that stops mattering (see
   * boundUnknownWrites): not placed by then, the search drops it.
   */
  optional?: boolean;
}

/** The transition an operation stands for, or null when it tells nothing. */
export function transitionOf(o: Operation): Transition | null {
  switch (o.op) {
    case 'put':
      return o.ok === false ? null : { kind: 'write', value: o.value };
    case 'delete':
      return o.ok === false ? null : { kind: 'write', value: null };
    case 'get':
      return o.ok === true ? { kind: 'read', value: o.output } : null;
    case 'cas':
      if (o.ok === true) return { kind: 'cas', expect: o.expect, value: o.value! };
      if (o.ok === null) return { kind: 'casMaybe', expect: o.expect, value: o.value! };
      return o.error !== undefined ? null : { kind: 'casFailed', expect: o.expect };
  }
}

/** The state after t from s, or undefined when t cannot happen in state s. */
export function step(s: RegisterState, t: Transition): RegisterState | undefined {
  switch (t.kind) {
    case 'write':
      return t.value;
    case 'read':
      return s === t.value ? s : undefined;
    case 'cas':
      return s === t.expect ? t.value : undefined;
    case 'casFailed':
      return s !== t.expect ? s : undefined;
    case 'casMaybe':
      return s === t.expect ? t.value : s;
  }
}

/** Whether an operation may have changed the key (a known or possible write). */
export function mayWrite(t: Transition): boolean {
  return t.kind === 'write' || t.kind === 'cas' || t.kind === 'casMaybe';
}

/** Whether an operation surely changed the key to `writtenValue(t)` (known outcome). */
export function surelyWrote(k: KeyOp): boolean {
  return k.ret !== Number.POSITIVE_INFINITY && (k.t.kind === 'write' || k.t.kind === 'cas');
}

export function writtenValue(t: Transition): RegisterState {
  return t.kind === 'write' ? t.value : t.kind === 'cas' || t.kind === 'casMaybe' ? t.value : null;
}

/** Splits a history by key, keeping the operations that matter, in call order. */
export function byKey(history: readonly Operation[]): Map<string, KeyOp[]> {
  const keys = new Map<string, KeyOp[]>();
  for (const o of history) {
    const t = transitionOf(o);
    if (t === null) continue;
    let list = keys.get(o.key);
    if (list === undefined) {
      list = [];
      keys.set(o.key, list);
    }
    const ret = o.ok === null || o.return === null ? Number.POSITIVE_INFINITY : o.return;
    list.push({ id: 0, call: o.call, ret, t, op: o });
  }
  for (const list of keys.values()) {
    list.sort((a, b) => a.call - b.call || a.ret - b.ret);
    for (let i = 0; i < list.length; i++) list[i]!.id = i;
  }
  return keys;
}

/**
 * Bounds what operations of unknown outcome cost the search. Such a write stays pending to the
 * end of the history, so k of them at once make up to 2^k orders to explore. But a write whose
 * value nobody observes may as well come last (= never); and once its observers (gets of its
 * value, cas expecting it) have all returned, placing it later is the same as placing it last.
 * So an unknown write of a value only it writes gets, as its return, the last return of its
 * observers, marked optional (the search drops it if not placed by then), or is left out when
 * it has none. A failed compare (casFailed) can tell the state
 * apart from its expected value, so those that may come after the write count as observers too.
 * Returns the list to search (ids renumbered); keys with no unknown write are returned as is.
 */
export function boundUnknownWrites(ops: readonly KeyOp[]): KeyOp[] {
  if (!ops.some((k) => k.ret === Number.POSITIVE_INFINITY && mayWrite(k.t))) return [...ops];
  const writers = new Map<RegisterState, number>();
  const lastObserved = new Map<RegisterState, number>();
  const observe = (v: RegisterState, ret: number) =>
    lastObserved.set(v, Math.max(lastObserved.get(v) ?? Number.NEGATIVE_INFINITY, ret));
  const failedCompares: KeyOp[] = [];
  for (const k of ops) {
    if (mayWrite(k.t)) {
      const v = writtenValue(k.t);
      writers.set(v, (writers.get(v) ?? 0) + 1);
    }
    if (k.t.kind === 'read') observe(k.t.value, k.ret);
    if (k.t.kind === 'cas' || k.t.kind === 'casMaybe') observe(k.t.expect, k.ret);
    if (k.t.kind === 'casFailed') failedCompares.push(k);
  }
  const out: KeyOp[] = [];
  for (const k of ops) {
    if (k.ret !== Number.POSITIVE_INFINITY || !mayWrite(k.t)) {
      out.push({ ...k });
      continue;
    }
    const v = writtenValue(k.t);
    if (v === null || writers.get(v) !== 1) {
      out.push({ ...k });
      continue;
    }
    let until = lastObserved.get(v) ?? Number.NEGATIVE_INFINITY;
    for (const f of failedCompares) if (f.ret >= k.call && f.ret > until) until = f.ret;
    if (until === Number.NEGATIVE_INFINITY) continue; // never observed: as good as never
    out.push({ ...k, ret: Math.max(until, k.call), optional: true });
  }
  out.sort((a, b) => a.call - b.call || a.ret - b.ret);
  for (let i = 0; i < out.length; i++) out[i]!.id = i;
  return out;
}
