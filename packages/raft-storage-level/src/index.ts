export { LevelStorage } from './level-storage.js';
export type { LevelStorageOptions, LevelStorageStats, SaveInput } from './level-storage.js';
export * from './errors.js';
export { FORMAT_VERSION } from './records.js';
