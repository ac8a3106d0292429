// @coaty/consensus.raft 1.0.0, a TypeScript port of etcd raft 3.5 (../shared/peers/coaty):
// its run.sh installs the package into $TMPDIR once (npm) and runs bench.js, which we ask for
// one workload row at a time (--only, --b) so its runs can alternate with ours, reading the
// figures from its --json file. It has no Message codec, so W3 is not available.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PEERS_DIR, hasCommand, runScript, tail } from './process.js';
import type { PeerOutcome, PeerRow } from './types.js';

export const PEER = 'coaty';

interface CoatyJson {
  node: string;
  pkg: string;
  results: {
    workload: 'W1' | 'W2';
    B: number;
    N: number;
    runs: number;
    rateMedian: number;
    rateMin: number;
    rateMax: number;
    alloc: { allocPerEntry: number } | null;
    notes: string[];
  }[];
}

export function toolchain(): string | null {
  return hasCommand('npm') ? null : 'npm is missing';
}

export interface CoatyRow {
  workload: 'W1' | 'W2';
  batch: number;
  runs: number;
  /** Entries per run (bench.js defaults: 1,000,000 for W1, 300,000 for W2). */
  n?: number;
}

export async function run(row: CoatyRow, log: (l: string) => void): Promise<PeerOutcome> {
  const why = toolchain();
  if (why !== null) return { ok: false, peer: PEER, reason: why };
  const dir = mkdtempSync(join(tmpdir(), 'tsraft-coaty-'));
  const json = join(dir, 'out.json');
  const args = [
    join(PEERS_DIR, 'coaty', 'run.sh'),
    '--only',
    row.workload,
    '--b',
    String(row.batch),
  ];
  args.push('--runs', String(row.runs), '--json', json);
  if (row.n !== undefined) args.push(row.workload === 'W1' ? '--n1' : '--n2', String(row.n));
  try {
    const r = await runScript('bash', args, { timeoutMs: 30 * 60_000, log });
    if (r.code !== 0) {
      return {
        ok: false,
        peer: PEER,
        reason: `run.sh failed (${r.code ?? r.signal}): ${tail(r.stderr)}`,
      };
    }
    const out = JSON.parse(readFileSync(json, 'utf8')) as CoatyJson;
    const rows: PeerRow[] = out.results.map((x) => {
      const pr: PeerRow = {
        workload: x.workload,
        batch: x.B,
        n: x.N,
        median: x.rateMedian,
        min: x.rateMin,
        max: x.rateMax,
        runs: x.runs,
      };
      if (x.alloc !== null) pr.allocPerEntry = x.alloc.allocPerEntry;
      return pr;
    });
    const notes = out.results.flatMap((x) => x.notes.map((n) => `${x.workload} B=${x.B}: ${n}`));
    return {
      ok: true,
      peer: PEER,
      version: `@coaty/consensus.raft ${out.pkg}, node ${out.node}`,
      rows,
      notes,
    };
  } catch (err) {
    return { ok: false, peer: PEER, reason: (err as Error).message };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
