// Restoring while a snapshot is received: the bounded channel between the transport's sink
// and the state machine's prepareRestore, and the sink that swaps a complete stream in (and
// never a damaged, cut or stale one).
import { type Entry, EntryType, type Message, MessageType, newMessage } from '@tsraft/raft-core';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ApplyWorker } from '../src/apply-worker.js';
import type { NodeContext } from '../src/context.js';
import { Session, encodeEntryData } from '../src/envelope.js';
import { Metrics } from '../src/metrics.js';
import { SnapshotChannel } from '../src/snapshot-channel.js';
import { ErrSnapshotNotInstalled, restoringSink } from '../src/snapshot-receive.js';
import type { PreparedRestore } from '../src/state-machine.js';

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);
const settledSoon = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
};

describe('SnapshotChannel', () => {
  it('takes writes up to its bound, then makes the writer wait for the reader', async () => {
    const ch = new SnapshotChannel(10);
    await ch.write(bytes(4));
    await ch.write(bytes(4));
    const third = ch.write(bytes(4)); // 12 bytes queued: above the bound
    expect(await settledSoon(third)).toBe(false);
    const it = ch[Symbol.asyncIterator]();
    expect((await it.next()).value).toHaveLength(4);
    await third; // 8 queued now
    ch.end();
    const rest: number[] = [];
    for (let r = await it.next(); r.done !== true; r = await it.next()) rest.push(r.value.length);
    expect(rest).toEqual([4, 4]);
  });

  it('fail() makes the reader throw and a waiting writer reject', async () => {
    const ch = new SnapshotChannel(4);
    const it = ch[Symbol.asyncIterator]();
    const waiting = ch.write(bytes(8));
    const reading = it.next();
    expect((await reading).value).toHaveLength(8);
    const next = it.next();
    ch.fail(new Error('chunk 3 fails its checksum'));
    await expect(next).rejects.toThrow('checksum');
    await waiting; // it was taken before the failure
    await expect(ch.write(bytes(1))).rejects.toThrow('checksum');
  });
});

/** A state machine whose prepareRestore concatenates the stream; its "index" is the length. */
class FakeSm {
  applied = 0;
  installed: number[] = [];
  discarded = 0;
  /** Throws once it has read this many bytes (a record it refuses). */
  refuseAfter = Number.POSITIVE_INFINITY;

  open = async () => this.applied;
  apply = async () => [];
  snapshot = () => ({ async *[Symbol.asyncIterator]() {} });
  restore = async () => {};
  appliedIndex = () => this.applied;
  sync = async () => {};
  close = async () => {};

  async prepareRestore(from: AsyncIterable<Uint8Array>): Promise<PreparedRestore> {
    let n = 0;
    for await (const c of from) {
      n += c.length;
      if (n > this.refuseAfter) throw new Error('a record does not decode');
    }
    let done = false;
    return {
      appliedIndex: n,
      install: async () => {
        done = true;
        this.applied = n;
        this.installed.push(n);
      },
      discard: async () => {
        if (done) return;
        done = true;
        this.discarded++;
      },
    };
  }
}

function fakeCtx(sm: FakeSm): NodeContext & { smApplied: number } {
  return {
    sm,
    running: true,
    smApplied: 0,
    logger: pino({ level: 'silent' }),
    applyExclusive: <T>(fn: () => Promise<T>) => fn(),
  } as unknown as NodeContext & { smApplied: number };
}

const msgSnap = (): Message =>
  newMessage({
    type: MessageType.MsgSnap,
    from: 1,
    to: 2,
    snapshot: {
      data: new Uint8Array(0),
      metadata: {
        index: 10,
        term: 1,
        confState: {
          voters: [1, 2],
          learners: [],
          votersOutgoing: [],
          learnersNext: [],
          autoLeave: false,
        },
      },
    },
  });

