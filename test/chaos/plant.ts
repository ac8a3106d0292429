// Negative controls: anomalies planted into a recorded history, which the checks must catch.
// Both append operations after everything else happened, on a key the run wrote twice.
import { type Operation, operation } from '@tsraft/testkit';

/** The key with the most acknowledged puts, and the end of the history. */
function target(history: readonly Operation[]): { key: string; end: number } | null {
  const counts = new Map<string, number>();
  for (const o of history) {
    if (o.op === 'put' && o.ok === true) counts.set(o.key, (counts.get(o.key) ?? 0) + 1);
  }
  const best = [...counts].sort((a, b) => b[1] - a[1])[0];
  if (best === undefined || best[1] < 2) return null;
  return { key: best[0], end: endOf(history) };
}

/** When the last operation returned (or was called). A loop: a long run has too many to spread. */
function endOf(history: readonly Operation[]): number {
  let end = 0;
  for (const o of history) end = Math.max(end, o.return ?? o.call);
  return end;
}

/**
 * A stale read: a get, after everything, of the first value an acknowledged put wrote to the
 * key, although another acknowledged put of the key finished after that one.
 */
export function plantStaleRead(history: readonly Operation[]): Operation[] | null {
  const t = target(history);
  if (t === null) return null;
  const puts = history.filter((o) => o.key === t.key && o.op === 'put' && o.ok === true);
  const first = puts.reduce((a, b) => (b.return! < a.return! ? b : a));
  if (!puts.some((p) => p.call > first.return!)) return null;
  const get = operation({
    client: 9999,
    op: 'get',
    key: t.key,
    call: t.end + 1_000,
    return: t.end + 2_000,
    ok: true,
    output: first.value,
  });
  return [...history, get];
}

/**
 * A lost write: an acknowledged put of a new value after everything, then a get that still
 * returns what the key held before; `finals` (the values read at the end) stays as it was.
 * On a key with writes of unknown outcome that could be legitimate (one of them may land
 * after the put), so the key is one without any, or else a key of its own.
 */
export function plantLostWrite(
  history: readonly Operation[],
  finals: ReadonlyMap<string, string | null>,
): { history: Operation[]; finals: Map<string, string | null> } {
  const unsure = new Set(history.filter((o) => o.ok === null && o.op !== 'get').map((o) => o.key));
  const key = [...finals.keys()].find((k) => !unsure.has(k)) ?? 'planted-key';
  const before = finals.get(key) ?? null;
  const end = endOf(history);
  const at = (t: number) => ({ client: 9999, key, call: end + t, return: end + t + 500 });
  const put = operation({ ...at(1_000), op: 'put', value: 'planted-lost-write', ok: true });
  const get = operation({ ...at(3_000), op: 'get', ok: true, output: before });
  return { history: [...history, put, get], finals: new Map([...finals, [key, before]]) };
}
