#!/usr/bin/env -S node --max-semi-space-size=8
// --max-semi-space-size=8: V8's young generation grows to 2 x 16 MiB under load; at 2 x 8 MiB a
// member's peak RSS is ~20 MiB lower at the same puts per second (kv-server README, "Heap").
// npm's and pnpm's bin shims, and `env -S`, pass it on; cliCommand() reads it from here.
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
