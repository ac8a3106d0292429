// What a user reads must work as written on a machine with only Node and npm: every pnpm
// command in the READMEs, the CHANGELOG, `pnpm start --help` and its banner is spelled
// `npx -y pnpm@10 …` and names a script that exists, and nothing points outside the
// repository (../shared).
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './support/local-cluster-run.js';

const DOCS = [
  'README.md',
  'CHANGELOG.md',
  'benchmarks/README.md',
  ...readdirSync(join(REPO, 'packages')).map((p) => `packages/${p}/README.md`),
];
const SCRIPTS = Object.keys(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).scripts);
/** pnpm commands (pnpm's own and the root scripts) not preceded by `npx -y `. */
const BARE_PNPM =
  /(?<![\w/@.-])(?<!npx -y )pnpm (start|bench|test|lint|typecheck|build|gen|api-docs|install|exec|chaos|run)\b/g;

function problems(where: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(BARE_PNPM)) out.push(`${where}: "${m[0]}" needs npx -y pnpm@10`);
  for (const m of text.matchAll(/npx -y pnpm@10 ([a-z-]+)/g)) {
    const cmd = m[1]!;
    if (!['install', 'exec', 'run', 'add'].includes(cmd) && !SCRIPTS.includes(cmd)) {
      out.push(`${where}: "npx -y pnpm@10 ${cmd}" is no script of package.json`);
    }
  }
  if (/\.\.\/shared\/BENCHMARKS\.md/.test(text))
    out.push(`${where}: points at ../shared/BENCHMARKS.md`);
  return out;
}

describe('commands in what a user reads', () => {
  it('READMEs and the CHANGELOG spell every command as it runs from a fresh clone', () => {
    const found = DOCS.flatMap((f) => {
      let text: string;
      try {
        text = readFileSync(join(REPO, f), 'utf8');
      } catch {
        return [];
      }
      return problems(f, text);
    });
    expect(found).toEqual([]);
  });

  it('pnpm start --help and the start-up banner do too', () => {
    const script = join(REPO, 'packages/kv-server/scripts/local-cluster.ts');
    const help = spawnSync(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', script, '--help'],
      {
        cwd: REPO,
        encoding: 'utf8',
      },
    );
    expect(help.status).toBe(0);
    expect(problems('pnpm start --help', help.stdout)).toEqual([]);
    // The banner is in the script's source as string literals.
    expect(problems('local-cluster.ts', readFileSync(script, 'utf8'))).toEqual([]);
  });
});
