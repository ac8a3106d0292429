// The complete search for one key: Wing & Gong's algorithm with Lowe's memoization, as
// porcupine implements it. Calls and returns form one time-ordered list; the search
// linearizes the first call it can (its transition is possible in the current state and the
// pair (linearized set, state) was not explored before), lifting the call and its return out
// of the list; at a return whose call was not linearized yet it backtracks. The linearized
// set is a bitset; its Zobrist hash (random words per operation, XORed) and the state's hash
// key a cache of explored pairs. In exact mode (porcupine's) a hit is compared bit for bit,
// which costs a copy of the bitset per explored pair: O(n^2) memory on one long key. In hashed
// mode a pair is kept as 64 bits of hash only. A collision there can only prune a branch, so
// a linearization found is always a real one, and checkHistory confirms a "not linearizable"
// of the hashed mode with the exact one.
import { type KeyOp, type RegisterState, step } from './model.js';

export type SearchResult =
  | { verdict: 'linearizable' }
  /** `blocked`: an operation that returned before any order could include it. */
  | { verdict: 'not-linearizable'; blocked: KeyOp; longest: number }
  | { verdict: 'unknown'; reason: 'timeout' | 'memory' };

export interface SearchLimits {
  /** performance.now() value after which the search gives up. */
  deadline: number;
  /** Memory for explored pairs (in exact mode each holds a bitset of the key's operations). */
  maxCacheBytes: number;
  /** Compare explored pairs exactly (default) or by a 64-bit hash. */
  hashed?: boolean;
}

interface Node {
  op: KeyOp;
  isCall: boolean;
  /** For a call: its return. */
  match: Node | null;
  /** For a return: its call. */
  call: Node | null;
  prev: Node | null;
  next: Node | null;
}

export function searchKey(ops: readonly KeyOp[], limits: SearchLimits): SearchResult {
  const n = ops.length;
  if (n === 0) return { verdict: 'linearizable' };
  const head = buildList(ops);
  const words = (n + 31) >>> 5;
  const linearized = new Uint32Array(words);
  const zobrist = zobristTable(n, 0x2545f491);
  const zobrist2 = zobristTable(n, 0x6c8e9cf5);
  const hashed = limits.hashed === true;
  const seen = new Map<number, number | number[]>();
  const stateHash = new Map<RegisterState, number>();
  const hashOf = (s: RegisterState): number => {
    let h = stateHash.get(s);
    if (h === undefined) {
      h = s === null ? 0x9e3779b9 : fnv(s);
      stateHash.set(s, h);
    }
    return h;
  };
  const cache = new Map<number, { bits: Uint32Array; state: RegisterState }[]>();
  // What one explored pair costs in a Map: an estimate, to give up before the heap does.
  const entryBytes = hashed ? 100 : words * 4 + 100;
  let cacheBytes = 0;
  const calls: { node: Node; state: RegisterState }[] = [];
  let state: RegisterState = null;
  let zob = 0;
  let zob2 = 0;
  let longest = 0;
  let iterations = 0;
  let node = head.next;
  /** Linearizes call with the state it leads to; false when that pair was explored. */
  const linearize = (call: Node, next: RegisterState): boolean | 'memory' => {
    const id = call.op.id;
    const z = (zob ^ zobrist[id]!) >>> 0;
    const z2 = (zob2 ^ zobrist2[id]!) >>> 0;
    linearized[id >>> 5]! |= 1 << (id & 31);
    const sh = hashOf(next);
    const key = (z ^ Math.imul(sh, 0x85ebca6b)) >>> 0;
    const fresh = hashed
      ? rememberHash(seen, key, (z2 ^ Math.imul(sh, 0xc2b2ae35)) >>> 0)
      : remember(cache, key, linearized, next);
    if (!fresh) {
      linearized[id >>> 5]! &= ~(1 << (id & 31));
      return false;
    }
    cacheBytes += entryBytes;
    if (cacheBytes > limits.maxCacheBytes) return 'memory';
    calls.push({ node: call, state });
    state = next;
    zob = z;
    zob2 = z2;
    if (calls.length > longest) longest = calls.length;
    lift(call);
    return true;
  };
  while (head.next !== null) {
    if ((++iterations & 0x3ff) === 0 && performance.now() > limits.deadline) {
      return { verdict: 'unknown', reason: 'timeout' };
    }
    const cur = node!;
    if (cur.isCall) {
      const next = step(state, cur.op.t);
      const done = next === undefined ? false : linearize(cur, next);
      if (done === 'memory') return { verdict: 'unknown', reason: 'memory' };
      node = done ? head.next : cur.next;
      continue;
    }
    if (cur.op.optional === true) {
      // An operation that may never have happened, not placed before its return: it did not.
      const done = linearize(cur.call!, state);
      if (done === 'memory') return { verdict: 'unknown', reason: 'memory' };
      if (done) {
        node = head.next;
        continue;
      }
    }
    // A return whose call is still in the list: undo the last linearized call, if any.
    const top = calls.pop();
    if (top === undefined) return { verdict: 'not-linearizable', blocked: cur.op, longest };
    const id = top.node.op.id;
    state = top.state;
    zob = (zob ^ zobrist[id]!) >>> 0;
    zob2 = (zob2 ^ zobrist2[id]!) >>> 0;
    linearized[id >>> 5]! &= ~(1 << (id & 31));
    unlift(top.node);
    node = top.node.next;
  }
  return { verdict: 'linearizable' };
}

