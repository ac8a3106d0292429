// Issue 3: randomized fault runs. Each seed draws a cluster (size, options, network) and a
// schedule of partitions, message loss, duplication, reordering, crashes, restarts,
// compactions, transfers and conf changes; the checkers verify election safety, log
// matching, leader completeness and state machine safety at every step, and the healed
// cluster must converge on one log holding everything ever applied.
//
//   npx vitest run test/cluster/random.test.ts                 1,000 seeds
//   SEEDS=5000 npx vitest run test/cluster/random.test.ts      more
//   SEED=1234 npx vitest run test/cluster/random.test.ts       replay one seed
//   SEED=1234 TRACE=1 npx vitest run test/cluster/random.test.ts   ... with an event trace
import { describeRandomRuns } from './random-runs.js';

describeRandomRuns({
  file: 'test/cluster/random.test.ts',
  title: 'randomized fault runs (sync storage writes)',
  defaultSeeds: 1000,
  asyncStorageWrites: false,
});
