import { describeStorageConformance, memoryStorageTarget } from './suite.js';

describeStorageConformance('MemoryStorage', () => memoryStorageTarget());
