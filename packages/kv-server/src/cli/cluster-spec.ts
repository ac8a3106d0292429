// The initial cluster: inline "1=127.0.0.1:7001,2=127.0.0.1:7002" or a JSON file, either
//   {"1": "127.0.0.1:7001", "2": "127.0.0.1:7002"}
// or, with client URLs (so each node can take its own addresses from the file):
//   {"members": [{"id": 1, "peerUrl": "127.0.0.1:7001", "clientUrl": "http://127.0.0.1:2379"}]}
import { readFileSync } from 'node:fs';
import { isPeerAddr } from '../addr.js';
import type { ClusterMember } from '../config.js';

export type { ClusterMember } from '../config.js';

export class ConfigError extends Error {
  readonly code = 'KV_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function memberId(s: string | number, where: string): number {
  const n = typeof s === 'number' ? s : /^[1-9][0-9]*$/.test(s) ? Number(s) : Number.NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new ConfigError(`${where}: "${s}" is not a member id (a positive integer)`);
  }
  return n;
}

function peerAddr(s: unknown, where: string): string {
  if (typeof s !== 'string' || !isPeerAddr(s)) {
    throw new ConfigError(`${where}: "${String(s)}" is not host:port`);
  }
  return s;
}

function checkDistinct(members: ClusterMember[], where: string): ClusterMember[] {
  const ids = new Set<number>();
  const addrs = new Set<string>();
  for (const m of members) {
    if (ids.has(m.id)) throw new ConfigError(`${where}: member ${m.id} appears twice`);
    if (addrs.has(m.peerUrl)) throw new ConfigError(`${where}: address ${m.peerUrl} appears twice`);
    ids.add(m.id);
    addrs.add(m.peerUrl);
  }
  if (members.length === 0) throw new ConfigError(`${where}: no members`);
  return members.sort((a, b) => a.id - b.id);
}

export function parseInlineCluster(spec: string): ClusterMember[] {
  const members = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0) throw new ConfigError(`--initial-cluster: "${part}" is not id=host:port`);
      return {
        id: memberId(part.slice(0, eq), '--initial-cluster'),
        peerUrl: peerAddr(part.slice(eq + 1), '--initial-cluster'),
      };
    });
  return checkDistinct(members, '--initial-cluster');
}

export function parseClusterJson(json: unknown, where: string): ClusterMember[] {
  if (typeof json !== 'object' || json === null) throw new ConfigError(`${where}: not an object`);
  const members: ClusterMember[] = [];
  const list = (json as { members?: unknown }).members;
  if (list !== undefined) {
    if (!Array.isArray(list)) throw new ConfigError(`${where}: "members" must be an array`);
    for (const m of list) {
      if (typeof m !== 'object' || m === null) throw new ConfigError(`${where}: bad member`);
      const { id, peerUrl, clientUrl, ...rest } = m as Record<string, unknown>;
      const extra = Object.keys(rest);
      if (extra.length > 0) throw new ConfigError(`${where}: unknown member field "${extra[0]}"`);
      if (typeof id !== 'number') throw new ConfigError(`${where}: member id must be a number`);
      const member: ClusterMember = { id: memberId(id, where), peerUrl: peerAddr(peerUrl, where) };
      if (clientUrl !== undefined) {
        if (typeof clientUrl !== 'string' || !/^https?:\/\/[^/]+$/.test(clientUrl)) {
          throw new ConfigError(`${where}: clientUrl must be http://host:port`);
        }
        member.clientUrl = clientUrl;
      }
      members.push(member);
    }
  } else {
    for (const [id, addr] of Object.entries(json)) {
      members.push({ id: memberId(id, where), peerUrl: peerAddr(addr, where) });
    }
  }
  return checkDistinct(members, where);
}

/** An inline spec, or (when it contains no "=") the path of a JSON cluster file. */
export function parseClusterSpec(spec: string): ClusterMember[] {
  if (spec.includes('=')) return parseInlineCluster(spec);
  let text: string;
  try {
    text = readFileSync(spec, 'utf8');
  } catch (err) {
    throw new ConfigError(`--initial-cluster: cannot read ${spec}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${spec}: not JSON: ${(err as Error).message}`);
  }
  return parseClusterJson(json, spec);
}
