// End to end with real raft-kv processes on 127.0.0.1: a 3-node cluster serves puts and gets;
// SIGKILL of the leader elects a new one and writes continue; the killed node restarts and
// catches up by snapshot; a fourth node joins and a node is removed; a full restart from the
// data dirs loses nothing; every acknowledged write is readable on every member.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvHttpError } from '../src/client.js';
import { Ledger, TestCluster, waitFor } from './support/e2e.js';

// Small snapshot interval so that a node down for a few hundred writes needs a snapshot;
// 50 ms ticks so that elections take about a second.
const ARGS = ['--snapshot-interval', '50', '--snapshot-catch-up', '10', '--tick-ms', '50'];

let tc: TestCluster;
const ledger = new Ledger();

beforeAll(async () => {
  tc = new TestCluster(ARGS);
  await tc.cluster.start(3);
  await tc.leader(30_000);
}, 60_000);

afterAll(async () => {
  await tc?.stop();
}, 30_000);

describe('a 3-node raft-kv cluster of processes', () => {
  it('serves puts and gets on every node; followers forward writes', async () => {
    await tc.withLogs(
      (async () => {
        const leader = await tc.leader();
        const follower = [1, 2, 3].find((id) => id !== leader)!;
        await tc.client(leader).put('hello', 'from the leader');
        await tc.client(follower).put('hello2', 'from a follower');
        ledger.acked.set('hello', 'from the leader');
        ledger.acked.set('hello2', 'from a follower');
        for (const id of [1, 2, 3]) {
          // Linearizable reads see both writes at once, on every node.
          expect((await tc.client(id).get('hello'))?.value).toBe('from the leader');
          expect((await tc.client(id).get('hello2'))?.value).toBe('from a follower');
        }
        const cas = await tc
          .client(follower)
          .cas('hello', { expectValue: 'nope', value: 'x' })
          .catch((e) => e);
        expect(cas).toBeInstanceOf(KvHttpError);
        expect((cas as KvHttpError).code).toBe('compare_failed');
        await ledger.putMany(tc, 'a/', 0, 40);
        const members = await tc.client(follower).members();
        expect(members.members.map((m) => m.id)).toEqual([1, 2, 3]);
        // Each node publishes its client URL.
        await waitFor('client URLs', async () =>
          (await tc.client(1).members()).members.every((m) => m.clientUrl !== null),
        );
      })(),
    );
  });

  let killed = 0;
  let killedApplied = 0;

  it('elects a new leader after SIGKILL of the leader, and writes continue', async () => {
    await tc.withLogs(
      (async () => {
        const old = await tc.leader();
        killedApplied = (await tc.status(old)).applied;
        const code = await tc.cluster.node(old).kill('SIGKILL');
        expect(code).toBe('SIGKILL');
        killed = old;
        const t0 = Date.now();
        const leader = await tc.leader(20_000);
        expect(leader).not.toBe(old);
        // Writes through both survivors; far more than the snapshot interval.
        await ledger.putMany(tc, 'b/', 0, 300, 16);
        const took = Date.now() - t0;
        expect(took).toBeLessThan(60_000);
        const s = await tc.status(leader);
        expect(s.role).toBe('leader');
        // The leader compacted its log past what the killed node has: it needs a snapshot.
        await waitFor('the leader to compact its log', async () => {
          const st = await tc.status(leader);
          return st.firstIndex > killedApplied + 1;
        });
      })(),
    );
  });

  it('restarts the killed node from its data dir; it catches up by snapshot', async () => {
    await tc.withLogs(
      (async () => {
        // It comes back redirecting writes instead of forwarding them (checked below).
        tc.cluster.node(killed).spawn(['--follower-writes', 'redirect']);
        const leader = await tc.leader();
        const commit = (await tc.status(leader)).commit;
        const s = await tc.caughtUp(killed, commit);
        // Its log now starts beyond the entries it had, which the leader no longer has:
        // it got there through a snapshot.
        expect(s.snapshotIndex).toBeGreaterThan(killedApplied);
        expect(await ledger.verify(tc, killed, 'serializable')).toEqual([]);
        const metrics = await (await fetch(`${tc.cluster.node(killed).clientUrl}/metrics`)).text();
        const restored = Number(/^raft_snapshots_restored_total (\d+)/m.exec(metrics)?.[1]);
        expect(restored).toBeGreaterThanOrEqual(1);

        // --follower-writes redirect: 307 to the leader's client URL, which fetch follows.
        const now = await tc.leader();
        if (now !== killed) {
          const url = `${tc.cluster.node(killed).clientUrl}/v1/kv/redirected`;
          const body = JSON.stringify({ value: 'via 307' });
          const r = await fetch(url, { method: 'PUT', body, redirect: 'manual' });
          expect(r.status).toBe(307);
          expect(r.headers.get('location')).toBe(
            `${tc.cluster.node(now).clientUrl}/v1/kv/redirected`,
          );
          const followed = await fetch(url, { method: 'PUT', body });
          expect(followed.status).toBe(200);
          ledger.acked.set('redirected', 'via 307');
        }
      })(),
    );
  });

  it('lets a fourth node join and removes another', async () => {
    await tc.withLogs(
      (async () => {
        const leader = await tc.leader();
        const via = [1, 2, 3].find((id) => id !== leader)!;
        await tc.cluster.join(4, via);
        await waitFor('node 4 to be a voter', async () => {
          const m = await tc.client(leader).members();
          return m.members.some((x) => x.id === 4 && x.role === 'voter');
        });
        const commit = (await tc.status(leader)).commit;
        await tc.caughtUp(4, commit);
        await ledger.putMany(tc, 'c/', 0, 40);
        expect(await ledger.verify(tc, 4, 'linearizable')).toEqual([]);

        // Remove a follower that is not node 4, through node 4.
        const now = await tc.leader();
        const victim = [1, 2, 3].find((id) => id !== now)!;
        const res = await tc.client(4).removeMember(victim);
        expect((res as { removed: number }).removed).toBe(victim);
        const m = await tc.client(4).members();
        expect(m.members.map((x) => x.id)).not.toContain(victim);
        expect(m.members).toHaveLength(3);
        // The removed process exits by itself, saying why: it applied its removal, or the
        // members refused its connection as removed.
        const exited = await Promise.race([
          tc.cluster.node(victim).exited,
          new Promise((r) => setTimeout(() => r('still running'), 20_000)),
        ]);
        expect(exited).toBe(0);
        expect(tc.cluster.node(victim).running).toBe(false);
        expect(
          tc.logs.some(
            (l) => l.startsWith(`[${victim}]`) && l.includes('removed from the cluster: exiting'),
          ),
        ).toBe(true);
        // The cluster works without it.
        await ledger.putMany(tc, 'd/', 0, 30);
      })(),
    );
  });

  it('loses nothing acknowledged across a full graceful restart', async () => {
    await tc.withLogs(
      (async () => {
        const members = tc.cluster.running().map((n) => n.id);
        expect(members).toHaveLength(3);
        await tc.cluster.stop();
        for (const id of members) expect(tc.cluster.node(id).running).toBe(false);
        for (const id of members) {
          // Node 4 keeps its --join flag, as a service manager would: with a log in its data
          // dir it must not ask to join again (and must not wait for the others to answer).
          if (id === 4) {
            const other = members.find((x) => x !== 4)!;
            tc.cluster.node(4).spawn(['--join', tc.cluster.node(other).clientUrl]);
          } else {
            tc.cluster.restart(id);
          }
        }
        const leader = await tc.leader(30_000);
        await ledger.put(tc, 'after-restart', 'yes');
        const commit = (await tc.status(leader)).commit;
        for (const id of members) {
          await tc.caughtUp(id, commit);
          expect(await ledger.verify(tc, id, 'linearizable')).toEqual([]);
          expect(await ledger.verify(tc, id, 'serializable')).toEqual([]);
        }
        expect(ledger.acked.size).toBeGreaterThan(400);
      })(),
    );
  });
});
