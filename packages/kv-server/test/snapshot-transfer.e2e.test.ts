// Streamed snapshots between real raft-kv processes on 127.0.0.1: a new member catches up by a
// snapshot streamed from the leader's store into its own (restored while it arrives); SIGKILL
// of the receiver, and then of the sender, in the middle of a transfer leaves both
// consistent, and the transfer completes after the restart. "In the middle" is observed, not
// guessed: the receiver's store generation being restored (dataDir/kv/g<n> beside the live
// one) holds bytes when the kill is sent.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, TestCluster } from './support/e2e.js';

// Snapshots every 300 entries, 10 kept behind: a joining member always needs one.
const ARGS = ['--snapshot-interval', '300', '--snapshot-catch-up', '10', '--tick-ms', '50'];
const KEYS = 12_000;
const VALUE = 'v'.repeat(2048);

let tc: TestCluster;
const ledger = new Ledger();

beforeAll(async () => {
  tc = new TestCluster(ARGS);
  await tc.cluster.start(3);
  await tc.leader(30_000);
  // ~25 MB of values: a transfer that takes long enough to be caught in the middle.
  await ledger.putMany(tc, 'big/', 0, KEYS, 48, VALUE);
}, 180_000);

afterAll(async () => {
  await tc?.stop();
}, 30_000);

/**
 * Bytes of the incoming snapshot in node `id`'s data dir (0: none): the store generation
 * being restored while the stream arrives (dataDir/kv/g<n> that CURRENT does not name), or a
 * snapshot file being received (dataDir/sm-snap/*.tmp).
 */
function receiving(id: number): number {
  const data = tc.cluster.node(id).spec.dataDir;
  let n = 0;
  try {
    const kv = join(data, 'kv');
    const live = readFileSync(join(kv, 'CURRENT'), 'utf8').trim();
    for (const g of readdirSync(kv))
      if (/^g[0-9]+$/.test(g) && g !== live) n += dirBytes(join(kv, g));
  } catch {}
  try {
    const dir = join(data, 'sm-snap');
    for (const f of readdirSync(dir)) if (f.endsWith('.tmp')) n += statSync(join(dir, f)).size;
  } catch {}
  return n;
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir)) n += statSync(join(dir, f)).size;
  return n;
}

/** Bytes of the incoming snapshot that show it in the middle (an empty LevelDB is ~10 KiB). */
const MID_BYTES = 256 << 10;

/** Polls every 2 ms until node `id` is receiving a snapshot (MID_BYTES written). */
async function midTransfer(id: number, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = receiving(id);
    if (n > MID_BYTES) return n;
    if (Date.now() > deadline) throw new Error(`node ${id} never received a snapshot`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Acknowledged writes missing on node `id` (ranges by short prefixes: each under the limit). */
async function missingOn(id: number): Promise<string[]> {
  const prefixes = new Set([...ledger.acked.keys()].map((k) => k.slice(0, k.indexOf('/') + 2)));
  const seen = new Map<string, string>();
  for (const p of prefixes) {
    const r = await tc.client(id).range(p, { limit: 10_000, consistency: 'serializable' });
    expect(r.more).toBe(false);
    for (const kv of r.kvs) seen.set(kv.key, kv.value);
  }
  return [...ledger.acked].filter(([k, v]) => seen.get(k) !== v).map(([k]) => k);
}

async function caughtUpWithLeader(id: number): Promise<void> {
  const leader = await tc.leader();
  const commit = (await tc.status(leader)).commit;
  await tc.caughtUp(id, commit, 90_000);
}

describe('streamed snapshots between processes', () => {
  it('a joining member killed while receiving restarts and completes the transfer', async () => {
    await tc.withLogs(
      (async () => {
        const leader = await tc.leader();
        const via = [1, 2, 3].find((id) => id !== leader)!;
        await tc.cluster.join(4, via);
        const seen = await midTransfer(4);
        await tc.cluster.node(4).kill('SIGKILL');
        expect(seen).toBeGreaterThan(0);

        await tc.cluster.join(4, via); // rejoins: it is a member already
        await caughtUpWithLeader(4);
        // Its state came by a snapshot: restored after the restart, or (when the kill landed
        // just after the last chunk) installed before it; either way raft's log starts there.
        expect((await tc.status(4)).snapshotIndex).toBeGreaterThan(0);
        expect(receiving(4)).toBe(0); // no temp file left behind
        expect(await missingOn(4)).toEqual([]);
      })(),
    );
  }, 180_000);

  it('a sender killed mid-transfer: the member gets it from the new leader, both consistent', async () => {
    await tc.withLogs(
      (async () => {
        const sender = await tc.leader();
        const via = [1, 2, 3, 4].find((id) => id !== sender)!;
        await tc.cluster.join(5, via);
        await midTransfer(5);
        await tc.cluster.node(sender).kill('SIGKILL');

        const next = await tc.leader(30_000);
        expect(next).not.toBe(sender);
        await ledger.putMany(tc, 'after/', 0, 50, 8);
        await caughtUpWithLeader(5);
        expect(await missingOn(5)).toEqual([]);

        tc.cluster.restart(sender);
        await caughtUpWithLeader(sender);
        expect(await missingOn(sender)).toEqual([]);
        expect(receiving(5)).toBe(0);
      })(),
    );
  }, 180_000);
});
