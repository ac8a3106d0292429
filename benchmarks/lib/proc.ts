// What a server process costs, from Linux's /proc: resident memory (now and peak), CPU time,
// and the bytes its data directory holds. For the kv suite's memory, join and CPU rows.
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MemStatus {
  /** VmRSS: resident now. */
  rssBytes: number;
  /** VmHWM: the peak of VmRSS since the process started (or since resetPeak). */
  hwmBytes: number;
  /** RssAnon: heap, stacks, anonymous maps (V8, LevelDB's caches, Go's heap). */
  anonBytes: number;
  /** RssFile: mapped files' resident pages (LevelDB's tables, bbolt's mmap). */
  fileBytes: number;
}

/** Parses /proc/<pid>/status (lines like "VmRSS:   12345 kB"). */
export function parseStatus(text: string): MemStatus {
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m === null ? Number.NaN : Number(m[1]) * 1024;
  };
  return {
    rssBytes: kb('VmRSS'),
    hwmBytes: kb('VmHWM'),
    anonBytes: kb('RssAnon'),
    fileBytes: kb('RssFile'),
  };
}

/** The process's memory now, or null when it is gone. */
export function memStatus(pid: number): MemStatus | null {
  try {
    return parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Resets VmHWM to the current RSS (writing 5 to /proc/<pid>/clear_refs), so that a later
 * VmHWM is the peak of a phase. Needs to own the process (or root); false when refused.
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** utime + stime in clock ticks, from /proc/<pid>/stat (fields 14 and 15). */
export function parseStatTicks(text: string): number {
  // The command name (field 2) is in parentheses and may hold spaces: split after it.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  return Number(rest[11]) + Number(rest[12]);
}

/** Linux's USER_HZ: 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system, all threads) the process has used, or NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    return parseStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** Bytes of the regular files under `dir` (what `du --apparent-size` counts), 0 if absent. */
export function dirBytes(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const p = join(dir, name);
    try {
      const s = statSync(p);
      if (s.isDirectory()) total += dirBytes(p);
      else if (s.isFile()) total += s.size;
    } catch {
      // removed while we looked (compaction): it no longer counts
    }
  }
  return total;
}

export const MiB = 2 ** 20;
