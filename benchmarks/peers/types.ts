// What the peers glue reports for each workload row, whichever harness produced it.

export interface PeerRow {
  workload: 'W1' | 'W2' | 'W3';
  batch: number;
  /** Entries per measured run, when the harness says (coaty may fall back to fewer). */
  n?: number;
  /** entries/s over the measured runs. */
  median: number;
  min: number;
  max: number;
  runs: number;
  /** Heap bytes allocated per entry, from the harness's own (single) measurement. */
  allocPerEntry?: number;
}

export type PeerOutcome =
  | { ok: true; peer: string; version: string; rows: PeerRow[]; notes: string[] }
  | { ok: false; peer: string; reason: string };
