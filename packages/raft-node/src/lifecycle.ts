// Starting and stopping a node: open the data directory, restore the state machine, build the
// RawNode (bootstrapping an empty directory), listen and tick; and the reverse, letting the
// storage write and the apply in flight finish.
import { RawNode, ReadOnlyOption, isEmptyHardState, isEmptySnap } from '@tsraft/raft-core';
import { LevelStorage } from '@tsraft/raft-storage-level';
import type { AppendWorker } from './append-worker.js';
import type { ApplyWorker } from './apply-worker.js';
import type { NodeContext } from './context.js';
import { encodeConfContext } from './envelope.js';
import { ErrStopped } from './errors.js';
import { closeWatchers } from './leader-events.js';
import { createTransport } from './peers.js';
import { rawConfig } from './raw-config.js';
import { onRemoved } from './removal.js';
import type { ReadyLoop } from './ready-loop.js';
import type { GroupTicker, NodeStorage } from './seams.js';
import { isOnDisk } from './state-machine.js';
import { restoreSnapshot } from './state-snapshots.js';

/** The parts start and stop work on. */
export interface NodeParts {
  ctx: NodeContext;
  loop: ReadyLoop;
  appends: AppendWorker;
  applies: ApplyWorker;
}

export class NodeRunner {
  private ticker: NodeJS.Timeout | null = null;
  /** A group of a RaftHost ticks on the host's timer. */
  private groupTicker: GroupTicker | null = null;

  constructor(private readonly p: NodeParts) {}

  async start(): Promise<void> {
    const { ctx, loop } = this.p;
    let storage: NodeStorage;
    try {
      storage = await openStorage(ctx);
    } catch (err) {
      ctx.lifecycle = 'stopped';
      throw err;
    }
    ctx.storage = storage;
    const sm = ctx.sm;
    try {
      await ctx.files.init();
      if (isOnDisk(sm)) ctx.smApplied = await sm.open();
      // No log yet: bootstrap it, or (joining) wait for the leader. A joining node killed
      // before it got its first entries may have saved a hard state: it still has no log.
      const noLog = storage.lastIndex() === 0 && isEmptySnap(storage.snapshot());
      const fresh = noLog && isEmptyHardState(storage.hardState());
      await this.recover();
      ctx.appliedCell.set(ctx.applied);
      ctx.raw = new RawNode(rawConfig(ctx));
      if (fresh && !ctx.opts.join) {
        ctx.raw.bootstrap(
          [...ctx.cfg.peers].map(([id, addr]) => ({ id, context: encodeConfContext({ addr }) })),
        );
      }
      // A node joining with an empty log hears first from a leader it does not know yet.
      const t = createTransport(
        ctx,
        noLog && ctx.opts.join === true,
        (m) => loop.onMessage(m),
        (by) => onRemoved(ctx, { by }),
      );
      ctx.transport = t;
      ctx.lifecycle = 'running';
      await t.start();
    } catch (err) {
      ctx.lifecycle = 'stopped';
      await ctx.transport?.stop().catch(() => {});
      await storage.close().catch(() => {});
      if (isOnDisk(sm)) await sm.close().catch(() => {});
      throw err;
    }
    if (!ctx.running) return; // stopped while starting
    if (ctx.group !== null) {
      this.groupTicker = ctx.group.addTicker(
        () => loop.tick(),
        (peer) => loop.onPeerDown(peer),
      );
      // A quiesced leader's clock stops: a lease would outlive a partition that elected
      // another leader meanwhile, so lease-based reads rule quiescence out.
      if (ctx.opts.readOnlyOption !== ReadOnlyOption.LeaseBased) {
        loop.enableQuiescence(this.groupTicker);
      }
    } else {
      this.ticker = setInterval(() => loop.tick(), ctx.cfg.tickMs);
    }
    ctx.logger[ctx.routine](
      { addr: ctx.transport.addr, applied: ctx.applied, term: ctx.term, commit: ctx.commit },
      'raft node started',
    );
    loop.schedule();
  }

  /** State from the data directory: the snapshot's state machine and members, the hard state. */
  private async recover(): Promise<void> {
    const ctx = this.p.ctx;
    const init = ctx.storage.initialState();
    ctx.membership.confState = init.confState;
    ctx.term = init.hardState.term;
    ctx.commit = init.hardState.commit;
    const snap = ctx.storage.snapshot();
    if (!isEmptySnap(snap)) await restoreSnapshot(ctx, snap, false);
    // Files of snapshots received but never installed are stale: raft sends a newer one.
    for (const i of await ctx.files.list()) {
      if (i !== ctx.snapshots.index || isOnDisk(ctx.sm)) await ctx.files.remove(i);
    }
  }

  /** Called once, after start() settled (if it was called). */
  async stop(): Promise<void> {
    const { ctx, appends, applies } = this.p;
    if (ctx.lifecycle === 'new' || ctx.lifecycle === 'stopped') {
      ctx.lifecycle = 'stopped';
      closeWatchers(ctx);
      return;
    }
    ctx.lifecycle = 'stopping';
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    this.groupTicker?.remove();
    this.groupTicker = null;
    ctx.rejectPending((o) => new ErrStopped(o));
    await ctx.transport?.stop();
    await Promise.allSettled([appends.current, applies.current]);
    await ctx.snapshots.stop();
    await appends.flushOnStop();
    await ctx.storage.close().catch((err: unknown) => {
      ctx.logger.warn({ err }, 'closing storage failed');
    });
    const sm = ctx.sm;
    if (isOnDisk(sm)) {
      await sm.close().catch((err: unknown) => {
        ctx.logger.warn({ err }, 'closing the state machine failed');
      });
    }
    ctx.lifecycle = 'stopped';
    closeWatchers(ctx);
    ctx.logger[ctx.routine]({ applied: ctx.applied, term: ctx.term }, 'raft node stopped');
  }
}

/** The storage option: a factory of the embedder's, or LevelStorage in dataDir. */
function openStorage(ctx: NodeContext): Promise<NodeStorage> {
  const o = ctx.opts.storage;
  if (typeof o === 'function') return o(ctx.opts.dataDir);
  // Bound the memory of entry payloads: older ones are read back from LevelDB.
  return LevelStorage.open(ctx.opts.dataDir, { entryCacheBytes: 4 << 20, ...o });
}
