// pnpm chaos [--duration-s 60] [--clients 8] [--keys 5] [--nodes 3] [--seed N] [--dir DIR]
//
// Starts raft-kv processes from this checkout, drives concurrent clients over a few keys
// through the history recorder while injecting faults (SIGKILL + restart of the leader,
// SIGSTOP / SIGCONT of a member, partitions of the leader through the peer proxy), then heals,
// reads every key, and checks the history: tsraft-lincheck's checker, a lost-write check
// against the final values, and negative controls (a planted stale read and a planted lost
// write must be caught). Prints one summary line; the history, the node logs and a timeline of
// a failing key stay in the directory it names. Exit 0 only when everything passed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KvClient } from '@tsraft/kv-server';
import {
  HistoryRecorder,
  Rng,
  checkHistory,
  findLostWrites,
  renderHtml,
  summaryLine,
} from '@tsraft/testkit';
import { failedForSure } from './classify.js';
import { ChaosCluster, type PartitionMode } from './cluster.js';
import { netnsAvailable, removeStaleNamespaces } from './netns.js';
import { plantLostWrite, plantStaleRead } from './plant.js';
import { runClients, sleep } from './workload.js';

const { values: a } = parseArgs({
  options: {
    'duration-s': { type: 'string', default: '60' },
    clients: { type: 'string', default: '8' },
    keys: { type: 'string', default: '5' },
    nodes: { type: 'string', default: '3' },
    seed: { type: 'string' },
    dir: { type: 'string' },
    'max-faults': { type: 'string', default: '1000' },
    partitions: { type: 'string', default: 'auto' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (a.help === true) {
  process.stdout.write(
    `usage: pnpm chaos [--duration-s 60] [--clients 8] [--keys 5] [--nodes 3] [--seed N] [--dir DIR] [--max-faults N] [--partitions auto|netns|proxy]\n`,
  );
  process.exit(0);
}
const durationMs = Number(a['duration-s']) * 1000;
const seed = a.seed === undefined ? Date.now() % 1_000_000 : Number(a.seed);
const rng = new Rng(seed);
const dir = resolve(a.dir ?? mkdtempSync(join(tmpdir(), 'tsraft-chaos-')));
const say = (line: string) => process.stderr.write(`[chaos] ${line}\n`);

if (!['auto', 'netns', 'proxy'].includes(a.partitions!)) {
  process.stderr.write('--partitions must be auto, netns or proxy\n');
  process.exit(2);
}
removeStaleNamespaces();
const partitions: PartitionMode =
  a.partitions === 'proxy'
    ? 'proxy'
    : a.partitions === 'netns' || netnsAvailable()
      ? 'netns'
      : 'proxy';
const cc = new ChaosCluster({
  partitions,
  dir,
  size: Number(a.nodes),
  // Fast ticks: more elections per minute; requests time out before clients give up.
  args: ['--tick-ms', '50', '--request-timeout', '2000', '--snapshot-interval', '2000'],
});
const faults = { kill: 0, stop: 0, partition: 0 };
let cleaning: Promise<void> | null = null;
const cleanup = () => {
  cleaning ??= cc.shutdown();
  return cleaning;
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    say(`${sig}: stopping every process of the run`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function waitLeader(timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const l = await cc.leader();
    if (l !== 0) return l;
    await sleep(200);
  }
  return 0;
}

/** One fault at a time: inject, hold 1-4 s, undo, rest 1-3 s. */
async function injectFaults(deadline: number, max: number): Promise<void> {
  for (let n = 0; n < max && Date.now() < deadline - 4_000; n++) {
    await sleep(1_000 + rng.int(2_000));
    const leader = await cc.leader();
    const hold = 1_000 + rng.int(3_000);
    const kind = rng.pick(['kill', 'stop', 'partition'] as const);
    const victim = kind === 'stop' && rng.chance(0.5) ? rng.pick(cc.ids) : leader;
    if (victim === 0) continue;
    faults[kind]++;
    say(`fault ${n + 1}: ${kind} node ${victim} for ${hold} ms`);
    if (kind === 'kill') {
      await cc.kill(victim);
      await sleep(hold);
      cc.restart(victim);
    } else if (kind === 'stop') {
      cc.pause(victim);
      await sleep(hold);
      cc.resume(victim);
    } else {
      cc.isolate(victim);
      await sleep(hold);
      cc.heal();
    }
  }
}

/** Each key's value once the cluster is whole again (recorded too). */
async function finalReads(rec: HistoryRecorder, keys: number, client: number) {
  const finals = new Map<string, string | null>();
  for (let k = 0; k < keys; k++) {
    const key = `k${k}`;
    for (let attempt = 0; attempt < 20 && !finals.has(key); attempt++) {
      const urls = cc.endpoints();
      const kv = new KvClient(urls[attempt % urls.length]!);
      try {
        const v = await rec.get(
          client,
          key,
          async () => (await kv.get(key, 'linearizable', { timeoutMs: 3000 }))?.value ?? null,
        );
        finals.set(key, v);
      } catch {
        await sleep(250);
      }
    }
  }
  return finals;
}

async function main(): Promise<number> {
  say(
    `seed ${seed}, partitions via ${partitions}, ${a.nodes} nodes, ${a.clients} clients, ${a.keys} keys, ${durationMs / 1000} s; history and logs in ${dir}`,
  );
  const rec = new HistoryRecorder({ file: join(dir, 'history.jsonl'), failedForSure });
  await cc.start();
  if ((await waitLeader(60_000)) === 0) throw new Error('no leader within 60 s of start');
  const deadline = Date.now() + durationMs;
  const clients = Number(a.clients);
  const keys = Number(a.keys);
  await Promise.all([
    runClients(rec, {
      clients,
      keys,
      endpoints: () => cc.endpoints(),
      deadline,
      maxOpsPerClient: 1_000_000,
      requestTimeoutMs: 3_000,
      random: () => rng.next(),
    }),
    injectFaults(deadline, Number(a['max-faults'])),
  ]);
  cc.healAll();
  if ((await waitLeader(30_000)) === 0) say('no leader 30 s after healing');
  const finals = await finalReads(rec, keys, clients + 1);
  await rec.close();
  const history = rec.operations;

  const verdict = checkHistory(history, { timeoutMs: 120_000 });
  const lost = findLostWrites(history, finals);
  if (verdict.verdict !== 'linearizable') {
    writeFileSync(join(dir, 'lincheck.html'), renderHtml(history, verdict));
  }
  writeFileSync(join(dir, 'lincheck.txt'), `${summaryLine(verdict)}\n`);
  // Negative controls: the same checks must catch anomalies planted in this history.
  const stale = plantStaleRead(history);
  const staleCaught = stale !== null && checkHistory(stale).verdict === 'not-linearizable';
  const plantedLost = plantLostWrite(history, finals);
  const lostCaught =
    checkHistory(plantedLost.history).verdict === 'not-linearizable' &&
    findLostWrites(plantedLost.history, plantedLost.finals).length > 0;

  const ok = history.filter((o) => o.ok === true).length;
  const failed = history.filter((o) => o.ok === false).length;
  const unknown = history.filter((o) => o.ok === null).length;
  const nFaults = faults.kill + faults.stop + faults.partition;
  const controls = `${Number(staleCaught) + Number(lostCaught)}/2${stale === null ? ' (no stale-read target)' : ''}`;
  process.stdout.write(
    `chaos: ops ${history.length} (ok ${ok}, failed ${failed}, unknown ${unknown}), faults ${nFaults} (kill ${faults.kill}, stop ${faults.stop}, partition ${faults.partition} via ${cc.partitions}), verdict ${verdict.verdict}, lost writes ${lost.length}, TRANSPORT_BAD_MESSAGE ${cc.badMessages}, controls caught ${controls}, seed ${seed}, dir ${dir}\n`,
  );
  if (verdict.verdict !== 'linearizable') process.stdout.write(`${summaryLine(verdict)}\n`);
  for (const l of lost.slice(0, 5)) {
    process.stdout.write(
      `lost write: key ${l.key} value ${l.write.value} (line ${l.write.line}), final ${l.final}\n`,
    );
  }
  const passed =
    verdict.verdict === 'linearizable' &&
    lost.length === 0 &&
    cc.badMessages === 0 &&
    staleCaught &&
    lostCaught;
  return passed ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  say(`failed: ${(err as Error).stack ?? err}`);
} finally {
  await cleanup();
}
if (code === 0) rmSync(join(dir, 'data'), { recursive: true, force: true });
process.exit(code);
