// LevelStorage through the conformance suite: with the defaults, and with every entry payload
// read back from disk and every snapshot in a file (the paths the defaults rarely take).
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { LevelStorage, type LevelStorageOptions } from '@tsraft/raft-storage-level';
import { type ConformanceTarget, describeStorageConformance } from './suite.js';

function levelTarget(
  s: LevelStorage,
  dir: string,
  options: LevelStorageOptions,
): ConformanceTarget {
  return {
    storage: s,
    setHardState: (hs) => s.save({ hardState: hs }),
    append: (entries) => s.save({ entries }),
    applySnapshot: (snap) => s.applySnapshot(snap),
    createSnapshot: (i, cs, data) => s.createSnapshot(i, cs, data),
    compact: (i) => s.compact(i),
    reopen: async () => {
      await s.close();
      return levelTarget(await LevelStorage.open(dir, options), dir, options);
    },
    close: async () => {
      await s.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

function factory(options: LevelStorageOptions) {
  return async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tsraft-conformance-'));
    return levelTarget(await LevelStorage.open(dir, options), dir, options);
  };
}

describeStorageConformance('LevelStorage', factory({}));
describeStorageConformance(
  'LevelStorage (no entry cache, snapshots in files)',
  factory({ entryCacheBytes: 0, snapshotFileThreshold: 0 }),
);
