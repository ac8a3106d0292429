// Receiving a leader's snapshot straight into an on-disk state machine that can prepare a
// restore (OnDiskStateMachine.prepareRestore): the stream is restored into temp space while it
// arrives, instead of being received into a file and restored afterwards. Only a complete,
// checked stream is swapped in, between two applies, before raft hears of the MsgSnap; a
// damaged, cut or refused one is discarded and the leader sends another.
//
// Swapping before raft has recorded the snapshot is safe: the view is of committed entries at
// or after the snapshot's index, and the apply worker skips what the state machine holds
// (ctx.smApplied). A crash after the swap leaves a state machine ahead of the raft log, which
// a restart handles as it does any on-disk state machine: it replays only what follows.
import { performance } from 'node:perf_hooks';
import type { Message } from '@tsraft/raft-core';
import type { SnapshotSink } from '@tsraft/raft-transport-tcp';
import type { NodeContext } from './context.js';
import { SnapshotChannel } from './snapshot-channel.js';
import type { OnDiskStateMachine, PreparedRestore } from './state-machine.js';

/** The node stopped while a received snapshot waited to be swapped in. */
export class ErrSnapshotNotInstalled extends Error {
  readonly code = 'RAFT_NODE_SNAPSHOT_NOT_INSTALLED';
  constructor(reason: string) {
    super(`received snapshot not installed: ${reason}`);
    this.name = 'ErrSnapshotNotInstalled';
  }
}

export function restoringSink<R>(
  ctx: NodeContext,
  m: Message,
  sm: OnDiskStateMachine<R> & Required<Pick<OnDiskStateMachine<R>, 'prepareRestore'>>,
): SnapshotSink {
  const index = m.snapshot!.metadata.index;
  const t0 = performance.now();
  const channel = new SnapshotChannel();
  let bytes = 0;
  /** finish() owns the prepared restore from its start (the stream is complete by then). */
  let finishing = false;
  const prepared: Promise<PreparedRestore> = sm.prepareRestore(channel);
  // A refusal by the state machine (a bad record, a busy store) stops the transfer at once.
  prepared.catch((err: unknown) => channel.fail(asError(err)));
  ctx.logger.info({ from: m.from, index }, 'snapshot stream receiving and restoring');
  return {
    write: (chunk) => {
      bytes += chunk.length;
      return channel.write(chunk);
    },
    finish: async () => {
      finishing = true;
      channel.end();
      const p = await prepared;
      const received = Math.round(performance.now() - t0);
      const installed = await ctx.applyExclusive(async () => {
        if (!ctx.running) {
          await p.discard();
          throw new ErrSnapshotNotInstalled('the node is stopping');
        }
        // Applies went on meanwhile and may have passed it (a follower only a little behind).
        if (sm.appliedIndex() >= p.appliedIndex) {
          await p.discard();
          return false;
        }
        await p.install();
        ctx.smApplied = sm.appliedIndex();
        return true;
      });
      ctx.logger.info(
        { from: m.from, index, smIndex: p.appliedIndex, bytes, ms: received, installed },
        'snapshot received and restored',
      );
      return m;
    },
    abort: (reason) => {
      channel.fail(reason);
      if (!finishing) void prepared.then((p) => p.discard()).catch(() => {});
    },
  };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
