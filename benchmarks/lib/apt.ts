// Debian packages a suite needs (etcd, Go and etcd's Go sources for the kv suite): checked
// with dpkg-query, installed with apt-get only when the caller allows it (with --peers).
import { spawnSync } from 'node:child_process';
import { hasCommand, runScript, tail } from '../peers/process.js';

function installed(pkg: string): boolean {
  const format = ['-f=$', '{Status}'].join(''); // dpkg's own syntax, not a template
  const r = spawnSync('dpkg-query', ['-W', format, pkg], { encoding: 'utf8', timeout: 30_000 });
  return (r.stdout ?? '').includes('install ok installed');
}

/**
 * null when `packages` are installed and every `commands` entry runs (e.g. ['go', 'version']),
 * installing the missing ones first when `install` (apt-get update, then install); else why not.
 */
export async function ensurePackages(
  packages: readonly string[],
  commands: readonly (readonly string[])[],
  opts: { install: boolean; log: (l: string) => void },
): Promise<string | null> {
  const runs = () => commands.every(([cmd, ...args]) => hasCommand(cmd!, args));
  const missing = packages.filter((p) => !installed(p));
  if (missing.length === 0 && runs()) return null;
  const what =
    missing.length > 0
      ? `${missing.join(' ')} missing`
      : `${commands.map((c) => c.join(' ')).join(', ')} failed`;
  if (!opts.install)
    return missing.length > 0 ? `${what} (--peers installs ${missing.join(' ')})` : what;
  if (!hasCommand('apt-get', ['--version'])) return `${what}, no apt-get`;
  if (process.getuid?.() !== 0)
    return `${what} (apt-get install -y ${packages.join(' ')} needs root)`;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  opts.log(`installing ${packages.join(' ')} with apt-get (once)`);
  const update = await runScript('apt-get', ['update'], { env, timeoutMs: 5 * 60_000 });
  if (update.code !== 0) return `apt-get update failed: ${tail(update.stderr || update.stdout)}`;
  const inst = await runScript('apt-get', ['install', '-y', ...packages], {
    env,
    timeoutMs: 20 * 60_000,
  });
  if (inst.code !== 0) return `apt-get install failed: ${tail(inst.stderr || inst.stdout)}`;
  return runs()
    ? null
    : `${commands.map((c) => c[0]).join(', ')} still missing after apt-get install`;
}
