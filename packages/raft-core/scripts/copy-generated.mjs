// tsc does not copy the generated protobufjs module (plain JS with its own .d.ts) to dist:
// copy it beside the compiled code that imports it.
import { cpSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
cpSync(join(pkg, 'src/pb'), join(pkg, 'dist/pb'), { recursive: true });
