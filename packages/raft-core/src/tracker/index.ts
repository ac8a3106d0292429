export { Inflights } from './inflights.js';
export { Progress, ProgressStateType } from './progress.js';
export { type ProgressMap, ProgressTracker, TrackerConfig, sortedIds } from './tracker.js';
