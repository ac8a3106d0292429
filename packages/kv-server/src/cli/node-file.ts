// <data-dir>/raft-kv.json: who this node is and where it listens, written at its first start.
// A node restarts from its data dir alone (`raft-kv --data-dir <dir>`): flags it is not given
// come from this file, so it cannot come back on another id or on the defaults' ports (the
// addresses the other members know are those in the log). Flags given win, and are recorded.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterMember } from './cluster-spec.js';
import { ConfigError, parseClusterJson } from './cluster-spec.js';

export const NODE_FILE = 'raft-kv.json';

export interface NodeFile {
  id: number;
  clientListen: string;
  peerListen: string;
  advertiseClient: string;
  advertisePeer: string;
  clusterId: string;
  /** The initial cluster, for a node that stopped before it bootstrapped its log. */
  cluster: ClusterMember[];
  /**
   * The member it joined through (--join), and as a learner: a joiner that stopped before it
   * got its log asks again on a restart, instead of bootstrapping a cluster of its own.
   */
  join?: string;
  learner?: boolean;
}

export function nodeFilePath(dataDir: string): string {
  return join(dataDir, NODE_FILE);
}

/** The file in `dataDir`, or undefined when there is none. Throws ConfigError if unreadable. */
export function readNodeFile(dataDir: string): NodeFile | undefined {
  const path = nodeFilePath(dataDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`${path}: not JSON: ${(err as Error).message}`);
  }
  const str = (k: string): string => {
    const v = json[k];
    if (typeof v !== 'string') throw new ConfigError(`${path}: "${k}" must be a string`);
    return v;
  };
  const id = json.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
    throw new ConfigError(`${path}: "id" must be a positive integer`);
  }
  return {
    id,
    clientListen: str('clientListen'),
    peerListen: str('peerListen'),
    advertiseClient: str('advertiseClient'),
    advertisePeer: str('advertisePeer'),
    clusterId: str('clusterId'),
    cluster: parseClusterJson({ members: json.cluster }, path),
    ...(typeof json.join === 'string' ? { join: json.join, learner: json.learner === true } : {}),
  };
}

/**
 * Writes the file from `cfg` (its NodeFile fields only: no TLS material); temp name, then
 * rename, so that a crash leaves the old file or the new one.
 */
export function writeNodeFile(dataDir: string, cfg: NodeFile): void {
  const f: NodeFile = {
    id: cfg.id,
    clientListen: cfg.clientListen,
    peerListen: cfg.peerListen,
    advertiseClient: cfg.advertiseClient,
    advertisePeer: cfg.advertisePeer,
    clusterId: cfg.clusterId,
    cluster: cfg.cluster,
    ...(cfg.join !== undefined ? { join: cfg.join, learner: cfg.learner === true } : {}),
  };
  mkdirSync(dataDir, { recursive: true });
  const path = nodeFilePath(dataDir);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(f, null, 2)}\n`);
  renameSync(tmp, path);
}
