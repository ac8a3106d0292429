// Host liveness: a silent peer host is down after an election timeout, or after 3 ticks when
// the transport holds no connection to it either (a dead process refuses our dials at once).
import type { Message, NodeId } from '@tsraft/raft-core';
import { describe, expect, it } from 'vitest';
import { Liveness } from '../src/host-liveness.js';

function liveness(connected: (peer: NodeId) => boolean) {
  const down: NodeId[] = [];
  const seen: boolean[] = [];
  const pings: Message[] = [];
  const l = new Liveness(
    1,
    [1, 2, 3],
    10,
    (ms) => pings.push(...ms),
    (p, s) => {
      down.push(p);
      seen.push(s);
    },
  );
  l.connected = connected;
  return { l, down, seen, pings };
}

describe('Liveness', () => {
  it('finds a silent peer host we are connected to down after the election timeout', () => {
    const { l, down, pings } = liveness(() => true);
    for (let t = 1; t <= 10; t++) {
      l.heard(3);
      l.tick();
    }
    expect(down).toEqual([]);
    l.tick();
    expect(down).toEqual([2]);
    expect(pings.filter((m) => m.to === 2)).toHaveLength(11);
  });

  it('finds a silent peer host we hold no connection to down after 3 ticks', () => {
    const { l, down } = liveness((peer) => peer !== 2);
    for (let t = 1; t <= 3; t++) {
      l.heard(3);
      l.tick();
    }
    expect(down).toEqual([]);
    l.heard(3);
    l.tick();
    expect(down).toEqual([2]);
    expect(l.isDown(3)).toBe(false);
  });

  it('takes a disconnected peer host back up when heard from again', () => {
    const { l, down } = liveness((peer) => peer !== 2);
    const up: NodeId[] = [];
    l.onUp = (p) => up.push(p);
    for (let t = 1; t <= 4; t++) {
      l.heard(3);
      l.tick();
    }
    expect(down).toEqual([2]);
    l.heard(2);
    expect(up).toEqual([2]);
    expect(l.dead()).toEqual([]);
  });

  it('tells a peer host that went silent from one not up yet', () => {
    const { l, down, seen } = liveness(() => false);
    for (let t = 1; t <= 4; t++) {
      l.heard(3);
      l.tick();
    }
    expect(down).toEqual([2]);
    expect(seen).toEqual([false]);
    for (let t = 1; t <= 4; t++) {
      l.heard(2);
      l.tick();
    }
    expect(down).toEqual([2, 3]);
    expect(seen).toEqual([false, true]);
  });
});
