// A single-node raft on LevelStorage, driven by hand: the README's example, run by
// test/example.test.ts so it cannot rot. Run it yourself (from the repository root):
//
//   node --conditions=source --import tsx packages/raft-storage-level/examples/single-node.ts
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { EntryType, RawNode, decodeConfChange } from '@tsraft/raft-core';
import { LevelStorage } from '@tsraft/raft-storage-level';

export async function main(
  dir: string,
  log: (line: string) => void = console.log,
): Promise<string[]> {
  const storage = await LevelStorage.open(dir);
  const fresh = storage.lastIndex() === 0;
  // A restarting node resumes from its stored snapshot (here, the applied list itself).
  const snap = storage.snapshot();
  const applied: string[] =
    snap.data.length > 0 ? JSON.parse(new TextDecoder().decode(snap.data)) : [];
  let appliedIndex = snap.metadata.index;
  let confState = snap.metadata.confState;

  const node = new RawNode({
    id: 1,
    storage,
    electionTick: 10,
    heartbeatTick: 1,
    applied: appliedIndex,
  });
  if (fresh) node.bootstrap([{ id: 1 }]);

  /** The Ready loop: persist (one synced batch), send, apply, advance. */
  async function drain(): Promise<void> {
    while (node.hasReady()) {
      const rd = node.ready();
      await storage.save(rd); // hard state + entries (+ snapshot) durably, at once
      // (a multi-node cluster sends rd.messages here)
      for (const e of rd.committedEntries) {
        if (e.type === EntryType.EntryConfChange)
          confState = node.applyConfChange(decodeConfChange(e.data));
        else if (e.data.length > 0) applied.push(new TextDecoder().decode(e.data));
        appliedIndex = e.index;
      }
      node.advance();
    }
  }

  await drain(); // persists and applies the bootstrap configuration first
  node.campaign(); // one voter: it wins at once (a cluster would tick until elected)
  await drain();
  for (let i = 0; i < 5; i++) node.propose(new TextEncoder().encode(`put x=${applied.length + i}`));
  await drain();

  // Snapshot the state machine and drop the log before it (keeping 2 entries for followers).
  await storage.createSnapshot(
    appliedIndex,
    confState,
    new TextEncoder().encode(JSON.stringify(applied)),
  );
  await storage.compact(appliedIndex - 2);
  log(
    `applied ${applied.length} commands up to index ${appliedIndex}; log is [${storage.firstIndex()}, ${storage.lastIndex()}]`,
  );
  await storage.close();
  return applied;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tsraft-example-'));
  await main(dir); // a fresh node
  await main(dir); // the same node after a restart: it recovers everything from disk
  await fs.rm(dir, { recursive: true });
}
