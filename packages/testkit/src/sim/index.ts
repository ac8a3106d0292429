// The deterministic cluster simulator: Cluster, its network and checkers, the randomized
// scenario, seeds and replays.
export { Rng } from './prng.js';
export { EventHeap, type HeapItem } from './heap.js';
export { Network, type NetworkOptions, defaultNetworkOptions } from './network.js';
export {
  StateMachine,
  type AppliedEntry,
  type UserStateMachine,
  chainHash,
  decodeSnapshotData,
  encodeSnapshotData,
} from './state-machine.js';
export { Checker, SafetyViolation, bytesEqual, type TermAt } from './checkers.js';
export {
  Cluster,
  type ClusterOptions,
  type ClusterStats,
  type CrashPoint,
  type RaftOptions,
  type ReadyLoop,
  type ReadySteps,
  type RestartMode,
  Disk,
  SimNode,
  SimStorage,
  crashPoints,
  decodeConfChangeEntry,
} from './cluster.js';
export { replayCommand, seedFromEnv, withSeedReport } from './replay.js';
export {
  runScenario,
  drawClusterOptions,
  type ScenarioOptions,
  type ScenarioResult,
} from './scenario.js';
