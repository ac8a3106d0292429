// The kv suite's measurements that need more than a load window: memory against data size,
// a member joining a loaded cluster, fsyncs per put, server CPU per put. Each takes a running
// KvSystem (lib/kv-systems.ts) and the generator that loads it (lib/kv-gen.ts), so raft-kv
// and etcd go through the same code.
import { setTimeout as sleep } from 'node:timers/promises';
import { type SyncCounter, callsMatching, countSyncs } from './fsync-count.js';
import type { RunResult } from './kv-load.js';
import { GENERATOR_START_MS, type KeySpace, type KvGenerator } from './kv-gen.js';
import type { KvMember, KvSystem } from './kv-systems.js';
import { MiB, cpuSeconds, dirBytes, memStatus, resetPeak } from './proc.js';

/** The memory and join rows' keys: "mem/0000042", values of 1 KiB. */
export function memKeySpace(keys: number): KeySpace {
  return { prefix: 'mem/', width: 7, keys, valueBytes: 1024 };
}

/** Bytes of keys and values the cluster holds (what a user would call the data). */
export function logicalBytes(ks: KeySpace, keys: number): number {
  return keys * (ks.prefix.length + ks.width + ks.valueBytes);
}

/** Members labelled by role: the leader first, then followers by id. */
export async function byRole(sys: KvSystem): Promise<{ label: string; m: KvMember }[]> {
  const leader = await sys.leader();
  const followers = sys
    .members()
    .filter((m) => m.id !== leader.id)
    .sort((a, b) => a.id - b.id);
  return [
    { label: 'leader', m: leader },
    ...followers.map((m, i) => ({ label: `follower ${i + 1}`, m })),
  ];
}

/** Waits until every member has applied what the leader had (at most `timeoutMs`). */
export async function settle(sys: KvSystem, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const leader = await sys.leader();
  const target = (await sys.progress(leader)).applied;
  while (Date.now() < deadline) {
    const ps = await Promise.all(sys.members().map((m) => sys.progress(m).catch(() => null)));
    if (ps.every((p) => p !== null && p.applied >= target)) return true;
    await sleep(200);
  }
  return false;
}

/** Waits until the leader's revision has grown by `by` (a load generator is running). */
export async function waitForLoad(sys: KvSystem, by = 20, timeoutMs = 30_000): Promise<void> {
  const leader = await sys.leader();
  const r0 = (await sys.progress(leader)).revision;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await sleep(100);
    const r = (await sys.progress(leader).catch(() => null))?.revision ?? r0;
    if (r - r0 >= by) return;
  }
  throw new Error(`${sys.impl}: the load generator made no progress in ${timeoutMs} ms`);
}

export interface MemberMemory {
  label: string;
  /** VmRSS readings, MiB. */
  rss: number[];
  /** VmHWM, MiB. */
  peak: number;
  anon: number;
  file: number;
  /** Bytes of its data dir, MiB. */
  disk: number;
}

/** `readings` VmRSS readings per member, `gapMs` apart, plus VmHWM and the data dir size. */
export async function memberMemory(
  sys: KvSystem,
  readings = 5,
  gapMs = 400,
): Promise<MemberMemory[]> {
  const members = await byRole(sys);
  const out = members.map(({ label }) => ({
    label,
    rss: [] as number[],
    peak: 0,
    anon: 0,
    file: 0,
    disk: 0,
  }));
  for (let i = 0; i < readings; i++) {
    if (i > 0) await sleep(gapMs);
    members.forEach(({ m }, j) => {
      const s = memStatus(m.pid);
      if (s !== null) out[j]!.rss.push(s.rssBytes / MiB);
    });
  }
  members.forEach(({ m }, j) => {
    const s = memStatus(m.pid);
    if (s !== null) {
      out[j]!.peak = s.hwmBytes / MiB;
      out[j]!.anon = s.anonBytes / MiB;
      out[j]!.file = s.fileBytes / MiB;
    }
    out[j]!.disk = dirBytes(m.dataDir) / MiB;
  });
  return out;
}

export interface JoinOutcome {
  /** Seconds from the start of the new process until its applied index reached the leader's. */
  catchUpSeconds: number | null;
  /** Peak RSS during the catch-up, MiB (VmHWM reset at its start, and sampled). */
  leaderPeak: number;
  newPeak: number;
  /** RSS when it had caught up, MiB. */
  leaderEnd: number;
  newEnd: number;
  /** Segments of the put load: before the join, during the catch-up, after it. */
  segments: RunResult[];
  leaderChanged: boolean;
  /** "anonymous + file-backed" MiB at the highest sampled RSS of each. */
  leaderPeakSplit: string;
  newPeakSplit: string;
}

/**
 * Starts a closed-loop put load of `clients` over the loaded keys, then adds member `newId`
 * and polls every 250 ms until its applied index reaches the leader's (read just before), or
 * `timeoutMs`. RSS of the leader and the new member is sampled meanwhile.
 */
