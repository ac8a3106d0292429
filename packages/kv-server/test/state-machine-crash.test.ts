// SIGKILL of a process applying batches or restoring a snapshot: the store reopens at a
// whole batch (never half of one) with its applied index, or with its old state intact.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Command } from '../src/kv/command.js';
import { KvStateMachine } from '../src/kv/state-machine.js';
import { startChild } from './support/child.js';
import {
  applyBatch,
  contentOf,
  disposeStore,
  openTempStore,
  removeDir,
  tempDir,
} from './support/temp-store.js';

const KEYS_PER_BATCH = 64; // as kv-child.ts applies them
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeDir(d);
});

describe('SIGKILL while applying', () => {
  it('reopens at a whole batch, at most the last acknowledged one behind', async () => {
    const dir = tempDir();
    dirs.push(dir);
    for (let round = 0; round < 4; round++) {
      const child = startChild(['apply', dir]);
      // Kill at an arbitrary point some batches after it started (it keeps applying).
      const more = 5 + Math.floor(Math.random() * 40);
      await child.waitFor((_, n) => n >= more);
      child.proc.kill('SIGKILL');
      const { signal } = await child.exited;
      expect(signal).toBe('SIGKILL');
      const acknowledged = Number(child.lines.at(-1));

      const sm = new KvStateMachine({ dir });
      const applied = await sm.open();
      try {
        expect(applied % KEYS_PER_BATCH).toBe(0);
        // Not fsynced, but written: a killed process loses nothing LevelDB was handed. apply()
        // answers before its batch lands, and the next one starts once it did: only the last
        // acknowledged batch may be missing (raft-node replays it from the log).
        expect(applied).toBeGreaterThanOrEqual(acknowledged - KEYS_PER_BATCH);
        const batch = applied / KEYS_PER_BATCH;
        const { kvs, revision } = await sm.range('k');
        expect(revision).toBe(applied);
        expect(kvs).toHaveLength(KEYS_PER_BATCH);
        for (const kv of kvs) {
          expect(kv.value.split(':')[0]).toBe(String(batch));
          expect(kv).toMatchObject({ version: batch, createRevision: Number(kv.key.slice(1)) + 1 });
        }
      } finally {
        await sm.close();
      }
    }
  });
});

describe('SIGKILL while restoring', () => {
  it('leaves the old state and applied index; a later restore completes', async () => {
    // The snapshot to restore: ~20k keys of 500 B in a file.
    const source = await openTempStore();
    for (let b = 0; b < 20; b++) {
      const cmds: Command[] = [];
      for (let i = 0; i < 1000; i++) {
        cmds.push({ op: 'put', key: `new/${b}/${i}`, value: `${i}`.padEnd(500, 's') });
      }
      await applyBatch(source, cmds);
    }
    const file = path.join(tempDir(), 'snap');
    dirs.push(path.dirname(file));
    const out = fs.createWriteStream(file);
    for await (const c of source.snapshot()) out.write(c);
    await new Promise((r) => out.end(r));
    const wanted = await contentOf(source);
    await disposeStore(source);

    // The target holds something else.
    const target = await openTempStore();
    const dir = target.options.dir;
    dirs.push(dir);
    await applyBatch(target, [
      { op: 'put', key: 'old/a', value: '1' },
      { op: 'put', key: 'old/b', value: '2' },
      { op: 'setMember', id: 4, clientUrl: 'http://d', peerUrl: 'd:4' },
    ]);
    const before = await contentOf(target);
    await target.close();

    const child = startChild(['restore', dir, file, String(16 << 10)]);
    await child.waitFor((_, n) => n >= 60); // ~1 MB of ~11 MB read
    child.proc.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    expect(child.lines).not.toContain('done');

    const again = new KvStateMachine({ dir });
    expect(await again.open()).toBe(3);
    expect(await contentOf(again)).toEqual(before);
    expect(fs.readdirSync(dir).sort()).toEqual(['CURRENT', 'g1']); // the half-written one is gone
    await again.restore(fs.createReadStream(file, { highWaterMark: 64 << 10 }));
    expect(again.appliedIndex()).toBe(20_000);
    expect(await contentOf(again)).toEqual(wanted);
    await again.close();

    const reopened = new KvStateMachine({ dir });
    expect(await reopened.open()).toBe(20_000);
    expect(await contentOf(reopened)).toEqual(wanted);
    await reopened.close();
  });
});
