import {
  type AppliedEntry,
  type UserStateMachine,
  runScenario,
  seedFromEnv,
  withSeedReport,
} from '@tsraft/testkit';

// Your state machine: accounts and transfers between them.
class Bank implements UserStateMachine<string> {
  balances = new Map([
    ['alice', 500],
    ['bob', 500],
  ]);

  apply(entry: AppliedEntry): string {
    const t = JSON.parse(new TextDecoder().decode(entry.data));
    if (this.balances.get(t.from)! < t.amount) return 'insufficient funds';
    this.balances.set(t.from, this.balances.get(t.from)! - t.amount);
    this.balances.set(t.to, this.balances.get(t.to)! + t.amount);
    return 'ok';
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify([...this.balances]));
  }
  restore(data: Uint8Array): void {
    this.balances =
      data.length === 0
        ? new Map([
            ['alice', 500],
            ['bob', 500],
          ])
        : new Map(JSON.parse(new TextDecoder().decode(data)));
  }
}

// Seeded runs of 1 to 5 nodes under message loss, duplication, reordering and delay,
// partitions, crashes at every step of the Ready loop, restarts, snapshots, membership
// changes and clock skew. The safety checkers run at every step; at the end every node must
// have applied the same log and its Bank must have reached the same balances.
const seeds = seedFromEnv() !== undefined ? [seedFromEnv()!] : [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
let transfers = 0;
for (const seed of seeds) {
  withSeedReport(
    'bank-under-faults',
    seed,
    (failure) =>
      runScenario(seed, {
        onCluster: (cluster) => {
          failure.cluster = cluster; // so a failure report shows each node's state
        },
        stateMachine: () => new Bank(),
        command: (_n, random) => {
          const [from, to] = random() < 0.5 ? ['alice', 'bob'] : ['bob', 'alice'];
          const amount = Math.floor(random() * 300);
          return new TextEncoder().encode(JSON.stringify({ from, to, amount }));
        },
        onApply: (_node, _entry, result) => {
          if (result === 'ok') transfers++;
        },
      }),
    'node --conditions=source --import tsx packages/testkit/examples/bank-under-faults.ts',
  );
}
console.log(`${seeds.length} seeds: ${transfers} transfers applied, every node's Bank agrees`);
