// The auto-compaction schedule (etcd's v3compactor) with a fake clock and store.
import { describe, expect, it } from 'vitest';
import {
  AutoCompactionError,
  AutoCompactor,
  checkIntervalMs,
  parseAutoCompaction,
} from '../src/auto-compaction.js';

describe('parseAutoCompaction', () => {
  it("reads etcd's values", () => {
    expect(parseAutoCompaction(undefined, undefined)).toBeUndefined();
    expect(parseAutoCompaction('periodic', '0')).toBeUndefined();
    expect(parseAutoCompaction(undefined, '1')).toEqual({ mode: 'periodic', retention: 3_600_000 });
    expect(parseAutoCompaction('periodic', '0.5')?.retention).toBe(1_800_000);
    expect(parseAutoCompaction('periodic', '1h30m')?.retention).toBe(5_400_000);
    expect(parseAutoCompaction('periodic', '90s')?.retention).toBe(90_000);
    expect(parseAutoCompaction('revision', '1000')).toEqual({ mode: 'revision', retention: 1000 });
  });

  it('refuses bad values with a typed error', () => {
    for (const [mode, r] of [
      ['sometimes', '1'],
      ['periodic', '1d'],
      ['periodic', 'h'],
      ['periodic', '10ms'],
      ['periodic', '1h 30m'],
      ['revision', '1.5'],
      ['revision', '-3'],
    ] as const) {
      expect(() => parseAutoCompaction(mode, r)).toThrow(AutoCompactionError);
    }
  });

  it('checks as often as etcd 3.4 does', () => {
    expect(checkIntervalMs({ mode: 'periodic', retention: 72 * 3_600_000 })).toBe(3_600_000);
    expect(checkIntervalMs({ mode: 'periodic', retention: 1_800_000 })).toBe(180_000);
    expect(checkIntervalMs({ mode: 'revision', retention: 10 })).toBe(300_000);
  });
});

function env(leader = true) {
  const e = {
    t: 0,
    rev: 0,
    compacted: 0,
    leader,
    calls: [] as number[],
    now: () => e.t,
    revision: () => e.rev,
    compactedRevision: () => e.compacted,
    isLeader: () => e.leader,
    compact: async (r: number) => {
      e.calls.push(r);
      e.compacted = r;
    },
  };
  return e;
}

describe('AutoCompactor', () => {
  it('periodic: compacts to the revision of one retention ago, only as leader', async () => {
    const e = env(false);
    const c = new AutoCompactor({ mode: 'periodic', retention: 100 }, e);
    for (let i = 0; i <= 30; i++) {
      e.t = i * 10;
      e.rev = i * 7; // 7 revisions per check
      if (i === 15) e.leader = true;
      await c.tick();
    }
    // At t=150 (leader from then) the sample of t=50 is due, then one per tick.
    expect(e.calls[0]).toBe(5 * 7);
    expect(e.calls.at(-1)).toBe(20 * 7); // at t=300: the sample of t=200
    expect(e.calls).toEqual([...e.calls].sort((a, b) => a - b));
  });

  it('revision: keeps the last `retention` revisions', async () => {
    const e = env();
    const c = new AutoCompactor({ mode: 'revision', retention: 100 }, e);
    e.rev = 50;
    expect(await c.tick()).toBe(0);
    e.rev = 250;
    expect(await c.tick()).toBe(150);
    expect(await c.tick()).toBe(0); // nothing new to compact
    e.rev = 260;
    e.leader = false;
    expect(await c.tick()).toBe(0);
    expect(e.calls).toEqual([150]);
  });
});
