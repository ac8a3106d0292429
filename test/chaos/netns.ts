// Network namespaces for partitions (root and `ip netns` only): one namespace per node with
// a veth into a hub namespace whose bridge joins them, on a private /24 the host does not
// use; the run's own process reaches the nodes' client ports through one more veth from the
// host namespace into the bridge. Cutting a node off detaches its veth from the bridge: its
// packets go nowhere, silently, as in a real partition (clients lose it too). Every name
// carries our pid; namespaces left by a run that died are removed at the next start.
import { execFileSync } from 'node:child_process';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });

/** Whether this machine lets us make what setUp makes: namespaces, a bridge, veth pairs. */
export function netnsAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = `tsrc${process.pid}-probe`;
  let made = false;
  try {
    ip('netns', 'add', probe);
    made = true;
    ip('-n', probe, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', probe, 'link', 'add', 'a0', 'type', 'veth', 'peer', 'name', 'b0');
    ip('-n', probe, 'link', 'set', 'b0', 'master', 'br0');
    return true;
  } catch {
    return false;
  } finally {
    if (made) {
      try {
        ip('netns', 'del', probe);
      } catch {}
    }
  }
}

/** Deletes namespaces of earlier runs whose process is gone. */
export function removeStaleNamespaces(): void {
  let list = '';
  try {
    list = ip('netns', 'list').toString();
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const m = /^(tsrc(\d+)-\S+)/.exec(line);
    if (m === null || isAlive(Number(m[2]))) continue;
    try {
      ip('netns', 'del', m[1]!);
    } catch {}
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class NetnsNetwork {
  private readonly prefix = `tsrc${process.pid}`;
  private readonly hub = `${this.prefix}-hub`;
  private readonly hostLink = `${this.prefix}h`;
  private readonly created: string[] = [];
  readonly subnet: string;

  constructor(readonly ids: readonly number[]) {
    this.subnet = freeSubnet();
  }

  /** The namespace node `id` runs in. */
  ns(id: number): string {
    return `${this.prefix}-n${id}`;
  }

  /** Node `id`'s address. */
  addr(id: number): string {
    return `${this.subnet}.${id}`;
  }

  setUp(): void {
    this.addNs(this.hub);
    ip('-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.hub, 'link', 'set', 'br0', 'up');
    for (const id of this.ids) {
      const ns = this.ns(id);
      this.addNs(ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip(
        '-n',
        ns,
        'link',
        'add',
        'eth0',
        'type',
        'veth',
        'peer',
        'name',
        `p${id}`,
        'netns',
        this.hub,
      );
      ip('-n', ns, 'addr', 'add', `${this.addr(id)}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', this.hub, 'link', 'set', `p${id}`, 'master', 'br0', 'up');
    }
    // Our way in, from the host namespace (deleted with the hub).
    ip('link', 'add', this.hostLink, 'type', 'veth', 'peer', 'name', 'p0', 'netns', this.hub);
    ip('addr', 'add', `${this.subnet}.254/24`, 'dev', this.hostLink);
    ip('link', 'set', this.hostLink, 'up');
    ip('-n', this.hub, 'link', 'set', 'p0', 'master', 'br0', 'up');
  }

  /** Cuts node `id` off from everyone (members and clients). */
  isolate(id: number): void {
    ip('-n', this.hub, 'link', 'set', `p${id}`, 'nomaster');
  }

  heal(): void {
    for (const id of this.ids) ip('-n', this.hub, 'link', 'set', `p${id}`, 'master', 'br0');
  }

  /** Removes everything it made (the processes inside must be gone first). */
  tearDown(): void {
    try {
      ip('link', 'del', this.hostLink);
    } catch {}
    for (const ns of this.created.reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch {}
    }
    this.created.length = 0;
  }

  private addNs(name: string): void {
    ip('netns', 'add', name);
    this.created.push(name);
  }
}

/** A 10.x.y /24 no interface of the host uses. */
function freeSubnet(): string {
  const used = ip('-4', 'addr').toString();
  for (let y = 213; y < 250; y++) {
    const s = `10.213.${y}`;
    if (!used.includes(`${s}.`)) return s;
  }
  throw new Error('no free 10.213.x.0/24 subnet for the chaos namespaces');
}
