import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { lazyChild } from '../src/host-logger.js';

function capture(level: string): { lines: Record<string, unknown>[]; logger: pino.Logger } {
  const lines: Record<string, unknown>[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: pino({ level }, dest) };
}

describe('lazyChild (the loggers of a host’s groups)', () => {
  it('makes no child logger for lines at disabled levels, and logs enabled ones with every binding', async () => {
    const { lines, logger } = capture('info');
    let children = 0;
    const parent = new Proxy(logger, {
      get(t, k) {
        if (k === 'child') {
          return (...a: Parameters<pino.Logger['child']>) => {
            children++;
            return t.child(...a);
          };
        }
        const v = Reflect.get(t, k, t) as unknown;
        return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(t) : v;
      },
    });
    const g = lazyChild(parent, { group: 7 }).child({ node: 1 }).child({ component: 'raft' });
    g.debug({ x: 1 }, 'quiet');
    expect(g.isLevelEnabled('debug')).toBe(false);
    expect(g.level).toBe('info');
    expect(children).toBe(0);
    g.warn({ x: 2 }, 'loud');
    expect(children).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ group: 7, node: 1, component: 'raft', x: 2, msg: 'loud' });
  });

  it('follows the parent’s level until it is made', () => {
    const { lines, logger } = capture('info');
    const g = lazyChild(logger, { group: 3 });
    logger.level = 'debug';
    g.debug('now on');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ group: 3, msg: 'now on' });
  });
});
