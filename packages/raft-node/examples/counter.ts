// A replicated counter: three RaftNodes in one process on 127.0.0.1, each with its own data
// directory. Run it from the repository root (PORT picks the first of three ports):
//
//   node --conditions=source --import tsx packages/raft-node/examples/counter.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  type AppliedEntry,
  RaftNode,
  type SnapshotSource,
  type StateMachine,
  readAll,
  snapshotOf,
} from '@tsraft/raft-node';
import { pino } from 'pino';

/** The replicated state. Each entry adds its number; an entry's result is the new total. */
class Counter implements StateMachine<number> {
  total = 0;
  apply(entries: readonly AppliedEntry[]): number[] {
    return entries.map((e) => {
      this.total += Number(Buffer.from(e.data).toString());
      return this.total;
    });
  }
  // A small state is captured whole; a large one would hand out a point-in-time view.
  snapshot(): SnapshotSource {
    return snapshotOf(Buffer.from(String(this.total)));
  }
  async restore(from: AsyncIterable<Uint8Array>): Promise<void> {
    this.total = Number(Buffer.from(await readAll(from)).toString());
  }
}

const base = Number(process.env.PORT ?? 7001);
const peers: Record<number, string> = {
  1: `127.0.0.1:${base}`,
  2: `127.0.0.1:${base + 1}`,
  3: `127.0.0.1:${base + 2}`,
};
const dir = await mkdtemp(path.join(tmpdir(), 'raft-counter-'));
const counters = [new Counter(), new Counter(), new Counter()];
const nodes = [1, 2, 3].map(
  (id) =>
    new RaftNode({
      id,
      peers, // the initial cluster; used to bootstrap the empty data directories
      listen: peers[id]!,
      dataDir: path.join(dir, `node-${id}`),
      stateMachine: counters[id - 1]!,
      logger: pino({ level: 'error' }),
    }),
);
await Promise.all(nodes.map((n) => n.start()));

const leaderId = await nodes[0]!.waitForLeader();
console.log(`node ${leaderId} leads`);
const [a, b] = nodes.filter((n) => n.id !== leaderId);
// Any node takes proposals (followers forward them) and resolves with the entry's result.
console.log(`+5 -> ${await a!.propose(Buffer.from('5'))}`);
console.log(`+2 -> ${await nodes[leaderId - 1]!.propose(Buffer.from('2'))}`);
// A linearizable read: once read() resolves, b has applied every write acknowledged before it.
await b!.read();
console.log(`node ${b!.id} reads ${counters[b!.id - 1]!.total}`);

await Promise.all(nodes.map((n) => n.stop()));
await rm(dir, { recursive: true, force: true });
