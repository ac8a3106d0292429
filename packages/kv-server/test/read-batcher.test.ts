import { describe, expect, it } from 'vitest';
import { ConsensusError } from '../src/consensus.js';
import { ReadBatcher } from '../src/read-batcher.js';

function controlled() {
  const calls: { resolve(): void; reject(e: unknown): void }[] = [];
  const barrier = () =>
    new Promise<void>((resolve, reject) => {
      calls.push({ resolve, reject });
    });
  return { calls, barrier };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const never = new AbortController().signal;

describe('ReadBatcher', () => {
  it('never lets a read share a barrier requested before it arrived', async () => {
    const { calls, barrier } = controlled();
    const b = new ReadBatcher(barrier, 1000);
    const done: string[] = [];
    const r1 = b.read(never).then(() => done.push('r1'));
    expect(calls).toHaveLength(1);
    // r2 and r3 arrive while barrier 1 is in flight: they wait for barrier 2.
    const r2 = b.read(never).then(() => done.push('r2'));
    const r3 = b.read(never).then(() => done.push('r3'));
    expect(calls).toHaveLength(1);
    calls[0]!.resolve();
    await r1;
    await tick();
    expect(done).toEqual(['r1']);
    expect(calls).toHaveLength(2);
    calls[1]!.resolve();
    await Promise.all([r2, r3]);
    expect(done).toEqual(['r1', 'r2', 'r3']);
    expect(b.barriers).toBe(2);
    // Idle again: the next read starts a barrier at once.
    void b.read(never);
    expect(calls).toHaveLength(3);
  });

  it('passes a failed barrier to its readers only, then goes on', async () => {
    const { calls, barrier } = controlled();
    const b = new ReadBatcher(barrier, 1000);
    const r1 = b.read(never);
    const r2 = b.read(never);
    calls[0]!.reject(new ConsensusError('dropped', 'no leader'));
    await expect(r1).rejects.toMatchObject({ kind: 'dropped' });
    await tick();
    calls[1]!.resolve();
    await expect(r2).resolves.toBeUndefined();
  });

  it("ends one reader's wait on its own signal", async () => {
    const { calls, barrier } = controlled();
    const b = new ReadBatcher(barrier, 1000);
    const ac = new AbortController();
    const r1 = b.read(ac.signal);
    const r2 = b.read(never);
    ac.abort();
    await expect(r1).rejects.toMatchObject({ kind: 'aborted' });
    calls[0]!.resolve();
    await tick();
    calls[1]!.resolve();
    await expect(r2).resolves.toBeUndefined();
    await expect(b.read(ac.signal)).rejects.toBeInstanceOf(ConsensusError);
  });
});
