// The lost-write check of a finished run: given each key's final value (read once the cluster
// is healed and quiet), every acknowledged write must be that value or have been possibly
// overwritten: some other write of another value that may have taken effect and was not over
// before the acknowledged one began. Anything else is a write the cluster acknowledged and lost.
import type { Operation } from './history.js';
import { type RegisterState, byKey, mayWrite, surelyWrote, writtenValue } from './model.js';

export interface LostWrite {
  key: string;
  /** The acknowledged write that is gone. */
  write: Operation;
  /** What the key held at the end. */
  final: RegisterState;
}

export function findLostWrites(
  history: readonly Operation[],
  finalValues: ReadonlyMap<string, RegisterState>,
): LostWrite[] {
  const lost: LostWrite[] = [];
  for (const [key, ops] of byKey(history)) {
    if (!finalValues.has(key)) continue;
    const final = finalValues.get(key)!;
    const writes = ops.filter((k) => mayWrite(k.t));
    // Latest return among writes, by value, to test "someone else may have come after".
    for (const w of writes) {
      if (!surelyWrote(w)) continue;
      const v = writtenValue(w.t);
      if (v === final) continue;
      const overwritten = writes.some((o) => o !== w && writtenValue(o.t) !== v && o.ret >= w.call);
      if (!overwritten) lost.push({ key, write: w.op, final });
    }
  }
  return lost;
}
