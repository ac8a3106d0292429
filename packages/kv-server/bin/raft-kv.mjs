#!/usr/bin/env node
// The `raft-kv` command. Installed from npm it runs the built CLI (dist/cli.js). In a tsraft
// checkout (src/ beside bin/; src is not published) it runs the current TypeScript sources,
// bundled once and cached until any of them changes (source-bundle.mjs): no build step, and
// never stale code.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli.ts', import.meta.url);
if (existsSync(source)) {
  process.setSourceMapsEnabled(true); // stack traces name the .ts files
  const { sourceBundle } = await import('./source-bundle.mjs');
  await import((await sourceBundle()).href);
} else {
  await import(new URL('../dist/cli.js', import.meta.url).href);
}
