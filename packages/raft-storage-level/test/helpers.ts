import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { newEntry, type Entry } from '@tsraft/raft-core';

/** A new empty directory under the OS temp dir; callers remove it when done. */
export function tempDir(prefix = 'tsraft-level-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Consecutive entries [from, from + count) of one term, with distinct payloads. */
export function ents(from: number, count: number, term: number, size = 16): Entry[] {
  return Array.from({ length: count }, (_, k) => {
    const data = new Uint8Array(size);
    for (let j = 0; j < size; j++) data[j] = (from + k + j * 7 + term) & 0xff;
    return newEntry({ index: from + k, term, data });
  });
}

/** Files in a directory whose names end with `suffix`, as full paths. */
export async function filesEnding(dir: string, suffix: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((n) => n.endsWith(suffix)).map((n) => path.join(dir, n));
}
