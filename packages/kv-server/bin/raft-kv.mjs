#!/usr/bin/env node
// The `raft-kv` command: runs the built CLI (dist/cli.js). From a source checkout without a
// build, run `node --conditions=source --import tsx packages/kv-server/src/cli.ts` instead.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'raft-kv: dist/cli.js is missing: build first (pnpm build), or run from source:\n' +
      '  node --conditions=source --import tsx packages/kv-server/src/cli.ts --help\n',
  );
  process.exit(1);
}
await import(cli.href);