export async function joinUnderLoad(
  sys: KvSystem,
  gen: KvGenerator,
  ks: KeySpace,
  opts: { newId: number; clients: number; timeoutMs: number; log: (l: string) => void },
): Promise<JoinOutcome> {
  const leader = await sys.leader();
  const stream = gen.stream([leader.target], {
    ...ks,
    clients: opts.clients,
    maxMs: opts.timeoutMs + 120_000,
  });
  let segments: RunResult[] = [];
  let catchUpSeconds: number | null = null;
  let leaderPeak = 0;
  let newPeak = 0;
  let leaderEnd = Number.NaN;
  let newEnd = Number.NaN;
  let leaderChanged = false;
  let leaderSampled = 0;
  let newSampled = 0;
  let leaderPeakSplit = '';
  let newPeakSplit = '';
  const split = (m: { anonBytes: number; fileBytes: number }) =>
    `${(m.anonBytes / MiB).toFixed(0)} anonymous + ${(m.fileBytes / MiB).toFixed(0)} file-backed`;
  try {
    await waitForLoad(sys);
    await sleep(2000); // a baseline segment before the join
    stream.mark();
    const peakReset = resetPeak(leader.pid);
    const t0 = performance.now();
    const m = await sys.join(opts.newId);
    opts.log(
      `${sys.impl}: member ${opts.newId} started (pid ${m.pid}); waiting for it to catch up`,
    );
    let lastLog = t0;
    while (performance.now() - t0 < opts.timeoutMs) {
      const ls = memStatus(leader.pid);
      const ns = memStatus(m.pid);
      if (ls !== null && ls.rssBytes > leaderSampled) {
        leaderSampled = ls.rssBytes;
        leaderPeakSplit = split(ls);
      }
      if (ns !== null && ns.rssBytes > newSampled) {
        newSampled = ns.rssBytes;
        newPeakSplit = split(ns);
      }
      leaderPeak = Math.max(leaderPeak, leaderSampled / MiB);
      newPeak = Math.max(newPeak, newSampled / MiB);
      if (ns === null) throw new Error(`${sys.impl}: the new member exited while catching up`);
      const l = await sys.progress(leader).catch(() => null);
      const n = await sys.progress(m).catch(() => null);
      if (l !== null && n !== null && n.applied >= l.applied) {
        catchUpSeconds = (performance.now() - t0) / 1000;
        break;
      }
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        opts.log(
          `${sys.impl}: +${((lastLog - t0) / 1000).toFixed(0)} s, leader applied ${l?.applied ?? '?'}, ` +
            `new member ${n?.applied ?? '(not serving yet)'}, RSS leader ${ls === null ? '?' : (ls.rssBytes / MiB).toFixed(0)} MiB, ` +
            `new ${(ns.rssBytes / MiB).toFixed(0)} MiB`,
        );
      }
      await sleep(250);
    }
    stream.mark();
    const ls = memStatus(leader.pid);
    const ns = memStatus(m.pid);
    if (ls !== null) {
      leaderEnd = ls.rssBytes / MiB;
      if (peakReset) leaderPeak = Math.max(leaderPeak, ls.hwmBytes / MiB);
    }
    if (ns !== null) {
      newEnd = ns.rssBytes / MiB;
      newPeak = Math.max(newPeak, ns.hwmBytes / MiB);
    }
    leaderChanged = (await sys.leader()).id !== leader.id;
    await sleep(1000);
  } finally {
    segments = await stream.stop();
  }
  return {
    catchUpSeconds,
    leaderPeak,
    newPeak,
    leaderEnd,
    newEnd,
    segments,
    leaderChanged,
    leaderPeakSplit,
    newPeakSplit,
  };
}

/** Paths of state machine files: raft-kv's LevelDB store (<data>/kv/), etcd's bbolt backend. */
export const STATE_MACHINE_FILES = ['/kv/', '/snap/db'];

export interface FsyncOutcome {
  puts: number;
  /** Sync-family calls per put, by role label; `state`: those on state machine files. */
  perPut: { label: string; calls: number; perPut: number; statePerPut: number; files: string }[];
}

/** The files a member synced most, "name×count", for the log. */
function topFiles(byFile: Record<string, number>, n = 4): string {
  return Object.entries(byFile)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([f, c]) => `${f.split('/').slice(-2).join('/')}×${c}`)
    .join(', ');
}

/**
 * Counts fsync-family calls on every member (strace) over `seconds` of a closed-loop put load
 * of `clients`, divided by the puts applied meanwhile (the leader's revision delta).
 */
export async function fsyncsPerPut(
  sys: KvSystem,
  gen: KvGenerator,
  ks: KeySpace,
  clients: number,
  seconds: number,
): Promise<FsyncOutcome> {
  const members = await byRole(sys);
  const leader = members[0]!.m;
  const stream = gen.stream([leader.target], { ...ks, clients, maxMs: seconds * 1000 + 120_000 });
  const counters: SyncCounter[] = [];
  try {
    await waitForLoad(sys);
    for (const { m } of members) counters.push(await countSyncs(m.pid));
    const r0 = (await sys.progress(leader)).revision;
    await sleep(seconds * 1000);
    const r1 = (await sys.progress(leader)).revision;
    const counts = await Promise.all(counters.splice(0).map((c) => c.stop()));
    const puts = r1 - r0;
    return {
      puts,
      perPut: members.map(({ label }, i) => {
        const c = counts[i]!;
        return {
          label,
          calls: c.total,
          perPut: c.total / puts,
          statePerPut: callsMatching(c, STATE_MACHINE_FILES) / puts,
          files: topFiles(c.byFile),
        };
      }),
    };
  } finally {
    await Promise.all(counters.map((c) => c.stop().catch(() => null)));
    await stream.stop();
  }
}

/**
 * Server CPU seconds (all members) between the start and the end of a load's measured
 * windows, given when the load was started: sampled at those two instants.
 */
export async function cpuDuringWindows(
  pids: readonly number[],
  startedAt: number,
  warmupMs: number,
  windowsMs: number,
): Promise<number> {
  const from = startedAt + GENERATOR_START_MS + warmupMs;
  await sleep(Math.max(0, from - Date.now()));
  const c0 = pids.reduce((s, p) => s + cpuSeconds(p), 0);
  await sleep(Math.max(0, from + windowsMs - Date.now()));
  const c1 = pids.reduce((s, p) => s + cpuSeconds(p), 0);
  return c1 - c0;
}
