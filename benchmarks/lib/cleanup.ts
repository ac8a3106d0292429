// Processes a suite starts in their own process group (servers, strace, generators) must not
// outlive it, also when it fails or is interrupted: each is registered here while it runs, and
// the whole group is SIGKILLed when this process exits or gets SIGINT/SIGTERM with any still
// registered; then the registered last-resort steps run (other children's SIGKILL, removing
// temporary directories). The normal path stops them itself (try/finally) and unregisters them.

const groups = new Map<number, string>();
const extra = new Set<() => void>();
let installed = false;

function killAll(): void {
  for (const pgid of groups.keys()) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  groups.clear();
  // Last registered first, as deferred steps: a system's SIGKILL before its directory's removal.
  for (const f of [...extra].reverse()) {
    try {
      f();
    } catch {}
  }
  extra.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  process.stderr.write(`\n${signal}: stopping the processes the benchmark started\n`);
  killAll();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

/** Registers the process group led by `pgid` (a child spawned with detached: true). */
export function trackProcessGroup(pgid: number, what: string): () => void {
  install();
  groups.set(pgid, what);
  return () => {
    groups.delete(pgid);
  };
}

/** Registers a synchronous last-resort step (SIGKILL of children not in a group of their own, removing a temporary directory). */
export function onEmergencyExit(stop: () => void): () => void {
  install();
  extra.add(stop);
  return () => {
    extra.delete(stop);
  };
}

/** SIGTERM to a group, SIGKILL after `timeoutMs` unless `exited` settles first. */
export async function stopGroup(
  pgid: number,
  exited: Promise<unknown>,
  timeoutMs = 10_000,
): Promise<void> {
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    exited,
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {}
        resolve();
      }, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
}
