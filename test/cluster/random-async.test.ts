// The randomized fault runs of random.test.ts with asyncStorageWrites: appends and applies
// are MsgStorageAppend / MsgStorageApply messages that the harness's per-node append and
// apply threads complete after random delays, then step their responses back in.
//
//   SEEDS=1000 npx vitest run test/cluster/random-async.test.ts
//   SEED=1234 npx vitest run test/cluster/random-async.test.ts     replay one seed
import { describeRandomRuns } from './random-runs.js';

describeRandomRuns({
  file: 'test/cluster/random-async.test.ts',
  title: 'randomized fault runs (async storage writes)',
  defaultSeeds: 500,
  asyncStorageWrites: true,
});
