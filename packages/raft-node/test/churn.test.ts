// Proposals from every node while leadership moves around: every acknowledged proposal is
// applied exactly once, at the index its result names; nothing reported dropped is applied.
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AppliedEntry,
  type SnapshotSource,
  type StateMachine,
  outcomeOf,
  readAll,
  snapshotOf,
} from '../src/index.js';
import { Cluster, freePorts, makeNode, tempDir, until } from './helpers.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Records every payload; the result of an entry is its index. */
class Log implements StateMachine<number> {
  entries: { index: number; id: string }[] = [];
  apply(es: readonly AppliedEntry[]): number[] {
    for (const e of es) this.entries.push({ index: e.index, id: dec.decode(e.data) });
    return es.map((e) => e.index);
  }
  snapshot(): SnapshotSource {
    return snapshotOf(enc.encode(JSON.stringify(this.entries)));
  }
  async restore(from: AsyncIterable<Uint8Array>): Promise<void> {
    this.entries = JSON.parse(dec.decode(await readAll(from)));
  }
}

let cluster: Cluster | null = null;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

describe('under leadership churn', () => {
  it('acknowledged proposals apply exactly once; dropped ones never', async () => {
    const ports = await freePorts(3);
    cluster = new Cluster();
    for (let i = 1; i <= 3; i++) cluster.peers[i] = `127.0.0.1:${ports[i - 1]}`;
    const logs = new Map<number, Log>();
    for (let i = 1; i <= 3; i++) {
      const dir = await tempDir();
      cluster.dirs.push(dir);
      const log = new Log();
      logs.set(i, log);
      const opts = { snapshotInterval: 50, snapshotCatchUpEntries: 10 };
      cluster.nodes.set(i, makeNode(i, cluster.peers[i]!, dir, cluster.peers, opts, log as never));
    }
    await Promise.all([...cluster.nodes.values()].map((n) => n.start()));
    await cluster.leader();

    const ok = new Map<string, number>();
    const dropped = new Set<string>();
    const unknown = new Set<string>();
    let stop = false;
    let seq = 0;
    const worker = async (w: number) => {
      while (!stop) {
        const id = `w${w}-${seq++}`;
        const node = cluster!.node(1 + (seq % 3));
        try {
          const index = await node.propose(enc.encode(id), { signal: AbortSignal.timeout(2000) });
          ok.set(id, index);
        } catch (err) {
          (outcomeOf(err) === 'dropped' ? dropped : unknown).add(id);
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    for (let round = 0; round < 4; round++) {
      await new Promise((r) => setTimeout(r, 250));
      const leader = await cluster.leader();
      const to = cluster.followers(leader.id)[round % 2]!;
      await leader.transferLeadership(to.id).catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 200));
    stop = true;
    await Promise.all(workers);

    // Let every node apply everything, then compare.
    const leader = await cluster.leader();
    await leader.propose(enc.encode('final'));
    await until(
      () => [...logs.values()].every((l) => l.entries.at(-1)?.id === 'final'),
      10_000,
      'convergence',
    );
    const ref = logs.get(1)!.entries;
    for (const l of logs.values()) expect(l.entries).toEqual(ref);
    const where = new Map<string, number>();
    for (const e of ref) {
      expect(where.has(e.id), `${e.id} applied twice`).toBe(false);
      where.set(e.id, e.index);
    }
    for (const [id, index] of ok) expect(where.get(id), id).toBe(index);
    for (const id of dropped) expect(where.has(id), `${id} dropped but applied`).toBe(false);
    expect(ok.size).toBeGreaterThan(50);
    // Leadership did move, and proposals failed only around the moves.
    expect(leader.metrics().leaderChanges).toBeGreaterThanOrEqual(4);
  });
});
