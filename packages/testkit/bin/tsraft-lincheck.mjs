#!/usr/bin/env node
// tsraft-lincheck: runs the TypeScript sources through tsx when it is installed (the
// workspace: no build step), else the compiled dist/ (an installed package).
import { existsSync } from 'node:fs';

const src = new URL('../src/lincheck/cli.ts', import.meta.url);
const dist = new URL('../dist/lincheck/cli.js', import.meta.url);

async function load() {
  if (existsSync(src)) {
    try {
      const { register } = await import('tsx/esm/api');
      register();
      return await import(src.href);
    } catch (err) {
      if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !existsSync(dist)) throw err;
    }
  }
  return import(dist.href);
}

const cli = await load();
process.exitCode = cli.main(process.argv.slice(2));
