// Linearizable key-value histories made to order, for tests and benchmarks: clients issue
// operations one after another on random keys; each operation takes effect at a random point
// inside its [call, return] interval, and outputs come from applying the operations in the
// order of those points. So the history is linearizable by construction; with
// `unknownRate`, some outcomes are hidden (a hidden write takes effect or not, at random).
import { Rng } from '../sim/prng.js';
import type { Operation } from './history.js';

export interface SyntheticOptions {
  ops: number;
  keys: number;
  clients: number;
  seed: number;
  /** Share of operations whose outcome the client never learns (ok: null). Default 0. */
  unknownRate?: number;
  /** Share of operations that failed for sure and had no effect (ok: false). Default 0. */
  failRate?: number;
}

interface Draft {
  op: Operation;
  at: number;
  applies: boolean;
}

export function syntheticHistory(o: SyntheticOptions): Operation[] {
  const rng = new Rng(o.seed);
  const drafts: Draft[] = [];
  const clock = new Array<number>(o.clients).fill(0);
  let written = 0;
  for (let i = 0; i < o.ops; i++) {
    const client = rng.int(o.clients);
    const call = clock[client]! + 1 + rng.int(2_000);
    const at = call + 1 + rng.int(10_000);
    const ret = at + 1 + rng.int(10_000);
    clock[client] = ret;
    const key = `k${rng.int(o.keys)}`;
    const r = rng.next();
    const kind: Operation['op'] = r < 0.45 ? 'get' : r < 0.8 ? 'put' : r < 0.95 ? 'cas' : 'delete';
    const unknown = rng.chance(o.unknownRate ?? 0);
    const failed = !unknown && rng.chance(o.failRate ?? 0);
    const op: Operation = {
      client,
      op: kind,
      key,
      value: kind === 'put' || kind === 'cas' ? `v${++written}` : null,
      expect: null,
      call,
      return: ret,
      ok: unknown ? null : !failed,
      output: null,
      line: 0,
    };
    if (failed) op.error = 'refused';
    drafts.push({ op, at, applies: !failed && (!unknown || rng.chance(0.5)) });
  }
  // Apply in the order of the linearization points.
  drafts.sort((a, b) => a.at - b.at);
  const state = new Map<string, string | null>();
  for (const d of drafts) {
    const op = d.op;
    const cur = state.get(op.key) ?? null;
    switch (op.op) {
      case 'get':
        if (op.ok === true) op.output = cur;
        break;
      case 'put':
        if (d.applies) state.set(op.key, op.value);
        break;
      case 'delete':
        if (d.applies) state.set(op.key, null);
        break;
      case 'cas': {
        // Expect the current value half of the time, else a value it does not hold.
        op.expect = rng.chance(0.5) ? cur : cur === null ? 'v0' : null;
        const holds = op.expect === cur;
        if (op.ok === true && !holds) op.ok = false; // a failed compare, no error
        if (d.applies && holds) state.set(op.key, op.value);
        break;
      }
    }
  }
  drafts.sort((a, b) => a.op.call - b.op.call);
  return drafts.map((d, i) => ({ ...d.op, line: i + 1 }));
}
