// <dir>/local-cluster.json: the shape of the cluster whose data is in <dir> (node count, port
// pattern). A later `pnpm start` without flags runs the same cluster again; flags that would
// change its shape are refused (its members and addresses are in the data), --fresh excepted.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PortPattern } from './ports.js';

export interface ClusterShape extends PortPattern {
  nodes: number;
}

export function shapeFile(dir: string): string {
  return join(dir, 'local-cluster.json');
}

export function readShape(dir: string): ClusterShape | undefined {
  const f = shapeFile(dir);
  if (!existsSync(f)) return undefined;
  const j = JSON.parse(readFileSync(f, 'utf8')) as ClusterShape;
  return { nodes: j.nodes, base: j.base, step: j.step };
}

export function writeShape(dir: string, s: ClusterShape): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(shapeFile(dir), `${JSON.stringify(s, null, 2)}\n`);
}

/** Why `wanted` cannot run on the data of `saved`, or undefined when it can. */
export function shapeConflict(saved: ClusterShape, wanted: ClusterShape): string | undefined {
  const diffs: string[] = [];
  if (saved.nodes !== wanted.nodes) diffs.push(`${saved.nodes} nodes, not ${wanted.nodes}`);
  if (saved.base !== wanted.base || saved.step !== wanted.step) {
    diffs.push(`ports ${saved.base} step ${saved.step}, not ${wanted.base} step ${wanted.step}`);
  }
  return diffs.length === 0 ? undefined : diffs.join('; ');
}
