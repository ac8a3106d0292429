// A group of a RaftHost: a RaftNode (same requests, events and errors) whose leader() is 0,
// not null, while no leader is known, as DESIGN.md pins for groups.
import type { NodeId } from '@tsraft/raft-core';
import { RaftNode } from './raft-node.js';

export class RaftGroup<R = unknown> extends RaftNode<R> {
  /** The leader's host id, or 0 while none is known. */
  override leader(): NodeId {
    return super.leader() ?? 0;
  }
}
