// ReadyPass: the Ready loops of a RaftHost's groups run in one setImmediate per event-loop turn.
import { describe, expect, it } from 'vitest';
import { ReadyPass } from '../src/host-pass.js';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('ReadyPass', () => {
  it('runs every group queued during a turn in one pass, in order', async () => {
    const pass = new ReadyPass();
    const ran: number[] = [];
    for (const id of [1, 2, 3]) pass.add({ process: () => ran.push(id) });
    expect(ran).toEqual([]);
    await nextTurn();
    expect(ran).toEqual([1, 2, 3]);
    expect({ passes: pass.passes, processed: pass.processed }).toEqual({ passes: 1, processed: 3 });
  });

  it('runs a group queued again while the pass runs in the next pass', async () => {
    const pass = new ReadyPass();
    const ran: string[] = [];
    const again = { process: () => ran.push('again') };
    pass.add({
      process: () => {
        ran.push('first');
        pass.add(again);
      },
    });
    await nextTurn();
    expect(ran).toEqual(['first']);
    await nextTurn();
    expect(ran).toEqual(['first', 'again']);
    expect(pass.passes).toBe(2);
  });

  it('runs the other groups when one throws, and rethrows outside the pass', async () => {
    const pass = new ReadyPass();
    const ran: number[] = [];
    const thrown: unknown[] = [];
    const onError = (err: unknown): void => {
      thrown.push(err);
    };
    process.on('uncaughtException', onError);
    try {
      pass.add({
        process: () => {
          throw new Error('boom');
        },
      });
      pass.add({ process: () => ran.push(2) });
      await nextTurn();
      await nextTurn();
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(ran).toEqual([2]);
    expect(thrown).toHaveLength(1);
  });
});
