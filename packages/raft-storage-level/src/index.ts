export { LevelStorage } from './level-storage.js';
export type { LevelStorageOptions, LevelStorageStats, SaveInput } from './level-storage.js';
export { LevelStore, STORE_FORMAT_VERSION } from './level-store.js';
export type { LevelStoreOptions, LevelStoreStats } from './level-store.js';
export * from './errors.js';
export { FORMAT_VERSION } from './records.js';