/** Adds (bits, state) under key unless it is there; whether it was added. */
function remember(
  cache: Map<number, { bits: Uint32Array; state: RegisterState }[]>,
  key: number,
  bits: Uint32Array,
  state: RegisterState,
): boolean {
  let bucket = cache.get(key);
  if (bucket === undefined) {
    bucket = [];
    cache.set(key, bucket);
  } else {
    for (const e of bucket) if (e.state === state && sameBits(e.bits, bits)) return false;
  }
  bucket.push({ bits: bits.slice(), state });
  return true;
}

/** The hashed cache: key -> second hash word(s). */
function rememberHash(seen: Map<number, number | number[]>, key: number, h2: number): boolean {
  const had = seen.get(key);
  if (had === undefined) {
    seen.set(key, h2);
    return true;
  }
  if (typeof had === 'number') {
    if (had === h2) return false;
    seen.set(key, [had, h2]);
    return true;
  }
  if (had.includes(h2)) return false;
  had.push(h2);
  return true;
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Calls and returns in time order; at equal times calls first (treated as concurrent). */
function buildList(ops: readonly KeyOp[]): Node {
  const events: Node[] = [];
  for (const op of ops) {
    const ret: Node = { op, isCall: false, match: null, call: null, prev: null, next: null };
    const call: Node = { op, isCall: true, match: ret, call: null, prev: null, next: null };
    ret.call = call;
    events.push(call, ret);
  }
  events.sort((a, b) => {
    const ta = a.isCall ? a.op.call : a.op.ret;
    const tb = b.isCall ? b.op.call : b.op.ret;
    if (ta !== tb) return ta < tb ? -1 : 1;
    if (a.isCall !== b.isCall) return a.isCall ? -1 : 1;
    return a.op.id - b.op.id;
  });
  const head: Node = {
    op: ops[0]!,
    isCall: false,
    match: null,
    call: null,
    prev: null,
    next: null,
  };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  return head;
}

/** Takes a call and its return out of the list. */
function lift(call: Node): void {
  call.prev!.next = call.next;
  if (call.next !== null) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next !== null) ret.next.prev = ret.prev;
}

/** Puts them back (in reverse order of lift, so the neighbours are as they were). */
function unlift(call: Node): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next !== null) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next !== null) call.next.prev = call;
}

/** One random word per operation (a fixed-seed xorshift: verdicts do not vary by run). */
function zobristTable(n: number, seed: number): Uint32Array {
  const t = new Uint32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    t[i] = x >>> 0;
  }
  return t;
}

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
