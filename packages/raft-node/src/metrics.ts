// Counters and latency histograms a server exports (e.g. as Prometheus text). Plain numbers,
// cumulative since start; histograms keep Prometheus-style cumulative buckets.

/** Upper bounds in seconds: 100 µs .. 10 s. */
export const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export class Histogram {
  /** counts[i]: observations <= bounds[i] (not cumulative; see snapshot()). */
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(readonly bounds: readonly number[] = LATENCY_BUCKETS) {
    this.counts = new Array(bounds.length).fill(0);
  }

  observe(v: number): void {
    this.sum += v;
    this.count++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  snapshot(): HistogramSnapshot {
    let acc = 0;
    const buckets = this.bounds.map((le, i) => {
      acc += this.counts[i]!;
      return { le, count: acc };
    });
    return { buckets, sum: this.sum, count: this.count };
  }
}

export interface HistogramSnapshot {
  /** Cumulative: observations <= le; observations above the last bound count only in `count`. */
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

export interface NodeMetrics {
  /** propose() calls accepted by raft (appended as leader, or forwarded). */
  proposalsSubmitted: number;
  /**
   * Proposals dropped by raft (no leader, transfer in progress, size limit), and conf changes
   * the leader refused (another one unapplied).
   */
  proposalsDropped: number;
  /** Proposals that ended indeterminate, aborted or stopped. */
  proposalsFailed: number;
  /** Proposals of this node applied here (resolved). */
  proposalsApplied: number;
  /** Entries applied here (all entries of the log, any proposer, conf changes included). */
  entriesApplied: number;
  /** Storage writes (one per group commit) and the entries they carried. */
  saves: number;
  entriesSaved: number;
  /** Times this node started an election (became candidate or pre-candidate). */
  elections: number;
  /** Times the known leader changed. */
  leaderChanges: number;
  snapshotsCreated: number;
  snapshotsRestored: number;
  reads: number;
  /** Seconds per synced storage write. */
  fsyncSeconds: HistogramSnapshot;
  /** Seconds per state machine apply call. */
  applySeconds: HistogramSnapshot;
}

export class Metrics {
  proposalsSubmitted = 0;
  proposalsDropped = 0;
  proposalsFailed = 0;
  proposalsApplied = 0;
  entriesApplied = 0;
  saves = 0;
  entriesSaved = 0;
  elections = 0;
  leaderChanges = 0;
  snapshotsCreated = 0;
  snapshotsRestored = 0;
  reads = 0;
  readonly fsync = new Histogram();
  readonly apply = new Histogram();

  snapshot(): NodeMetrics {
    return {
      proposalsSubmitted: this.proposalsSubmitted,
      proposalsDropped: this.proposalsDropped,
      proposalsFailed: this.proposalsFailed,
      proposalsApplied: this.proposalsApplied,
      entriesApplied: this.entriesApplied,
      saves: this.saves,
      entriesSaved: this.entriesSaved,
      elections: this.elections,
      leaderChanges: this.leaderChanges,
      snapshotsCreated: this.snapshotsCreated,
      snapshotsRestored: this.snapshotsRestored,
      reads: this.reads,
      fsyncSeconds: this.fsync.snapshot(),
      applySeconds: this.apply.snapshot(),
    };
  }
}
