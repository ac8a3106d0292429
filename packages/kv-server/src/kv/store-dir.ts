// Where the store's LevelDB lives inside its directory, and the atomic swap restore needs.
//
//   <dir>/CURRENT   the name of the live generation ("g7"), replaced by write-fsync-rename
//   <dir>/g<n>/     one LevelDB per generation
//
// A restore fills g<n+1> beside the live g<n>, makes it durable, then renames a new CURRENT
// over the old: a crash before the rename leaves g<n> live (g<n+1> is removed at the next
// open), a crash after it leaves g<n+1> live (g<n> is removed). Nothing else names a
// generation, so a half-written one is never opened.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { KvCorruptionError } from './errors.js';

const CURRENT = 'CURRENT';
const GEN = /^g([1-9][0-9]*)$/;

export class StoreDir {
  private constructor(
    readonly dir: string,
    private gen: number,
  ) {}

  /** Opens (creating) `dir`, removing every generation but the live one. */
  static async open(dir: string): Promise<StoreDir> {
    const root = path.resolve(dir);
    await fsp.mkdir(root, { recursive: true });
    let gen: number;
    try {
      const text = (await fsp.readFile(path.join(root, CURRENT), 'utf8')).trim();
      const m = GEN.exec(text);
      if (m === null)
        throw new KvCorruptionError(root, `CURRENT names "${text}", not a generation`);
      gen = Number(m[1]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      gen = 1;
      await writeCurrent(root, gen);
    }
    const d = new StoreDir(root, gen);
    await d.removeStale();
    return d;
  }

  /** The live generation's LevelDB directory. */
  get current(): string {
    return this.genPath(this.gen);
  }

  /** A fresh, empty directory for the next generation (a leftover one is removed first). */
  async prepareNext(): Promise<string> {
    const next = this.genPath(this.gen + 1);
    await fsp.rm(next, { recursive: true, force: true });
    return next;
  }

  /** Makes the next generation the live one (durable once this resolves). */
  async switchToNext(): Promise<void> {
    await writeCurrent(this.dir, this.gen + 1);
    this.gen++;
  }

  /** Removes every generation directory but the live one. */
  async removeStale(): Promise<void> {
    for (const name of await fsp.readdir(this.dir)) {
      const m = GEN.exec(name) ?? /^CURRENT\..*\.tmp$/.exec(name);
      if (m === null || name === `g${this.gen}`) continue;
      await fsp.rm(path.join(this.dir, name), { recursive: true, force: true });
    }
  }

  private genPath(gen: number): string {
    return path.join(this.dir, `g${gen}`);
  }
}

async function writeCurrent(dir: string, gen: number): Promise<void> {
  const tmp = path.join(dir, `${CURRENT}.${process.pid}.tmp`);
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(`g${gen}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, path.join(dir, CURRENT));
  const d = await fsp.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
