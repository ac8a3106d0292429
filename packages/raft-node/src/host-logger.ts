// The loggers of a RaftHost's groups, made when first needed. A pino child logger costs about
// a kilobyte (its bindings, its level methods), a group has a few (its own, its raft's, its
// transport's), and at thousands of groups most never write a line: lines at disabled levels
// are dropped without making one, so a quiet group never has one. The logger is a Proxy over
// a small record with a handler shared by every group; anything other than a logging call at
// a disabled level makes the real child logger and is answered by it.
import type { Bindings, ChildLoggerOptions, Level, Logger } from 'pino';

interface Lazy {
  readonly parent: Logger;
  readonly bindings: Bindings;
  real: Logger | null;
}

const LEVELS: ReadonlySet<string | symbol> = new Set<Level>([
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
]);

const noop = (): void => {};

function materialize(t: Lazy): Logger {
  t.real ??= t.parent.child(t.bindings);
  return t.real;
}

const handler: ProxyHandler<Lazy> = {
  get(t, key) {
    if (t.real === null) {
      if (LEVELS.has(key) && !t.parent.isLevelEnabled(key as Level)) return noop;
      if (key === 'child') {
        return (bindings: Bindings, options?: ChildLoggerOptions) =>
          options === undefined
            ? lazyChild(t.parent, { ...t.bindings, ...bindings })
            : materialize(t).child(bindings, options);
      }
      if (key === 'isLevelEnabled') return (l: string) => t.parent.isLevelEnabled(l);
      if (key === 'level') return t.parent.level;
    }
    const real = materialize(t);
    const v = Reflect.get(real, key, real) as unknown;
    return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(real) : v;
  },
  set(t, key, value) {
    return Reflect.set(materialize(t), key, value);
  },
  has(t, key) {
    return Reflect.has(materialize(t), key);
  },
};

/**
 * `parent.child(bindings)`, made on first use. Its level follows the parent's until then.
 */
export function lazyChild(parent: Logger, bindings: Bindings): Logger {
  const t: Lazy = { parent, bindings, real: null };
  return new Proxy(t, handler) as unknown as Logger;
}
