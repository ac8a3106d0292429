// etcd's own clients against a 3-process raft-kv cluster, over gRPC on the client port: the
// etcd3 npm client (one per member, and one over all three) and etcdctl from Debian's
// etcd-client package (skipped, saying so, where it is not installed).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { dirname, join } from 'node:path';
import { Etcd3, GRPCOutOfRangeError } from 'etcd3';
import { ConnectionPool } from 'etcd3/lib/connection-pool.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../src/process-cluster.js';
import { TestCluster, waitFor } from './support/e2e.js';

const ARGS = ['--tick-ms', '50'];

let tc: TestCluster;
let all: Etcd3;
const perNode = new Map<number, Etcd3>();

function host(id: number): string {
  return tc.cluster.node(id).clientUrl.replace(/^http:\/\//, '');
}

beforeAll(async () => {
  tc = new TestCluster(ARGS);
  await tc.cluster.start(3);
  await tc.leader(30_000);
  for (const id of [1, 2, 3]) perNode.set(id, new Etcd3({ hosts: host(id) }));
  all = new Etcd3({ hosts: [1, 2, 3].map(host) });
}, 60_000);

afterAll(async () => {
  all?.close();
  for (const c of perNode.values()) c.close();
  await tc?.stop();
}, 30_000);

describe('the etcd3 npm client against 3 raft-kv processes', () => {
  it('puts, gets and deletes on every member, with previous values', async () => {
    await tc.withLogs(
      (async () => {
        for (const id of [1, 2, 3]) {
          const c = perNode.get(id)!;
          await c.put(`e3/${id}`).value(`from ${id}`);
          // Linearizable reads on every member see every write acknowledged before them.
          for (const other of [1, 2, 3]) {
            expect(await perNode.get(other)!.get(`e3/${id}`).string()).toBe(`from ${id}`);
          }
        }
        const prev = await all.put('e3/1').value('again').getPrevious();
        expect(prev?.value.toString()).toBe('from 1');
        expect(Number(prev?.version)).toBe(1);
        const deleted = await all.delete().key('e3/1').getPrevious();
        expect(deleted.map((kv) => kv.value.toString())).toEqual(['again']);
        expect(await all.get('e3/1').string()).toBeNull();
        expect(await all.getAll().prefix('e3/').keys()).toEqual(['e3/2', 'e3/3']);
      })(),
    );
  });

  it('runs transactions: compares on value, version, create and mod revisions', async () => {
    await tc.withLogs(
      (async () => {
        const put = await all.put('tx/a').value('1');
        const rev = Number(put.header.revision);
        const ok = await all
          .if('tx/a', 'Value', '==', '1')
          .and('tx/a', 'Version', '==', 1)
          .and('tx/a', 'Create', '==', rev)
          .and('tx/a', 'Mod', '<', rev + 1)
          .then(all.put('tx/a').value('2'), all.put('tx/b').value('new'))
          .else(all.put('tx/failed').value('yes'))
          .commit();
        expect(ok.succeeded).toBe(true);
        expect(Number(ok.header.revision)).toBe(rev + 1); // one revision per transaction
        const no = await all
          .if('tx/a', 'Value', '==', '1')
          .then(all.put('tx/a').value('3'))
          .else(all.get('tx/b'))
          .commit();
        expect(no.succeeded).toBe(false);
        expect(no.responses[0]?.response_range?.kvs[0]?.value.toString()).toBe('new');
        expect(await all.getAll().prefix('tx/').strings()).toEqual({ 'tx/a': '2', 'tx/b': 'new' });
      })(),
    );
  });

  it('serves range options: prefix, range, limit, sort, keys and count only, revisions, filters', async () => {
    await tc.withLogs(
      (async () => {
        for (const [k, v] of [
          ['r/b', '2'],
          ['r/a', '3'],
          ['r/c', '1'],
        ]) {
          await all.put(k!).value(v!);
        }
        const first = await all.get('r/a').exec();
        const revA = Number(first.kvs[0]!.mod_revision);
        await all.put('r/a').value('changed');
        const c = perNode.get(2)!;
        expect(await c.getAll().prefix('r/').keys()).toEqual(['r/a', 'r/b', 'r/c']);
        expect(await c.getAll().prefix('r/').count()).toBe(3);
        const limited = await c.getAll().prefix('r/').limit(2).exec();
        expect(limited.more).toBe(true);
        expect(Number(limited.count)).toBe(3);
        expect(limited.kvs.map((kv) => kv.key.toString())).toEqual(['r/a', 'r/b']);
        expect(await c.getAll().prefix('r/').sort('Key', 'Descend').keys()).toEqual([
          'r/c',
          'r/b',
          'r/a',
        ]);
        expect(await c.getAll().prefix('r/').sort('Value', 'Ascend').keys()).toEqual([
          'r/c',
          'r/b',
          'r/a',
        ]);
        expect(await c.getAll().prefix('r/').sort('Mod', 'Descend').limit(1).keys()).toEqual([
          'r/a',
        ]);
        expect(await c.get('r/a').revision(revA).string()).toBe('3');
        expect(await c.get('r/a').string()).toBe('changed');
        expect(await c.getAll().inRange({ start: 'r/a', end: 'r/c' }).keys()).toEqual([
          'r/a',
          'r/b',
        ]);
        expect(
          await c
            .getAll()
            .prefix('r/')
            .minModRevision(revA + 2)
            .keys(),
        ).toEqual(['r/a']);
        expect(
          await c
            .getAll()
            .prefix('r/')
            .maxCreateRevision(revA - 1)
            .keys(),
        ).toEqual(['r/b']);
        // Serializable: this member's own state, which has seen the reads above.
        expect(await c.getAll().prefix('r/').serializable(true).count()).toBe(3);
      })(),
    );
  });

  it('compacts: old revisions are gone on every member, with etcd error codes', async () => {
    await tc.withLogs(
      (async () => {
        const p1 = await all.put('cmp/k').value('old');
        await all.put('cmp/k').value('new');
        const rev = Number(p1.header.revision);
        expect(await all.get('cmp/k').revision(rev).string()).toBe('old');
        const status = await all.maintenance.status();
        await all.kv.compact({ revision: Number(status.header.revision) });
        for (const id of [1, 2, 3]) {
          const err = await perNode
            .get(id)!
            .get('cmp/k')
            .revision(rev)
            .string()
            .catch((e) => e);
          expect(err).toBeInstanceOf(GRPCOutOfRangeError);
          expect(String(err.message)).toMatch('required revision has been compacted');
        }
        expect(await all.get('cmp/k').string()).toBe('new');
      })(),
    );
  });

  it('answers Status and MemberList as etcd does', async () => {
    const leader = await tc.leader();
    for (const id of [1, 2, 3]) {
      const st = await perNode.get(id)!.maintenance.status();
      expect(Number(st.header.member_id)).toBe(id);
      expect(Number(st.leader)).toBe(leader);
      expect(Number(st.raftTerm)).toBeGreaterThan(0);
      expect(Number(st.dbSize)).toBeGreaterThan(0);
    }
    const clusterIds = await Promise.all(
      [1, 2, 3].map(async (id) => (await perNode.get(id)!.maintenance.status()).header.cluster_id),
    );
    expect(new Set(clusterIds).size).toBe(1);
    // A member publishes its client URL through raft once it runs; until then etcd, too,
    // lists it without one.
    const list = await waitFor('every member to publish its client URL', async () => {
      const l = await all.cluster.memberList({});
      return l.members.every((m) => m.clientURLs.length > 0) && l;
    });
    expect(list.members.map((m) => Number(m.ID)).sort()).toEqual([1, 2, 3]);
    for (const m of list.members) {
      expect(m.clientURLs).toEqual([tc.cluster.node(Number(m.ID)).clientUrl]);
    }
  });
});

describe('an etcd3 watch across a SIGKILL of the leader', () => {
  it('sees every acknowledged put once, in revision order, and the member comes back', async () => {
    await tc.withLogs(
      (async () => {
        const leader = await tc.leader();
        const followers = [1, 2, 3].filter((id) => id !== leader);
        // The watch stream goes to the leader (etcd3 shuffles hosts unless told not to; in
        // deterministic order it tries the last first), so the kill cuts it and etcd3 resumes
        // on a follower from the revision it had seen.
        ConnectionPool.deterministicOrder = true;
        const watching = new Etcd3({ hosts: [...followers, leader].map(host) });
        const writer = new Etcd3({ hosts: followers.map(host) });
        const seen: { key: string; rev: number }[] = [];
        try {
          const w = await watching.watch().prefix('wk/').create();
          // Reconnects must pick the live hosts, in random order again.
          ConnectionPool.deterministicOrder = false;
          w.on('put', (kv) => seen.push({ key: kv.key.toString(), rev: Number(kv.mod_revision) }));
          let disconnects = 0;
          w.on('disconnected', () => disconnects++);
          const acked = new Map<string, number>();
          const put = async (k: string): Promise<void> => {
            for (let attempt = 0; ; attempt++) {
              try {
                const r = await writer.put(k).value(k);
                acked.set(k, Number(r.header.revision));
                return;
              } catch (err) {
                if (attempt > 50) throw err;
                await new Promise((r) => setTimeout(r, 100));
              }
            }
          };
          for (let i = 0; i < 20; i++) await put(`wk/${i}`);
          expect(await tc.cluster.node(leader).kill('SIGKILL')).toBe('SIGKILL');
          for (let i = 20; i < 40; i++) await put(`wk/${i}`);
          await waitFor('the watch to see every acknowledged put', async () =>
            [...acked.keys()].every((k) => seen.some((e) => e.key === k)),
          );
          expect(disconnects).toBeGreaterThan(0); // the kill did cut this stream
          const revs = seen.map((e) => e.rev);
          expect(revs).toEqual([...new Set(revs)].sort((a, b) => a - b)); // ordered, no repeats
          // A put retried after an unknown outcome may have applied twice: its last event is
          // the acknowledged one.
          for (const [k, rev] of acked) {
            expect(seen.filter((e) => e.key === k).at(-1)?.rev).toBe(rev);
          }
          await w.cancel();
        } finally {
          ConnectionPool.deterministicOrder = false;
          watching.close();
          writer.close();
          if (!tc.cluster.node(leader).running) tc.cluster.restart(leader);
        }
        await waitFor('the killed member to serve again', async () => {
          const st = await perNode.get(leader)!.maintenance.status();
          return Number(st.leader) !== 0;
        });
      })(),
    );
  });
});

describe('an etcd3 lease across a SIGKILL of the leader', () => {
  it('is renewed by the new leader, its key stays, and it expires once not kept alive', async () => {
    await tc.withLogs(
      (async () => {
        const leader = await tc.leader();
        const followers = [1, 2, 3].filter((id) => id !== leader);
        // Keepalives go to the followers, which forward them to the leader, as etcd's do.
        const holder = new Etcd3({ hosts: followers.map(host) });
        const reader = new Etcd3({ hosts: followers.map(host) });
        try {
          const lease = holder.lease(3);
          let lost = false;
          lease.on('lost', () => {
            lost = true;
          });
          let renewed = 0;
          lease.on('keepaliveSucceeded', () => renewed++);
          await lease.put('lk/held').value('v');
          const id = await lease.grant();
          await waitFor('a first keepalive', async () => renewed > 0);
          expect(await tc.cluster.node(leader).kill('SIGKILL')).toBe('SIGKILL');
          await waitFor('a new leader', async () => {
            const st = await reader.maintenance.status().catch(() => undefined);
            return st !== undefined && ![0, leader].includes(Number(st.leader));
          });
          const before = renewed;
          // Well past the TTL: the lease lives on through keepalives to the new leader.
          await new Promise((r) => setTimeout(r, 5000));
          expect(renewed).toBeGreaterThan(before);
          expect(lost).toBe(false);
          expect(await reader.get('lk/held').string()).toBe('v');
          expect((await reader.get('lk/held').exec()).kvs[0]?.lease).toBe(id);

          lease.release(); // stops keeping it alive, without revoking it
          const stopped = Date.now();
          await waitFor('the lease to expire and take its key', async () => {
            return (await reader.get('lk/held').string()) === null;
          });
          expect(Date.now() - stopped).toBeGreaterThan(1500);
          const ttl = await reader.leaseClient.leaseTimeToLive({ ID: id });
          expect(Number(ttl.TTL)).toBe(-1);
        } finally {
          holder.close();
          reader.close();
          if (!tc.cluster.node(leader).running) tc.cluster.restart(leader);
        }
        await waitFor('the killed member to serve again', async () => {
          const st = await perNode.get(leader)!.maintenance.status();
          return Number(st.leader) !== 0;
        });
      })(),
    );
  });
});

function hasEtcdctl(): boolean {
  try {
    execFileSync('etcdctl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const ETCDCTL = hasEtcdctl();
if (!ETCDCTL) {
  process.stderr.write(
    'etcdctl tests skipped: etcdctl is not installed (Debian: apt-get install etcd-client)\n',
  );
}

interface CtlRun {
  /** Exit code (null when killed by the timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** etcdctl (API v3) against every member (or those of `members`), whatever its exit code. */
function runEtcdctl(
  args: string[],
  input?: string,
  timeoutMs = 20_000,
  members = [1, 2, 3],
): Promise<CtlRun> {
  const endpoints = members.map(host).join(',');
  return new Promise((resolve) => {
    const child = execFile(
      'etcdctl',
      ['--endpoints', endpoints, '--command-timeout', '10s', ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout, stderr: stderr || (err?.message ?? '') });
      },
    );
    // etcdctl may exit before reading its stdin (EPIPE): its exit status tells what happened.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

/** etcdctl as runEtcdctl; resolves with stdout, rejects with stderr unless it exits 0. */
async function etcdctl(
  args: string[],
  input?: string,
  timeoutMs = 20_000,
  members = [1, 2, 3],
): Promise<string> {
  const r = await runEtcdctl(args, input, timeoutMs, members);
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** What `etcdctl watch …` prints until its output contains `until`; then it is stopped. */
function watchOutput(args: string[], until: string): Promise<string> {
  const endpoints = [1, 2, 3].map(host).join(',');
  const child = spawn('etcdctl', ['--endpoints', endpoints, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`etcdctl ${args.join(' ')} printed only: ${JSON.stringify(out)}`));
    }, 15_000);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes(until) && out.endsWith('\n\n')) {
        clearTimeout(timer);
        child.kill('SIGTERM');
        resolve(out);
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/** A long-running etcdctl (lock, elect): what it printed so far; stopped by the test. */
class HeldCtl {
  out = '';
  private readonly child: ReturnType<typeof spawn>;
  private readonly exited: Promise<void>;

  constructor(args: string[]) {
    const endpoints = [1, 2, 3].map(host).join(',');
    this.child = spawn('etcdctl', ['--endpoints', endpoints, ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (b: Buffer) => {
      this.out += b.toString();
    });
    this.child.stderr?.on('data', (b: Buffer) => {
      this.out += b.toString();
    });
    this.exited = once(this.child, 'exit').then(() => undefined);
  }

  async printed(re: RegExp, ms = 15_000): Promise<RegExpMatchArray> {
    return waitFor(
      `etcdctl to print ${re} (printed ${JSON.stringify(this.out)})`,
      async () => this.out.match(re) ?? undefined,
      ms,
      50,
    );
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}

/** Runs `body` with the cluster's logs on failure; every etcdctl it starts is killed after. */
async function withHeldCtls(body: (ctl: (args: string[]) => HeldCtl) => Promise<void>) {
  const held: HeldCtl[] = [];
  try {
    await tc.withLogs(
      body((args) => {
        const c = new HeldCtl(args);
        held.push(c);
        return c;
      }),
    );
  } finally {
    for (const c of held) await c.stop('SIGKILL');
  }
}

describe.skipIf(!ETCDCTL)('etcdctl against 3 raft-kv processes', () => {
  it('lock: two lockers exclude each other; a killed holder keeps it until its lease ends', async () => {
    await withHeldCtls(async (ctl) => {
      const a = ctl(['lock', 'ctl/lock']);
      await a.printed(/^ctl\/lock\/[0-9a-f]+$/m);
      const b = ctl(['lock', 'ctl/lock']);
      await new Promise((r) => setTimeout(r, 1500));
      expect(b.out).toBe(''); // waits behind a
      await a.stop('SIGTERM'); // unlocks
      await b.printed(/^ctl\/lock\/[0-9a-f]+$/m);

      // b dies holding the lock: its key stays while its session's lease lives, so c
      // waits; the lease's end (a revoke here: etcdctl's sessions last 60 s) frees it.
      const c = ctl(['lock', 'ctl/lock']);
      await b.stop('SIGKILL');
      await new Promise((r) => setTimeout(r, 1500));
      expect(c.out).toBe('');
      const keys = JSON.parse(await etcdctl(['get', 'ctl/lock/', '--prefix', '-w', 'json']));
      const holder = keys.kvs.sort(
        (x: { create_revision: number }, y: { create_revision: number }) =>
          x.create_revision - y.create_revision,
      )[0];
      expect(Buffer.from(holder.key, 'base64').toString()).toBe(b.out.trim());
      await etcdctl(['lease', 'revoke', BigInt(holder.lease).toString(16)]);
      await c.printed(/^ctl\/lock\/[0-9a-f]+$/m);
    });
  });

  it('elect: one leader at a time, observed with --listen; the next one leads once it is gone', async () => {
    await withHeldCtls(async (ctl) => {
      const a = ctl(['elect', 'ctl/elect', 'alpha']);
      await a.printed(/^ctl\/elect\/[0-9a-f]+\nalpha$/m);
      const b = ctl(['elect', 'ctl/elect', 'beta']);
      const watcher = ctl(['elect', '--listen', 'ctl/elect']);
      await watcher.printed(/alpha/);
      await new Promise((r) => setTimeout(r, 1500));
      expect(b.out).toBe('');
      await a.stop('SIGTERM'); // resigns
      await b.printed(/^ctl\/elect\/[0-9a-f]+\nbeta$/m);
      await watcher.printed(/alpha\n(.|\n)*beta/);
    });
  });

  it('check perf --load s: its keys are bytes that are not UTF-8; the throughput passes', async () => {
    await tc.withLogs(
      (async () => {
        // About 60 s of puts from 50 clients at 150 puts/s, then a prefix delete.
        // It exits 1 when any verdict fails; its output says which.
        const run = await runEtcdctl(['check', 'perf', '--load', 's'], undefined, 120_000);
        const out = run.stdout;
        const verdicts = out
          .split('\n')
          .filter((l) => /^(PASS|FAIL|Slowest|Stddev)/.test(l) || l.includes('too'));
        const perCore = os.loadavg()[0]! / os.cpus().length;
        process.stderr.write(
          `etcdctl check perf (exit ${run.code}, load ${perCore.toFixed(2)} per core): ${verdicts.join(' | ')}\n`,
        );
        expect(out, run.stderr).toMatch(/^PASS: Throughput is \d+ writes\/s$/m);
        // Latency verdicts (slowest request under 0.5 s, stddev under 0.1 s) held with a wide
        // margin at load 1.25 per core (0.074 s, 0.004 s) and failed at 5 (0.93 s, 0.16 s):
        // on a machine that busy they say more about the machine.
        if (perCore < 1.5) {
          expect(out).toMatch(/^PASS: Slowest request took /m);
          expect(out).toMatch(/^PASS: Stddev is /m);
          expect(out).toMatch(/^PASS$/m);
          expect(run.code).toBe(0);
          // It deletes its keys at the end.
          const left = await etcdctl(['get', '/etcdctl-check-perf/', '--prefix', '--keys-only']);
          expect(left).toBe('');
        } else {
          process.stderr.write('check perf latency verdicts not asserted at that load\n');
          expect(run.code === 0 || /^FAIL$/m.test(out)).toBe(true);
        }
      })(),
    );
  }, 150_000);

  it('put, get with its flags, del', async () => {
    await tc.withLogs(
      (async () => {
        for (const [k, v] of [
          ['ctl/b', 'x2'],
          ['ctl/a', 'x3'],
          ['ctl/c', 'x1'],
        ]) {
          expect(await etcdctl(['put', k!, v!])).toBe('OK\n');
        }
        expect(await etcdctl(['get', 'ctl/a'])).toBe('ctl/a\nx3\n');
        expect(await etcdctl(['get', 'ctl/', '--prefix', '--keys-only'])).toBe(
          'ctl/a\n\nctl/b\n\nctl/c\n\n',
        );
        expect(
          await etcdctl(['get', 'ctl/', '--prefix', '--limit', '2', '--print-value-only']),
        ).toBe('x3\nx2\n');
        expect(
          await etcdctl([
            'get',
            'ctl/',
            '--prefix',
            '--sort-by',
            'VALUE',
            '--order',
            'ASCEND',
            '--keys-only',
          ]),
        ).toBe('ctl/c\n\nctl/b\n\nctl/a\n\n');
        expect(await etcdctl(['get', 'ctl/b', '--from-key', '--keys-only'])).toMatch(
          /^ctl\/b\n\nctl\/c\n\n/,
        );
        const json = JSON.parse(await etcdctl(['get', 'ctl/', '--prefix', '-w', 'json']));
        expect(json.count).toBe(3);
        const revA = json.kvs.find((kv: { key: string }) => kv.key === btoa('ctl/a')).mod_revision;
        await etcdctl(['put', 'ctl/a', 'changed']);
        expect(await etcdctl(['get', 'ctl/a', '--rev', String(revA), '--print-value-only'])).toBe(
          'x3\n',
        );
        // --count-only came with etcdctl 3.5; Debian's may be 3.4.
        if ((await etcdctl(['get', '--help'])).includes('--count-only')) {
          const c = JSON.parse(
            await etcdctl(['get', 'ctl/', '--prefix', '--count-only', '-w', 'json']),
          );
          expect(c.count).toBe(3);
        }
        expect(await etcdctl(['del', 'ctl/c'])).toBe('1\n');
        expect(await etcdctl(['del', 'ctl/', '--prefix', '--prev-kv'])).toBe(
          '2\nctl/a\nchanged\nctl/b\nx2\n',
        );
        expect(await etcdctl(['get', 'ctl/', '--prefix'])).toBe('');
      })(),
    );
  });

  it('watch with --rev and --prev-kv replays history; below the compacted revision it is canceled', async () => {
    await tc.withLogs(
      (async () => {
        const first = JSON.parse(await etcdctl(['put', 'ctl/w/a', '1', '-w', 'json'])).header
          .revision;
        await etcdctl(['put', 'ctl/w/a', '2']);
        await etcdctl(['del', 'ctl/w/a']);
        const args = ['watch', 'ctl/w/', '--prefix', '--rev', String(first), '--prev-kv'];
        const out = await watchOutput(args, 'DELETE');
        expect(out).toBe(
          'PUT\nctl/w/a\n1\nPUT\nctl/w/a\n1\nctl/w/a\n2\nDELETE\nctl/w/a\n2\nctl/w/a\n\n',
        );
      })(),
    );
  });

  it('lease grant, put --lease, timetolive --keys, keep-alive --once, list, revoke', async () => {
    await tc.withLogs(
      (async () => {
        const granted = await etcdctl(['lease', 'grant', '60']);
        const m = /^lease ([0-9a-f]+) granted with TTL\(60s\)\n$/.exec(granted);
        expect(m, granted).not.toBeNull();
        const id = m![1]!;
        expect(await etcdctl(['put', '--lease', id, 'ctl/l/a', 'v'])).toBe('OK\n');
        expect(await etcdctl(['put', `--lease=${id}`, 'ctl/l/b', 'w'])).toBe('OK\n');
        expect(await etcdctl(['lease', 'timetolive', id, '--keys'])).toMatch(
          new RegExp(
            `^lease ${id} granted with TTL\\(60s\\), remaining\\(5\\ds\\), attached keys\\(\\[ctl/l/a ctl/l/b\\]\\)\n$`,
          ),
        );
        expect(await etcdctl(['lease', 'keep-alive', '--once', id])).toBe(
          `lease ${id} keepalived with TTL(60)\n`,
        );
        expect((await etcdctl(['lease', 'list'])).split('\n')).toContain(id);
        await expect(etcdctl(['put', '--lease', 'abc123', 'ctl/l/c', 'x'])).rejects.toThrow(
          'requested lease not found',
        );
        expect(await etcdctl(['lease', 'revoke', id])).toBe(`lease ${id} revoked\n`);
        expect(await etcdctl(['get', 'ctl/l/', '--prefix'])).toBe('');
        expect(await etcdctl(['lease', 'timetolive', id])).toBe(`lease ${id} already expired\n`);
        await expect(etcdctl(['lease', 'revoke', id])).rejects.toThrow(
          'etcdserver: requested lease not found',
        );
      })(),
    );
  });

  it('alarm list, defrag, endpoint hashkv (the members agree), snapshot save, move-leader', async () => {
    await tc.withLogs(
      (async () => {
        for (let i = 0; i < 20; i++) await etcdctl(['put', `ctl/m/${i}`, `v${i}`]);
        const rev = JSON.parse(await etcdctl(['put', 'ctl/m/last', 'x', '-w', 'json'])).header
          .revision as number;
        expect(await etcdctl(['alarm', 'list'])).toBe('');
        const defrag = await etcdctl(['defrag']);
        for (const id of [1, 2, 3]) {
          expect(defrag).toContain(`Finished defragmenting etcd member[${host(id)}]`);
        }
        // Every member has applied `rev` once none answers "future revision".
        const hashes = await waitFor('every member to answer HashKV at the last put', async () => {
          const out = JSON.parse(
            await etcdctl(['endpoint', 'hashkv', '--rev', String(rev), '-w', 'json']),
          );
          return out as { Endpoint: string; HashKV: { hash: number; compact_revision?: number } }[];
        });
        expect(hashes.map((h) => h.Endpoint).sort()).toEqual([1, 2, 3].map(host).sort());
        expect(new Set(hashes.map((h) => h.HashKV.hash)).size).toBe(1);
        expect(hashes[0]!.HashKV.hash).toBeGreaterThan(0);

        const file = join(mkdtempSync(join(os.tmpdir(), 'tsraft-kv-snap-')), 'snap.db');
        try {
          expect(await etcdctl(['snapshot', 'save', file], undefined, 30_000, [1])).toMatch(
            `Snapshot saved at ${file}`,
          );
          const saved = readFileSync(file);
          expect(saved.subarray(0, 5).toString('latin1')).toBe('TSKV\u0005');
          expect(saved.length % 512).toBe(32);
        } finally {
          rmSync(dirname(file), { recursive: true, force: true });
        }

        const leader = await tc.leader();
        const to = leader === 3 ? 2 : 3;
        expect(await etcdctl(['move-leader', to.toString(16)])).toMatch(
          /^Leadership transferred from \w+ to \w+/,
        );
        await waitFor('the new leader', async () => (await tc.leader()) === to);
      })(),
    );
  });

  it('txn, compaction, member list/add/promote/update/remove, endpoint status and health', async () => {
    await tc.withLogs(
      (async () => {
        await etcdctl(['put', 'ctl/t', 'v1']);
        const txn = (cmp: string) => etcdctl(['txn'], `${cmp}\n\nput ctl/t v2\n\nget ctl/t\n\n`);
        expect(await txn('value("ctl/t") = "v1"')).toBe('SUCCESS\n\nOK\n');
        expect(await txn('value("ctl/t") = "v1"')).toBe('FAILURE\n\nctl/t\nv2\n');

        const rev = JSON.parse(await etcdctl(['get', 'ctl/t', '-w', 'json'])).header.revision;
        expect(await etcdctl(['compaction', String(rev)])).toBe(`compacted revision ${rev}\n`);
        await expect(etcdctl(['get', 'ctl/t', '--rev', String(rev - 1)])).rejects.toThrow(
          'required revision has been compacted',
        );

        const canceled = await etcdctl(['watch', 'ctl/t', '--rev', '1']).catch((e) => e);
        expect(String(canceled)).toMatch(
          'watch was canceled (etcdserver: mvcc: required revision has been compacted)',
        );

        const members = (await etcdctl(['member', 'list'])).trim().split('\n');
        expect(members).toHaveLength(3);
        for (const id of [1, 2, 3]) {
          expect(members).toContain(
            `${id.toString(16)}, started, node-${id}, http://127.0.0.1:${tc.cluster.node(id).spec.peerPort}, ${tc.cluster.node(id).clientUrl}, false`,
          );
        }

        // A learner added and removed again (it never starts: no quorum changes).
        const [port] = await freePorts(1);
        const peer = `http://127.0.0.1:${port}`;
        expect(await etcdctl(['member', 'add', 'node4', '--peer-urls', peer, '--learner'])).toMatch(
          /^Member\s+4 added to cluster/,
        );
        expect(await etcdctl(['member', 'list'])).toContain(`4, unstarted, , ${peer}, , true`);
        await expect(etcdctl(['member', 'add', 'again', '--peer-urls', peer])).rejects.toThrow(
          'etcdserver: Peer URLs already exists',
        );
        await expect(etcdctl(['member', 'promote', '1'])).rejects.toThrow(
          'etcdserver: can only promote a learner member',
        );
        // It moves before it ever started: every member dials it at the new address.
        const [port2] = await freePorts(1);
        const moved = `http://127.0.0.1:${port2}`;
        expect(await etcdctl(['member', 'update', '4', '--peer-urls', moved])).toMatch(
          /^Member\s+4 updated in cluster/,
        );
        expect(await etcdctl(['member', 'list'])).toContain(`4, unstarted, , ${moved}, , true`);
        const taken = `http://127.0.0.1:${tc.cluster.node(1).spec.peerPort}`;
        await expect(etcdctl(['member', 'update', '4', '--peer-urls', taken])).rejects.toThrow(
          'etcdserver: Peer URLs already exists',
        );
        await expect(etcdctl(['member', 'update', '9', '--peer-urls', peer])).rejects.toThrow(
          'etcdserver: member not found',
        );
        expect(await etcdctl(['member', 'remove', '4'])).toMatch(
          /^Member\s+4 removed from cluster/,
        );
        await expect(etcdctl(['member', 'remove', '4'])).rejects.toThrow(
          'etcdserver: member not found',
        );
        expect((await etcdctl(['member', 'list'])).trim().split('\n')).toHaveLength(3);

        // clientv3 authenticates first; etcd's "authentication is not enabled" is the answer it
        // recognizes (by code and message) and goes on without a token, as with etcd.
        expect(await etcdctl(['--user', 'root:pw', 'get', 'ctl/t'])).toBe('ctl/t\nv2\n');

        const status = JSON.parse(await etcdctl(['endpoint', 'status', '-w', 'json']));
        expect(status).toHaveLength(3);
        const leaders = new Set(status.map((s: { Status: { leader: number } }) => s.Status.leader));
        expect(leaders.size).toBe(1);
        const health = JSON.parse(await etcdctl(['endpoint', 'health', '-w', 'json']));
        expect(health.map((h: { health: boolean }) => h.health)).toEqual([true, true, true]);
      })(),
    );
  });
});
