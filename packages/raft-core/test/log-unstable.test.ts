// Unstable: the part of the log not yet written to Storage (an incoming snapshot and the
// entries after it), with the in-progress cursors of the Ready contract.
import { describe, expect, it } from 'vitest';
import { type Entry, type Snapshot, type Term, newConfState } from '../src/index.js';
import { Unstable } from '../src/log-unstable.js';
import { entsFrom, termIndex } from './util/raft.js';

function snap(index: number, term: Term): Snapshot {
  return { data: new Uint8Array(0), metadata: { index, term, confState: newConfState() } };
}

function unstable(opts: {
  offset: number;
  entries?: Entry[];
  snapshot?: Snapshot;
  offsetInProgress?: number;
  snapshotInProgress?: boolean;
}): Unstable {
  const u = new Unstable(opts.offset);
  u.entries = opts.entries ?? [];
  u.snapshot = opts.snapshot ?? null;
  u.offsetInProgress = opts.offsetInProgress ?? opts.offset;
  u.snapshotInProgress = opts.snapshotInProgress ?? false;
  return u;
}

describe('Unstable', () => {
  it('maybeFirstIndex is known only with a snapshot', () => {
    expect(unstable({ offset: 5, entries: entsFrom(5, 1) }).maybeFirstIndex()).toBeUndefined();
    expect(unstable({ offset: 0 }).maybeFirstIndex()).toBeUndefined();
    expect(
      unstable({ offset: 5, entries: entsFrom(5, 1), snapshot: snap(4, 1) }).maybeFirstIndex(),
    ).toBe(5);
    expect(unstable({ offset: 5, snapshot: snap(4, 1) }).maybeFirstIndex()).toBe(5);
  });

  it('maybeLastIndex: the last entry, else the snapshot, else unknown', () => {
    expect(unstable({ offset: 5, entries: entsFrom(5, 1) }).maybeLastIndex()).toBe(5);
    expect(
      unstable({ offset: 5, entries: entsFrom(5, 1), snapshot: snap(4, 1) }).maybeLastIndex(),
    ).toBe(5);
    expect(unstable({ offset: 5, snapshot: snap(4, 1) }).maybeLastIndex()).toBe(4);
    expect(unstable({ offset: 0 }).maybeLastIndex()).toBeUndefined();
  });

  it('maybeTerm: entries, or the snapshot at its exact index; unknown otherwise', () => {
    const cases: Array<{ u: Unstable; i: number; want: Term | undefined }> = [
      { u: unstable({ offset: 5, entries: entsFrom(5, 1) }), i: 5, want: 1 },
      { u: unstable({ offset: 5, entries: entsFrom(5, 1) }), i: 6, want: undefined },
      { u: unstable({ offset: 5, entries: entsFrom(5, 1) }), i: 4, want: undefined },
      { u: unstable({ offset: 5, entries: entsFrom(5, 1), snapshot: snap(4, 1) }), i: 5, want: 1 },
      { u: unstable({ offset: 5, entries: entsFrom(5, 1), snapshot: snap(4, 1) }), i: 4, want: 1 },
      {
        u: unstable({ offset: 5, entries: entsFrom(5, 1), snapshot: snap(4, 1) }),
        i: 3,
        want: undefined,
      },
      {
        u: unstable({ offset: 5, entries: entsFrom(5, 1), snapshot: snap(4, 1) }),
        i: 6,
        want: undefined,
      },
      { u: unstable({ offset: 5, snapshot: snap(4, 1) }), i: 4, want: 1 },
      { u: unstable({ offset: 5, snapshot: snap(4, 1) }), i: 5, want: undefined },
      { u: unstable({ offset: 0 }), i: 5, want: undefined },
    ];
    for (const [k, c] of cases.entries()) expect(c.u.maybeTerm(c.i), `#${k}`).toBe(c.want);
  });

  it('restore replaces everything with the snapshot', () => {
    const u = unstable({
      offset: 5,
      entries: entsFrom(5, 1),
      snapshot: snap(4, 1),
      offsetInProgress: 6,
      snapshotInProgress: true,
    });
    const s = snap(6, 2);
    u.restore(s);
    expect(u.offset).toBe(7);
    expect(u.offsetInProgress).toBe(7);
    expect(u.entries).toEqual([]);
    expect(u.snapshot).toBe(s);
    expect(u.snapshotInProgress).toBe(false);
  });

  it('nextEntries / nextSnapshot hand out only what is not in progress yet', () => {
    const cases: Array<{ offsetInProgress: number; want: number[] }> = [
      { offsetInProgress: 5, want: [5, 6] },
      { offsetInProgress: 6, want: [6] },
      { offsetInProgress: 7, want: [] },
    ];
    for (const c of cases) {
      const u = unstable({
        offset: 5,
        entries: entsFrom(5, 1, 1),
        offsetInProgress: c.offsetInProgress,
      });
      expect(u.nextEntries().map((e) => e.index)).toEqual(c.want);
      expect(u.hasNextEntries()).toBe(c.want.length > 0);
    }
    const s = snap(4, 1);
    expect(unstable({ offset: 5, snapshot: s }).nextSnapshot()).toBe(s);
    expect(
      unstable({ offset: 5, snapshot: s, snapshotInProgress: true }).nextSnapshot(),
    ).toBeNull();
    expect(unstable({ offset: 5 }).nextSnapshot()).toBeNull();
  });

  it('acceptInProgress marks every entry and the snapshot as handed out', () => {
    const u = unstable({ offset: 5, entries: entsFrom(5, 1, 1), snapshot: snap(4, 1) });
    u.acceptInProgress();
    expect(u.offsetInProgress).toBe(7);
    expect(u.snapshotInProgress).toBe(true);
    expect(u.nextEntries()).toEqual([]);
    // Nothing to accept: the cursors stay.
    const empty = unstable({ offset: 5 });
    empty.acceptInProgress();
    expect(empty.offsetInProgress).toBe(5);
    expect(empty.snapshotInProgress).toBe(false);
  });

  it('stableTo drops written entries, unless the entry was since replaced', () => {
    const cases: Array<{
      name: string;
      u: () => Unstable;
      index: number;
      term: Term;
      woffset: number;
      winProgress: number;
      wlen: number;
    }> = [
      {
        name: 'empty',
        u: () => unstable({ offset: 0 }),
        index: 4,
        term: 1,
        woffset: 0,
        winProgress: 0,
        wlen: 0,
      },
      {
        name: 'all of one',
        u: () => unstable({ offset: 5, entries: entsFrom(5, 1), offsetInProgress: 6 }),
        index: 5,
        term: 1,
        woffset: 6,
        winProgress: 6,
        wlen: 0,
      },
      {
        name: 'a prefix',
        u: () => unstable({ offset: 5, entries: entsFrom(5, 1, 1), offsetInProgress: 6 }),
        index: 5,
        term: 1,
        woffset: 6,
        winProgress: 6,
        wlen: 1,
      },
      {
        name: 'a prefix, all in progress',
        u: () => unstable({ offset: 5, entries: entsFrom(5, 1, 1), offsetInProgress: 7 }),
        index: 5,
        term: 1,
        woffset: 6,
        winProgress: 7,
        wlen: 1,
      },
      {
        name: 'not yet handed out',
        u: () => unstable({ offset: 5, entries: entsFrom(5, 1, 1) }),
        index: 5,
        term: 1,
        woffset: 6,
        winProgress: 6,
        wlen: 1,
      },
      {
        name: 'term mismatch',
        u: () => unstable({ offset: 6, entries: entsFrom(6, 2), offsetInProgress: 7 }),
        index: 6,
        term: 1,
        woffset: 6,
        winProgress: 7,
        wlen: 1,
      },
      {
        name: 'before the entries',
        u: () => unstable({ offset: 5, entries: entsFrom(5, 1), offsetInProgress: 6 }),
        index: 4,
        term: 1,
        woffset: 5,
        winProgress: 6,
        wlen: 1,
      },
      {
        name: 'before the entries, other term',
        u: () => unstable({ offset: 5, entries: entsFrom(5, 1), offsetInProgress: 6 }),
        index: 4,
        term: 2,
        woffset: 5,
        winProgress: 6,
        wlen: 1,
      },
      {
        name: 'with a snapshot',
        u: () =>
          unstable({
            offset: 5,
            entries: entsFrom(5, 1),
            snapshot: snap(4, 1),
            offsetInProgress: 6,
          }),
        index: 5,
        term: 1,
        woffset: 6,
        winProgress: 6,
        wlen: 0,
      },
      {
        name: 'with a snapshot, after the entries',
        u: () =>
          unstable({
            offset: 5,
            entries: entsFrom(5, 1, 1),
            snapshot: snap(4, 1),
            offsetInProgress: 6,
          }),
        index: 5,
        term: 1,
        woffset: 6,
        winProgress: 6,
        wlen: 1,
      },
      {
        name: 'with a snapshot, term mismatch',
        u: () =>
          unstable({
            offset: 6,
            entries: entsFrom(6, 2),
            snapshot: snap(5, 1),
            offsetInProgress: 7,
          }),
        index: 6,
        term: 1,
        woffset: 6,
        winProgress: 7,
        wlen: 1,
      },
      {
        name: "the snapshot's own index",
        u: () =>
          unstable({
            offset: 5,
            entries: entsFrom(5, 1),
            snapshot: snap(4, 1),
            offsetInProgress: 6,
          }),
        index: 4,
        term: 1,
        woffset: 5,
        winProgress: 6,
        wlen: 1,
      },
      {
        name: 'the snapshot index, other term',
        u: () =>
          unstable({
            offset: 5,
            entries: entsFrom(5, 2),
            snapshot: snap(4, 2),
            offsetInProgress: 6,
          }),
        index: 4,
        term: 1,
        woffset: 5,
        winProgress: 6,
        wlen: 1,
      },
    ];
    for (const c of cases) {
      const u = c.u();
      u.stableTo(c.index, c.term);
      expect(u.offset, c.name).toBe(c.woffset);
      expect(u.offsetInProgress, c.name).toBe(c.winProgress);
      expect(u.entries, c.name).toHaveLength(c.wlen);
    }
  });

  it('stableSnapTo clears the snapshot once that very snapshot is written', () => {
    const u = unstable({ offset: 5, snapshot: snap(4, 1), snapshotInProgress: true });
    u.stableSnapTo(3);
    expect(u.snapshot).not.toBeNull();
    u.stableSnapTo(4);
    expect(u.snapshot).toBeNull();
    expect(u.snapshotInProgress).toBe(false);
  });

  it('truncateAndAppend appends, replaces, or truncates, pulling offsetInProgress back', () => {
    const cases: Array<{
      name: string;
      entries: Entry[];
      offset: number;
      offsetInProgress: number;
      toAppend: Entry[];
      woffset: number;
      winProgress: number;
      wentries: Array<[number, number]>;
    }> = [
      // append to the end
      {
        name: 'append',
        entries: entsFrom(5, 1),
        offset: 5,
        offsetInProgress: 5,
        toAppend: entsFrom(6, 1, 1),
        woffset: 5,
        winProgress: 5,
        wentries: [
          [1, 5],
          [1, 6],
          [1, 7],
        ],
      },
      {
        name: 'append, first in progress',
        entries: entsFrom(5, 1),
        offset: 5,
        offsetInProgress: 6,
        toAppend: entsFrom(6, 1, 1),
        woffset: 5,
        winProgress: 6,
        wentries: [
          [1, 5],
          [1, 6],
          [1, 7],
        ],
      },
      // replace the unstable entries entirely
      {
        name: 'replace at offset',
        entries: entsFrom(5, 1),
        offset: 5,
        offsetInProgress: 5,
        toAppend: entsFrom(5, 2, 2),
        woffset: 5,
        winProgress: 5,
        wentries: [
          [2, 5],
          [2, 6],
        ],
      },
      {
        name: 'replace from before offset',
        entries: entsFrom(5, 1),
        offset: 5,
        offsetInProgress: 5,
        toAppend: entsFrom(4, 2, 2, 2),
        woffset: 4,
        winProgress: 4,
        wentries: [
          [2, 4],
          [2, 5],
          [2, 6],
        ],
      },
      {
        name: 'replace, in progress',
        entries: entsFrom(5, 1),
        offset: 5,
        offsetInProgress: 6,
        toAppend: entsFrom(5, 2, 2),
        woffset: 5,
        winProgress: 5,
        wentries: [
          [2, 5],
          [2, 6],
        ],
      },
      // truncate the unstable entries and append
      {
        name: 'truncate',
        entries: entsFrom(5, 1, 1, 1),
        offset: 5,
        offsetInProgress: 5,
        toAppend: entsFrom(6, 2),
        woffset: 5,
        winProgress: 5,
        wentries: [
          [1, 5],
          [2, 6],
        ],
      },
      {
        name: 'truncate, longer',
        entries: entsFrom(5, 1, 1, 1),
        offset: 5,
        offsetInProgress: 5,
        toAppend: entsFrom(7, 2, 2),
        woffset: 5,
        winProgress: 5,
        wentries: [
          [1, 5],
          [1, 6],
          [2, 7],
          [2, 8],
        ],
      },
      {
        name: 'truncate after the in-progress part',
        entries: entsFrom(5, 1, 1, 1),
        offset: 5,
        offsetInProgress: 6,
        toAppend: entsFrom(6, 2),
        woffset: 5,
        winProgress: 6,
        wentries: [
          [1, 5],
          [2, 6],
        ],
      },
      {
        name: 'truncate inside the in-progress part',
        entries: entsFrom(5, 1, 1, 1),
        offset: 5,
        offsetInProgress: 7,
        toAppend: entsFrom(6, 2),
        woffset: 5,
        winProgress: 6,
        wentries: [
          [1, 5],
          [2, 6],
        ],
      },
      {
        name: 'truncate, all in progress',
        entries: entsFrom(5, 1, 1, 1),
        offset: 5,
        offsetInProgress: 8,
        toAppend: entsFrom(7, 2),
        woffset: 5,
        winProgress: 7,
        wentries: [
          [1, 5],
          [1, 6],
          [2, 7],
        ],
      },
    ];
    for (const c of cases) {
      const u = unstable({
        offset: c.offset,
        entries: c.entries,
        offsetInProgress: c.offsetInProgress,
      });
      u.truncateAndAppend(c.toAppend);
      expect(u.offset, c.name).toBe(c.woffset);
      expect(u.offsetInProgress, c.name).toBe(c.winProgress);
      expect(termIndex(u.entries), c.name).toEqual(c.wentries);
    }
  });

  it('arrays handed out are never changed by later appends', () => {
    const u = unstable({ offset: 5, entries: entsFrom(5, 1, 1) });
    const handed = u.nextEntries();
    const sliced = u.slice(5, 7);
    u.acceptInProgress();
    u.truncateAndAppend(entsFrom(7, 1));
    u.truncateAndAppend(entsFrom(6, 2));
    expect(termIndex(handed)).toEqual([
      [1, 5],
      [1, 6],
    ]);
    expect(termIndex(sliced)).toEqual([
      [1, 5],
      [1, 6],
    ]);
  });
});
