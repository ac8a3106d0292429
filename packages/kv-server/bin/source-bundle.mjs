// raft-kv from a tsraft checkout: the CLI's TypeScript sources (and the workspace packages they
// import, through their `source` export condition) bundled by esbuild into one ES module, cached
// under node_modules/.cache/raft-kv. Loading one prebuilt file takes a fraction of the time tsx
// needs to compile ~150 files at every start.
//
// The cache can never be stale: its manifest lists every source file the bundle was made from
// with a hash of its content (esbuild's metafile says which), plus the lockfile and the
// workspace package.json files (they decide what imports resolve to). Each start re-hashes
// those files (a few ms) and rebuilds on any difference (~0.3 s). Third-party packages stay
// outside the bundle, imported by their resolved paths, so they load as they always do.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPO = join(PKG, '..', '..');
/** raft-kv's own bundle; bundleOf() makes others (the benchmarks' host processes). */
const CLI = {
  entry: join(PKG, 'src', 'cli.ts'),
  cache: join(PKG, 'node_modules', '.cache', 'raft-kv'),
};
/** Bundles older than this, and not the current one, are deleted when a new one is written. */
const KEEP_OLD_MS = 60 * 60 * 1000;

function hashFile(path) {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 32);
  } catch {
    return 'missing';
  }
}

/** Files outside the bundle's inputs that change what it is: resolution and dependencies. */
function resolutionFiles() {
  const files = [join(REPO, 'pnpm-lock.yaml')];
  for (const name of readdirSync(join(REPO, 'packages'))) {
    const pj = join(REPO, 'packages', name, 'package.json');
    if (existsSync(pj)) files.push(pj);
  }
  return files;
}

function readManifest(cache) {
  try {
    return JSON.parse(readFileSync(join(cache, 'manifest.json'), 'utf8'));
  } catch {
    return null;
  }
}

/** The cached bundle's path if every file it was made from is unchanged; else null. */
function currentBundle(cache) {
  const m = readManifest(cache);
  if (m === null || m.node !== process.version) return null;
  for (const [rel, hash] of Object.entries(m.files)) {
    if (hashFile(join(REPO, rel)) !== hash) return null;
  }
  const bundle = join(cache, m.bundle);
  return existsSync(bundle) ? bundle : null;
}

/** esbuild plugin: workspace packages are bundled; other bare imports stay external. */
function externalDependencies() {
  return {
    name: 'external-dependencies',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.path.startsWith('@tsraft/') || args.pluginData === 'inner') return undefined;
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        const r = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: 'inner',
        });
        if (r.errors.length > 0) return { errors: r.errors };
        // By absolute path: the bundle lives in a cache folder that cannot resolve them.
        return { path: pathToFileURL(r.path).href, external: true };
      });
    },
  };
}

async function build({ entry, cache }) {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: REPO,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    conditions: ['source'],
    // Named as the cache's files are: source paths in the map are relative to this folder.
    outfile: join(cache, 'cli.mjs'),
    sourcemap: 'inline',
    sourcesContent: false,
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [externalDependencies()],
  });
  const code = result.outputFiles[0].contents;
  const digest = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const files = {};
  for (const input of Object.keys(result.metafile.inputs)) {
    if (existsSync(join(REPO, input))) files[input] = hashFile(join(REPO, input));
  }
  for (const f of resolutionFiles()) files[relative(REPO, f)] = hashFile(f);
  mkdirSync(cache, { recursive: true });
  const name = `cli-${digest}.mjs`;
  const bundle = join(cache, name);
  // Temp name, then rename: concurrent starts may build too; each rename is atomic.
  const tmp = `${bundle}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, bundle);
  const manifest = join(cache, 'manifest.json');
  const mtmp = `${manifest}.${process.pid}.tmp`;
  writeFileSync(mtmp, JSON.stringify({ node: process.version, bundle: name, files }, null, 1));
  renameSync(mtmp, manifest);
  removeOldBundles(cache, name);
  return bundle;
}

function removeOldBundles(cache, keep) {
  const now = Date.now();
  for (const f of readdirSync(cache)) {
    if (f === keep || !f.startsWith('cli-')) continue;
    const p = join(cache, f);
    try {
      if (now - statSync(p).mtimeMs > KEEP_OLD_MS) rmSync(p, { force: true });
    } catch {}
  }
}

/** The URL of a bundle of the current sources (built now if the cached one is out of date). */
export async function sourceBundle() {
  return bundleOf(CLI);
}

/**
 * The same for another TypeScript entry of the checkout, cached in `cache`: the benchmarks run
 * their host processes from one, as users run compiled code (tsx keeps every function's name
 * with a defineProperty, which made a RaftHost's closures 13% of its heap).
 */
export async function bundleOf({ entry, cache }) {
  return pathToFileURL(currentBundle(cache) ?? (await build({ entry, cache })));
}

// `node bin/source-bundle.mjs`: build (or check) the bundle ahead of time, e.g. at install.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await sourceBundle();
}
