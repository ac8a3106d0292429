import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, op } from './helpers.js';

let cluster: Cluster | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

describe('a 3-node cluster', () => {
  it('elects a leader and applies proposals on every node', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    expect(await leader.propose(op(5))).toBe(5);
    expect(await leader.propose(op(2))).toBe(7);
    const results = await Promise.all([1, 2, 3].map((i) => leader.propose(op(i))));
    expect(results.sort((a, b) => a - b)).toEqual([8, 10, 13]);
  });
});
