// etcd's --auto-compaction-mode / --auto-compaction-retention (v3compactor): the leader
// proposes Compact commands on a schedule, so that the store's history stays bounded.
// - periodic: keep `retention` of history. The revision is sampled every `retention / 10`
//   (every hour for a retention of an hour or more, as etcd 3.4); each sample that is at
//   least `retention` old is compacted to.
// - revision: keep the last `retention` revisions, checked every 5 minutes.
// Every member samples (they apply the same log); only the leader proposes. Pure: the clock,
// the store and the proposal come from outside, so it is tested without timers.

export type AutoCompactionMode = 'periodic' | 'revision';

export interface AutoCompactionConfig {
  mode: AutoCompactionMode;
  /** periodic: milliseconds of history to keep; revision: revisions to keep. */
  retention: number;
}

export class AutoCompactionError extends Error {
  readonly code = 'AUTO_COMPACTION_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'AutoCompactionError';
  }
}

const HOUR = 3_600_000;
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: HOUR };

/**
 * etcd's flag values: periodic retention as a Go duration ("30m", "1h30m", "90s") or a bare
 * number of hours ("1", "0.5"); revision retention as a whole number. "0" turns it off
 * (undefined).
 */
export function parseAutoCompaction(
  mode: string | undefined,
  retention: string | undefined,
): AutoCompactionConfig | undefined {
  const m = mode ?? 'periodic';
  if (m !== 'periodic' && m !== 'revision') {
    throw new AutoCompactionError(
      `--auto-compaction-mode must be periodic or revision, got "${m}"`,
    );
  }
  if (retention === undefined || retention === '0') return undefined;
  if (m === 'revision') {
    if (!/^[1-9][0-9]*$/.test(retention) || !Number.isSafeInteger(Number(retention))) {
      throw new AutoCompactionError(
        `--auto-compaction-retention in revision mode must be a whole number, got "${retention}"`,
      );
    }
    return { mode: m, retention: Number(retention) };
  }
  let ms: number;
  if (/^[0-9]+(\.[0-9]+)?$/.test(retention)) ms = Number(retention) * HOUR;
  else {
    const parts = [...retention.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join('') !== retention) {
      throw new AutoCompactionError(
        `--auto-compaction-retention must be a duration (e.g. 1h, 30m) or hours, got "${retention}"`,
      );
    }
    ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
  }
  if (!(ms >= 1000)) {
    throw new AutoCompactionError(
      `--auto-compaction-retention must be at least 1s, got "${retention}"`,
    );
  }
  return { mode: m, retention: ms };
}

/** How often the compactor looks: what etcd 3.4 does for each mode. */
export function checkIntervalMs(c: AutoCompactionConfig): number {
  if (c.mode === 'revision') return 5 * 60_000;
  return c.retention >= HOUR ? HOUR : c.retention / 10;
}

export interface CompactorEnv {
  now(): number;
  revision(): number;
  compactedRevision(): number;
  isLeader(): boolean;
  /** Proposes etcd's Compact at `revision`. */
  compact(revision: number): Promise<void>;
}

export class AutoCompactor {
  /** periodic: (time, revision) samples, oldest first. */
  private samples: { at: number; rev: number }[] = [];

  constructor(
    readonly config: AutoCompactionConfig,
    private readonly env: CompactorEnv,
  ) {}

  /** One check: samples the revision, and as leader compacts to what is due. Returns the revision it compacted to, or 0. */
  async tick(): Promise<number> {
    const now = this.env.now();
    const rev = this.env.revision();
    let target = 0;
    if (this.config.mode === 'revision') {
      target = rev - this.config.retention;
    } else {
      this.samples.push({ at: now, rev });
      // The newest sample at least `retention` old is the target; older ones are done with.
      let i = -1;
      for (let j = 0; j < this.samples.length; j++) {
        if (now - this.samples[j]!.at >= this.config.retention) i = j;
      }
      if (i >= 0) {
        target = this.samples[i]!.rev;
        this.samples = this.samples.slice(i + 1);
      }
    }
    if (target <= this.env.compactedRevision() || !this.env.isLeader()) return 0;
    await this.env.compact(target);
    return target;
  }
}
