// The README's examples are files under examples/; this checks the README shows them
// verbatim (the first one opens it) and runs each, so the documentation cannot rot.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main as asyncStorage } from '../../examples/async-storage.js';
import { main as errorsAndDescribe } from '../../examples/errors-and-describe.js';
import { main as readyLoop } from '../../examples/ready-loop.js';

const read = (rel: string) => readFileSync(new URL(`../../${rel}`, import.meta.url), 'utf8');
const blocks = [...read('README.md').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

describe('README examples', () => {
  it('the README opens with examples/ready-loop.ts and shows every example verbatim', () => {
    expect(blocks[0]).toBe(read('examples/ready-loop.ts'));
    for (const f of ['examples/async-storage.ts', 'examples/errors-and-describe.ts']) {
      expect(blocks, f).toContain(read(f));
    }
  });

  it('ready-loop: three nodes elect a leader and apply the same commands', () => {
    const lines: string[] = [];
    expect(readyLoop((l) => lines.push(l))).toEqual([
      ['x=1', 'y=2', 'z=3'],
      ['x=1', 'y=2', 'z=3'],
      ['x=1', 'y=2', 'z=3'],
    ]);
    expect(lines[0]).toMatch(/^node [123] leads term \d+$/);
  });

  it('async-storage: the same with several writes in flight', () => {
    const lines: string[] = [];
    expect(asyncStorage((l) => lines.push(l))).toEqual([
      ['x=1', 'y=2', 'z=3'],
      ['x=1', 'y=2', 'z=3'],
      ['x=1', 'y=2', 'z=3'],
    ]);
    const inFlight = Number(/up to (\d+) writes/.exec(lines[1] ?? '')?.[1]);
    expect(inFlight).toBeGreaterThan(1);
  });

  it('errors-and-describe: typed errors and a described Ready', () => {
    const lines: string[] = [];
    errorsAndDescribe((l) => lines.push(l));
    expect(lines).toEqual([
      'RAFT_INVALID_CONFIG: checkQuorum must be enabled when readOnlyOption is LeaseBased',
      'RAFT_PROPOSAL_DROPPED: proposal dropped: no leader',
      'Ready MustSync=true:\nLead:0 State:StateCandidate\nHardState Term:1 Vote:1 Commit:1\nMessages:\n1->2 MsgVote Term:1 Log:1/1',
    ]);
  });
});
