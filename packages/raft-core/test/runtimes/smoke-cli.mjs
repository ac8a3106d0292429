// `bun smoke-cli.mjs`, `deno run --allow-read --allow-env smoke-cli.mjs`, `node smoke-cli.mjs`:
// raft-core's built dist (the package's default export, as a user of the runtime gets it).
import * as core from '@tsraft/raft-core';
import { runSmoke } from './smoke.js';

console.log(runSmoke(core));
