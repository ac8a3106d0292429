// The leader's lease deadlines on a fake clock: renewals, expiry through one revoke, and a
// fresh TTL for every lease when a member becomes leader (etcd's promote).
import { describe, expect, it } from 'vitest';
import { LeaseKeeper } from '../src/grpc/lease-keeper.js';

function setup() {
  const s = {
    now: 0,
    leader: true,
    leases: new Map<number, { ttl: number; grant: number }>([[1, { ttl: 10, grant: 0 }]]),
    revoked: [] as number[],
    generation: 0,
  };
  const keeper = new LeaseKeeper({
    now: () => s.now,
    isLeader: () => s.leader,
    leases: () => [...s.leases].map(([id, l]) => ({ id, ...l })),
    ttlOf: (id) => s.leases.get(id)?.ttl,
    generation: () => s.generation,
    revoke: async (id) => {
      s.revoked.push(id);
    },
    warn: () => {},
  });
  return { s, keeper };
}

describe('LeaseKeeper', () => {
  it('renews on the leader, answers 0 for unknown or expired leases, revokes once', async () => {
    const { s, keeper } = setup();
    expect(keeper.remaining(1)).toBe(10);
    s.now = 9_000;
    expect(keeper.renew(1)).toBe(10);
    s.now = 18_500;
    keeper.tick();
    expect(s.revoked).toEqual([]);
    expect(keeper.remaining(1)).toBe(0);
    expect(keeper.renew(2)).toBe(0);
    s.now = 19_000;
    keeper.tick();
    keeper.tick();
    expect(s.revoked).toEqual([1]);
    expect(keeper.renew(1)).toBe(0); // expired, its revoke not applied yet
  });

  it('keeps no deadlines on a follower and gives every lease its full TTL on promotion', () => {
    const { s, keeper } = setup();
    keeper.tick();
    s.leader = false;
    s.now = 50_000; // long past the lease's deadline, but not this member's business now
    keeper.tick();
    expect(keeper.isLeading).toBe(false);
    expect(keeper.renew(1)).toBe(0);
    expect(s.revoked).toEqual([]);
    s.leader = true;
    expect(keeper.remaining(1)).toBe(10);
    keeper.tick();
    expect(s.revoked).toEqual([]);
  });

  it('takes up granted leases and drops revoked ones', () => {
    const { s, keeper } = setup();
    keeper.tick();
    s.now = 1_000;
    s.leases.set(2, { ttl: 5, grant: 1 });
    s.leases.delete(1);
    s.generation++;
    expect(keeper.remaining(2)).toBe(5);
    expect(keeper.remaining(1)).toBeUndefined();
  });

  it('starts a lease revoked and granted again under the same id afresh', () => {
    const { s, keeper } = setup();
    keeper.tick();
    s.now = 8_000;
    s.leases.set(1, { ttl: 10, grant: 2 }); // revoked and re-granted between two ticks
    s.generation += 2;
    expect(keeper.remaining(1)).toBe(10);
  });
});
