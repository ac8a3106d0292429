export * from './raftpb.js';
export * from './errors.js';
export * from './logger.js';
export * from './storage.js';
export * from './codec.js';
