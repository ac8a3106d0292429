// The state machine's side of snapshots: taking one (with the address book RaftNode keeps
// beside it), installing one received from the leader, restoring one at start, and the
// transport's snapshot streams (what a MsgSnap carries, and where a received one goes).
import { performance } from 'node:perf_hooks';
import { type Message, type Snapshot, cloneConfState } from '@tsraft/raft-core';
import type { SnapshotSink, SnapshotStreams } from '@tsraft/raft-transport-tcp';
import type { NodeContext } from './context.js';
import { type SnapshotMeta, decodeSnapshotData, encodeSnapshotData } from './envelope.js';
import { updatePeers } from './peers.js';
import { ErrSnapshotFile } from './snapshot-files.js';
import { restoringSink } from './snapshot-receive.js';
import type { TakenSnapshot } from './snapshotter.js';
import { type SnapshotSource, isOnDisk } from './state-machine.js';

/** The snapshot as of `applied` (called between two applies; synchronous and cheap). */
export function takeSnapshot(ctx: NodeContext): TakenSnapshot {
  const removed = [...ctx.membership.removedIds];
  const sm = ctx.sm;
  const meta: SnapshotMeta = {
    members: ctx.membership.toRecord(),
    ...(removed.length > 0 ? { removed } : {}),
    ...(isOnDisk(sm) ? { smIndex: sm.appliedIndex() } : {}),
  };
  return {
    index: ctx.applied,
    confState: cloneConfState(ctx.membership.confState),
    data: encodeSnapshotData(meta),
    source: isOnDisk(sm) ? null : sm.snapshot(),
  };
}

/** A snapshot from the leader is durable in storage: replace the state machine with it. */
export async function installSnapshot(ctx: NodeContext, snap: Snapshot): Promise<void> {
  const t0 = performance.now();
  await restoreSnapshot(ctx, snap, true);
  // Our own requests at or below what the state machine now holds get no result here.
  ctx.proposals.onSnapshot(Math.max(snap.metadata.index, ctx.smApplied));
  ctx.stats.snapshotsRestored++;
  ctx.logger.info(
    {
      index: snap.metadata.index,
      term: snap.metadata.term,
      ms: Math.round(performance.now() - t0),
    },
    'snapshot installed',
  );
  ctx.publishApplied();
}

/**
 * Replaces the state machine and the address book with the snapshot's. At start (`replace`
 * false) an on-disk state machine that already holds the snapshot's state is left as it is.
 */
export async function restoreSnapshot(
  ctx: NodeContext,
  snap: Snapshot,
  replace: boolean,
): Promise<void> {
  const meta = decodeSnapshotData(snap.data);
  const index = snap.metadata.index;
  const sm = ctx.sm;
  const files = ctx.files;
  const onDisk = isOnDisk(sm);
  // From the leader (`replace`), an on-disk state machine may hold it already: it restored
  // it while it was received (snapshot-receive.ts), or applied past it meanwhile.
  const behind = onDisk && sm.appliedIndex() < (meta.smIndex ?? index);
  if (!onDisk || behind || (replace && (await ctx.files.list()).includes(index))) {
    if (!(await files.list()).includes(index)) {
      const at = onDisk ? `the state machine is at ${sm.appliedIndex()}, behind it` : 'needed';
      throw new ErrSnapshotFile(files.path(index), `missing: ${at} (snapshot at ${index})`);
    }
    await sm.restore(files.read(index));
    if (onDisk) await sm.sync();
  }
  // The state machine and the address book change together (no await in between).
  if (onDisk) ctx.smApplied = sm.appliedIndex();
  ctx.applied = index;
  ctx.snapshots.installed(index);
  if (ctx.commit < index) ctx.commit = index;
  const removed = Array.isArray(meta.removed) ? meta.removed.filter(Number.isSafeInteger) : [];
  updatePeers(ctx, ctx.membership.reset(snap.metadata.confState, meta.members, removed));
  // An on-disk state machine holds it now: its file is no longer needed. An in-memory one
  // keeps it (the state to restore at the next start, and to send to followers).
  if (onDisk) await files.remove(index);
  else await files.removeBelow(index);
}

/** The transport's snapshot streams: from snapshot files or the state machine, into files. */
export function snapshotStreams(ctx: NodeContext): SnapshotStreams {
  return {
    open: (m: Message) => {
      ctx.snapshotSends.opened(m.to, m.snapshot!.metadata.index);
      ctx.logger.info({ to: m.to, index: m.snapshot!.metadata.index }, 'snapshot stream opened');
      const sm = ctx.sm;
      // An on-disk state machine streams a view taken now (at or after the snapshot's index:
      // the follower then skips the entries its state already holds).
      const logged = (src: SnapshotSource) => loggedSource(ctx, m, src);
      if (isOnDisk(sm)) return ctx.applyBetween(() => logged(sm.snapshot()));
      return logged(ctx.files.read(m.snapshot!.metadata.index));
    },
    receive: (m: Message): SnapshotSink => {
      const sm = ctx.sm;
      if (isOnDisk(sm) && sm.prepareRestore !== undefined) {
        return restoringSink(ctx, m, sm as Parameters<typeof restoringSink>[2]);
      }
      const index = m.snapshot!.metadata.index;
      const sink = ctx.files.sink(index);
      const t0 = performance.now();
      ctx.logger.info({ from: m.from, index }, 'snapshot stream receiving');
      return {
        write: (chunk) => sink.write(chunk),
        finish: async () => {
          await sink.finish();
          const ms = Math.round(performance.now() - t0);
          ctx.logger.info({ from: m.from, index, bytes: sink.bytes, ms }, 'snapshot received');
          return m;
        },
        abort: () => sink.abort(),
      };
    },
  };
}

/** `src` read to its end is logged with its size and duration (the sending phase's timing). */
function loggedSource(ctx: NodeContext, m: Message, src: SnapshotSource): SnapshotSource {
  const t0 = performance.now();
  return {
    async *[Symbol.asyncIterator]() {
      let bytes = 0;
      for await (const chunk of src) {
        bytes += chunk.length;
        yield chunk;
      }
      const ms = Math.round(performance.now() - t0);
      ctx.logger.info({ to: m.to, index: m.snapshot!.metadata.index, bytes, ms }, 'snapshot read');
    },
    close: () => src.close?.(),
  };
}
