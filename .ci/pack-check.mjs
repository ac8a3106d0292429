// CI: every public package can be published. Each is packed as npm would publish it (pnpm
// pack: workspace: ranges become versions), its tarball must hold its built JS, its types and
// its LICENSE, with no workspace: range left; then a fresh folder installs all the tarballs
// together from the registry's view (npm, no workspace) and imports each package with plain
// node: no tsx, no export conditions. raft-kv's bin must run from the install. Run after
// `pnpm build`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tsraft-pack-'));
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const problems = [];

const packages = readdirSync(join(REPO, 'packages'))
  .map((name) => ({ dir: join(REPO, 'packages', name) }))
  .map((p) => ({ ...p, json: JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8')) }))
  .filter((p) => p.json.private !== true);

const tarballs = [];
for (const p of packages) {
  const name = p.json.name;
  const out = run('npx', ['-y', 'pnpm@10', 'pack', '--pack-destination', work], p.dir);
  const tgz = resolve(work, out.trim().split('\n').pop().trim());
  tarballs.push(tgz);
  const files = run('tar', ['-tzf', tgz], work).split('\n');
  const main = p.json.exports?.['.']?.default?.replace(/^\.\//, 'package/');
  const types = p.json.exports?.['.']?.types?.replace(/^\.\//, 'package/');
  for (const need of [main, types, 'package/LICENSE']) {
    if (need === undefined || !files.includes(need)) problems.push(`${name}: ${need} not packed`);
  }
  const packed = JSON.parse(run('tar', ['-xzOf', tgz, 'package/package.json'], work));
  for (const kind of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [dep, range] of Object.entries(packed[kind] ?? {})) {
      if (String(range).startsWith('workspace:')) problems.push(`${name}: ${dep}@${range}`);
    }
  }
  if (packed.license !== undefined && !files.includes('package/LICENSE')) {
    problems.push(`${name}: license ${packed.license} but no LICENSE file`);
  }
}

const app = join(work, 'app');
run('mkdir', ['-p', app], work);
writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true, "type": "module" }\n');
run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], app);
for (const p of packages) {
  const name = p.json.name;
  const code = `const m = await import(${JSON.stringify(name)}); if (Object.keys(m).length === 0) throw new Error('no exports'); console.log(${JSON.stringify(name)}, Object.keys(m).length, 'exports');`;
  try {
    process.stdout.write(run(process.execPath, ['--input-type=module', '-e', code], app));
  } catch (err) {
    problems.push(`${name}: import with plain node failed: ${err.message.split('\n')[0]}`);
  }
  for (const bin of Object.keys(p.json.bin ?? {})) {
    try {
      run(join(app, 'node_modules/.bin', bin), ['--help'], app);
      console.log(`${bin} --help runs from the install`);
    } catch (err) {
      problems.push(`${name}: ${bin} --help failed: ${err.message.split('\n')[0]}`);
    }
  }
}
rmSync(work, { recursive: true, force: true });
if (problems.length > 0) {
  process.stderr.write(`publishing check failed:\n  ${problems.join('\n  ')}\n`);
  process.exit(1);
}
console.log(`publishing check: ${packages.length} packages pack and import with plain node`);