describe('restoringSink', () => {
  it('restores while receiving and swaps a complete stream in before the MsgSnap is delivered', async () => {
    const sm = new FakeSm();
    const ctx = fakeCtx(sm);
    const m = msgSnap();
    const sink = restoringSink(ctx, m, sm);
    for (let i = 0; i < 5; i++) await sink.write(bytes(1000));
    expect(sm.installed).toEqual([]);
    expect(await sink.finish()).toBe(m);
    expect(sm.installed).toEqual([5000]);
    expect(ctx.smApplied).toBe(5000);
  });

  it('a transfer cut or damaged midway is never installed', async () => {
    const sm = new FakeSm();
    const ctx = fakeCtx(sm);
    const sink = restoringSink(ctx, msgSnap(), sm);
    await sink.write(bytes(1000));
    sink.abort(new Error('snapshot chunk 2 fails its checksum'));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(sm.installed).toEqual([]);
    expect(sm.applied).toBe(0);
    expect(ctx.smApplied).toBe(0);
  });

  it('a refusal by the state machine stops the transfer at the next write', async () => {
    const sm = new FakeSm();
    sm.refuseAfter = 1500;
    const sink = restoringSink(fakeCtx(sm), msgSnap(), sm);
    await sink.write(bytes(1000));
    await sink.write(bytes(1000));
    let err: unknown = null;
    for (let i = 0; i < 20 && err === null; i++) {
      await Promise.resolve(sink.write(bytes(1000))).catch((e: unknown) => (err = e));
      await new Promise((r) => setImmediate(r));
    }
    expect(String(err)).toContain('does not decode');
    await expect(Promise.resolve().then(() => sink.finish())).rejects.toThrow('does not decode');
    expect(sm.installed).toEqual([]);
  });

  it('a state machine that applied past the received state discards it', async () => {
    const sm = new FakeSm();
    const ctx = fakeCtx(sm);
    const sink = restoringSink(ctx, msgSnap(), sm);
    await sink.write(bytes(100));
    sm.applied = 500; // applies went on meanwhile
    await sink.finish();
    expect(sm.installed).toEqual([]);
    expect(sm.discarded).toBe(1);
    expect(sm.applied).toBe(500);
  });

  it('a node stopping before the swap discards it and refuses the snapshot', async () => {
    const sm = new FakeSm();
    const ctx = fakeCtx(sm);
    const sink = restoringSink(ctx, msgSnap(), sm);
    await sink.write(bytes(100));
    (ctx as { running: boolean }).running = false;
    await expect(Promise.resolve().then(() => sink.finish())).rejects.toBeInstanceOf(
      ErrSnapshotNotInstalled,
    );
    expect(sm.discarded).toBe(1);
    expect(sm.installed).toEqual([]);
  });
});

describe('ApplyWorker.exclusive (a received snapshot swapped in between applies)', () => {
  /** An apply worker over a state machine that records what it applies, each apply slow. */
  function worker() {
    const applied: number[] = [];
    const rejected: number[] = [];
    let release: () => void = () => {};
    const session = new Session();
    const ctx = {
      id: 1,
      session,
      running: true,
      installing: false,
      applied: 0,
      smApplied: 0,
      stats: new Metrics(),
      sm: {
        apply: async (es: readonly { index: number }[]) => {
          await new Promise<void>((r) => {
            release = r;
          });
          for (const e of es) applied.push(e.index);
          return es.map(() => null);
        },
      },
      proposals: {
        applied: () => {},
        reject: (seq: number) => rejected.push(seq),
      },
      publishApplied: () => {},
      snapshots: { afterApply: () => {} },
      fail: (err: unknown) => {
        throw err;
      },
    };
    const w = new ApplyWorker(ctx as unknown as NodeContext, () => {});
    const entries = (from: number, to: number): Entry[] =>
      Array.from({ length: to - from + 1 }, (_, i) => ({
        index: from + i,
        term: 1,
        type: EntryType.EntryNormal,
        data: encodeEntryData(1, session, from + i, new Uint8Array([1])),
      }));
    const push = (from: number, to: number) => {
      w.push(newMessage({ type: MessageType.MsgStorageApply, entries: entries(from, to) }));
      w.kick();
    };
    return { w, ctx, applied, rejected, push, release: () => release() };
  }

  it('waits for the apply in flight; entries it made the state machine hold are skipped', async () => {
    const { w, ctx, applied, rejected, push, release } = worker();
    push(1, 3);
    await new Promise((r) => setImmediate(r)); // 1..3 in flight
    push(4, 8);
    let swapped = false;
    const swap = w.exclusive(async () => {
      swapped = true;
      ctx.smApplied = 6; // a view at 6 swapped in
    });
    await new Promise((r) => setImmediate(r));
    expect(swapped).toBe(false); // the apply in flight ends first
    release();
    await swap;
    expect(swapped).toBe(true);
    for (let i = 0; i < 20 && applied.length < 5; i++) {
      await new Promise((r) => setImmediate(r));
      release();
    }
    await w.idle();
    expect(applied).toEqual([1, 2, 3, 7, 8]);
    // This node's own proposals among the skipped ones get no result here.
    expect(rejected).toEqual([4, 5, 6]);
    expect(ctx.applied).toBe(8);
  });

  it('no apply starts while it runs, and between() waits for it', async () => {
    const { w, applied, push, release } = worker();
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const swap = w.exclusive(() => gate);
    push(1, 2);
    let between = false;
    const b = w.between(() => {
      between = true;
    });
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    release();
    expect(applied).toEqual([]);
    expect(between).toBe(false);
    open();
    await swap;
    // The apply waiting for the gate went first: between() waits for it to end.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(between).toBe(false);
    release();
    await b;
    expect(between).toBe(true);
    await w.idle();
    expect(applied).toEqual([1, 2]);
  });
});
