// The local cluster's ports: node i serves clients on base + (i-1)*step and raft on the next
// port. With the defaults (2379, 10000): 2379/2380, 12379/12380, 22379/22380, … 62379/62380,
// so at most 7 nodes; --base-port and --port-step move the whole pattern.
import net from 'node:net';

export const DEFAULT_BASE_PORT = 2379;
export const DEFAULT_PORT_STEP = 10_000;
const MAX_PORT = 65_535;

export interface PortPattern {
  base: number;
  step: number;
}

export interface NodePorts {
  id: number;
  client: number;
  peer: number;
}

export function nodePorts(p: PortPattern, id: number): NodePorts {
  const client = p.base + (id - 1) * p.step;
  return { id, client, peer: client + 1 };
}

/** The most nodes the pattern has room for (ports up to 65535, steps of at least 2). */
export function maxNodes(p: PortPattern): number {
  return Math.floor((MAX_PORT - 1 - p.base) / p.step) + 1;
}

/** Resolves with whether 127.0.0.1:port can be listened on right now. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** The first port of these nodes that is taken, with what it is for; undefined if none. */
export async function firstBusyPort(
  nodes: readonly NodePorts[],
): Promise<{ id: number; port: number; what: string } | undefined> {
  for (const n of nodes) {
    if (!(await isFree(n.client))) return { id: n.id, port: n.client, what: 'client API' };
    if (!(await isFree(n.peer))) return { id: n.id, port: n.peer, what: 'raft' };
  }
  return undefined;
}
