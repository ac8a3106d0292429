// Which library lines raft-kv shows at INFO (src/cli/log-policy.ts).
import { describe, expect, it } from 'vitest';
import { LEVEL_DEBUG, LEVEL_INFO, LEVEL_WARN, LogPolicy } from '../src/cli/log-policy.js';

function policy(now: { t: number }) {
  return new LogPolicy({ bootstrapEntries: 3, startupGraceMs: 30_000, now: () => now.t });
}
const transport = { component: 'transport' };

describe('raft-kv log policy', () => {
  it('moves raft-core routine lines and bootstrap membership to DEBUG, keeps the rest', () => {
    const p = policy({ t: 0 });
    expect(p.levelOf(LEVEL_INFO, { component: 'raft' }, 'became leader', {})).toBe(LEVEL_DEBUG);
    expect(p.levelOf(LEVEL_WARN, { component: 'raft' }, 'odd', {})).toBe(LEVEL_WARN);
    expect(p.levelOf(LEVEL_INFO, {}, 'membership changed', { index: 2 })).toBe(LEVEL_DEBUG);
    expect(p.levelOf(LEVEL_INFO, {}, 'membership changed', { index: 9 })).toBe(LEVEL_INFO);
    expect(p.levelOf(LEVEL_INFO, {}, 'leader changed', { leader: null })).toBe(LEVEL_DEBUG);
    expect(p.levelOf(LEVEL_INFO, {}, 'leader changed', { leader: 2 })).toBe(LEVEL_INFO);
  });

  it('a peer never reached is not worth a warning at start-up; one that went away is', () => {
    const now = { t: 0 };
    const p = policy(now);
    const dial = 'raft-transport-tcp: dial failed';
    expect(p.levelOf(LEVEL_WARN, transport, dial, { peer: 2 })).toBe(LEVEL_DEBUG);
    p.levelOf(LEVEL_INFO, transport, 'raft-transport-tcp: connected', { peer: 2 });
    expect(p.levelOf(LEVEL_WARN, transport, dial, { peer: 2 })).toBe(LEVEL_WARN);
    now.t = 60_000; // after the grace period, a peer that never came up is reported too
    expect(p.levelOf(LEVEL_WARN, transport, dial, { peer: 3 })).toBe(LEVEL_WARN);
  });
});
