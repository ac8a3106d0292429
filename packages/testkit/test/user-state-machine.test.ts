// Your state machine and your Ready loop under the simulator: a correct one passes, and the
// classic mistakes are caught (non-determinism, a snapshot that loses state, a Ready loop
// that sends before it persists).
import { describe, expect, it } from 'vitest';
import {
  type AppliedEntry,
  Cluster,
  type ReadyLoop,
  type UserStateMachine,
  runScenario,
} from '../src/index.js';

/** A register of the last value per key ("k=v" commands), with a count of applies. */
class Registers implements UserStateMachine<number> {
  values = new Map<string, string>();
  applied = 0;
  constructor(private readonly snapshotLosesApplied = false) {}
  apply(e: AppliedEntry): number {
    const [k, v] = new TextDecoder().decode(e.data).split('=') as [string, string];
    this.values.set(k, v);
    return ++this.applied;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify([this.applied, [...this.values]]));
  }
  restore(data: Uint8Array): void {
    if (data.length === 0) {
      this.values = new Map();
      this.applied = 0;
      return;
    }
    const [applied, values] = JSON.parse(new TextDecoder().decode(data));
    this.values = new Map(values);
    this.applied = this.snapshotLosesApplied ? 0 : applied;
  }
  digest(): string {
    return `${this.applied}:${JSON.stringify([...this.values].sort())}`;
  }
}

const command = (n: number, random: () => number) =>
  new TextEncoder().encode(`k${Math.floor(random() * 5)}=${n}`);

/** The first of `seeds` whose scenario throws, with its message; null if none does. */
function firstFailure(seeds: number, run: (seed: number) => unknown): string | null {
  for (let seed = 1; seed <= seeds; seed++) {
    try {
      run(seed);
    } catch (err) {
      return `seed ${seed}: ${(err as Error).message}`;
    }
  }
  return null;
}

describe('a user state machine', () => {
  it('a deterministic one converges on every node, results reported as applied', () => {
    let results = 0;
    for (let seed = 1; seed <= 10; seed++) {
      runScenario(seed, {
        stateMachine: () => new Registers(),
        command,
        onApply: (_id, _e, r) => {
          expect(typeof r).toBe('number');
          results++;
        },
      });
    }
    expect(results).toBeGreaterThan(1000);
  });

  it('a non-deterministic one is caught', () => {
    // Each node's apply depends on its own instance: node ids leak into the state.
    const failure = firstFailure(5, (seed) =>
      runScenario(seed, {
        stateMachine: (id) =>
          new (class extends Registers {
            override apply(e: AppliedEntry): number {
              this.values.set('node', String(id));
              return super.apply(e);
            }
          })(),
        command,
      }),
    );
    expect(failure).toMatch(/user state machine determinism/);
  });

  it('a snapshot that loses part of the state is caught', () => {
    const failure = firstFailure(60, (seed) =>
      runScenario(seed, { stateMachine: () => new Registers(true), command }),
    );
    expect(failure).toMatch(/user state machine determinism/);
  });
});

describe('a user Ready loop', () => {
  const persistSendApply: ReadyLoop = (s) => {
    s.persist();
    s.send();
    s.apply();
  };
  const sendFirst: ReadyLoop = (s) => {
    s.send(); // wrong: votes and acknowledgements leave before they are durable
    s.persist();
    s.apply();
  };

  it('the contract order passes the randomized scenarios', () => {
    for (let seed = 1; seed <= 20; seed++) runScenario(seed, { readyLoop: persistSendApply });
  });

  it('sending before persisting is caught when a crash falls between the two', () => {
    const failure = firstFailure(200, (seed) => runScenario(seed, { readyLoop: sendFirst }));
    expect(failure).not.toBeNull();
    // Caught by a safety checker, or by raft itself finding its log lost.
    expect(failure).toMatch(
      /election safety|durability|log matching|leader completeness|state machine safety|out of range/,
    );
  });

  it('a loop that skips a step is refused', () => {
    const c = new Cluster({ seed: 1, readyLoop: (s) => s.persist() });
    expect(() => {
      c.campaign(1);
      c.stabilize();
    }).toThrow(/readyLoop returned without calling send\(\), apply\(\)/);
  });
});
