// Checks a key-value history for linearizability. Linearizability is local (Herlihy & Wing),
// so each key is checked alone: first the fast sound checks of anomalies.ts, then the
// complete search of search.ts, all under one deadline.
import { type Anomaly, type AnomalyKind, findAnomaly } from './anomalies.js';
import { type Operation, describeOperation } from './history.js';
import { type KeyOp, boundUnknownWrites, byKey, surelyWrote } from './model.js';
import { searchKey } from './search.js';

export interface CheckOptions {
  /** Give up (verdict unknown) after this long; default 300 s. */
  timeoutMs?: number;
  /** Memory for explored states per key before giving up on it; default 1 GiB. */
  maxCacheBytes?: number;
}

export interface Violation {
  key: string;
  kind: AnomalyKind | 'no-linearization';
  detail: string;
  /** The operations involved, the most telling first. */
  ops: Operation[];
}

export interface CheckResult {
  verdict: 'linearizable' | 'not-linearizable' | 'unknown';
  /** Operations read, and those that constrain the order (the rest tell nothing). */
  ops: number;
  checkedOps: number;
  keys: number;
  elapsedMs: number;
  violation?: Violation;
  /** Keys the search gave up on, and why. */
  gaveUp: { key: string; reason: 'timeout' | 'memory' }[];
}

export function checkHistory(history: readonly Operation[], opts: CheckOptions = {}): CheckResult {
  const started = performance.now();
  const deadline = started + (opts.timeoutMs ?? 300_000);
  const maxCacheBytes = opts.maxCacheBytes ?? 2 ** 30;
  const keys = byKey(history);
  let checkedOps = 0;
  for (const list of keys.values()) checkedOps += list.length;
  const result = (
    verdict: CheckResult['verdict'],
    extra: Partial<CheckResult> = {},
  ): CheckResult => ({
    verdict,
    ops: history.length,
    checkedOps,
    keys: keys.size,
    elapsedMs: performance.now() - started,
    gaveUp: [],
    ...extra,
  });
  // Cheap proofs first, over every key.
  for (const [key, list] of keys) {
    const a = findAnomaly(key, list);
    if (a !== null) return result('not-linearizable', { violation: fromAnomaly(a) });
  }
  const gaveUp: CheckResult['gaveUp'] = [];
  // Small keys first: a timeout leaves the fewest operations unchecked.
  const order = [...keys].sort((a, b) => a[1].length - b[1].length);
  for (const [key, list] of order) {
    if (performance.now() > deadline) {
      gaveUp.push({ key, reason: 'timeout' });
      continue;
    }
    const bounded = boundUnknownWrites(list);
    // Hashed first (little memory); a violation it reports is confirmed exactly.
    let r = searchKey(bounded, { deadline, maxCacheBytes, hashed: true });
    if (r.verdict === 'not-linearizable') r = searchKey(bounded, { deadline, maxCacheBytes });
    if (r.verdict === 'not-linearizable') {
      return result('not-linearizable', {
        violation: {
          key,
          kind: 'no-linearization',
          detail: `no order of the ${list.length} operations on the key explains ${describeOperation(r.blocked.op)} (at most ${r.longest} linearized)`,
          ops: involved(list, r.blocked),
        },
      });
    }
    if (r.verdict === 'unknown') gaveUp.push({ key, reason: r.reason });
  }
  return gaveUp.length > 0 ? result('unknown', { gaveUp }) : result('linearizable');
}

function fromAnomaly(a: Anomaly): Violation {
  return { key: a.key, kind: a.kind, detail: a.detail, ops: a.ops };
}

/** The blocked operation, those overlapping it, and the last sure writes before it. */
function involved(list: readonly KeyOp[], blocked: KeyOp): Operation[] {
  const overlapping = list.filter(
    (k) => k !== blocked && k.call <= blocked.ret && k.ret >= blocked.call,
  );
  const before = list.filter((k) => surelyWrote(k) && k.ret < blocked.call).slice(-2);
  return [blocked, ...before, ...overlapping.slice(0, 10)].map((k) => k.op);
}

/** The first line of the report: `linearizable`, `NOT linearizable` or `unknown`, and why. */
export function summaryLine(r: CheckResult): string {
  const stats = `${r.ops} ops, ${r.keys} keys, ${(r.elapsedMs / 1000).toFixed(2)} s`;
  switch (r.verdict) {
    case 'linearizable':
      return `linearizable (${stats})`;
    case 'not-linearizable': {
      const v = r.violation!;
      return `NOT linearizable: key ${JSON.stringify(v.key)}: ${v.kind}: ${v.detail}; operations at lines ${v.ops.map((o) => o.line).join(', ')} (${stats})`;
    }
    case 'unknown':
      return `unknown: gave up on ${r.gaveUp.length} key(s) (${r.gaveUp
        .slice(0, 5)
        .map((g) => `${JSON.stringify(g.key)}: ${g.reason}`)
        .join(', ')}) (${stats})`;
  }
}

/** The full text report: the summary line, then the operations involved. */
export function report(r: CheckResult): string {
  const lines = [summaryLine(r)];
  if (r.violation !== undefined) {
    lines.push(`operations involved on key ${JSON.stringify(r.violation.key)}:`);
    for (const o of r.violation.ops) lines.push(`  ${describeOperation(o)}`);
  }
  return lines.join('\n');
}
