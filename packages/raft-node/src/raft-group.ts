// A group of a RaftHost: a RaftNode (same requests, events and errors) whose leader() is 0,
// not null, while no leader is known, as DESIGN.md pins for groups.
import type { NodeId } from '@tsraft/raft-core';
import { ErrBadMembership } from './errors.js';
import type { Member } from './membership.js';
import type { RequestOptions } from './node-types.js';
import { RaftNode } from './raft-node.js';

export class RaftGroup<R = unknown> extends RaftNode<R> {
  /** The leader's host id, or 0 while none is known. */
  override leader(): NodeId {
    return super.leader() ?? 0;
  }

  /** Refused: a group's members are hosts, whose addresses are the host's `peers`. */
  override updateNode(id: NodeId, _addr?: string, _options?: RequestOptions): Promise<Member[]> {
    return Promise.reject(
      new ErrBadMembership(
        `member ${id} is a host: its address is set in RaftHost's peers, not per group`,
      ),
    );
  }
}
