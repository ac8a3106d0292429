// Who is in the cluster and where to reach them. Raft's ConfState says who votes and who
// learns; the raft address of each member travels in the conf change's context (and in
// snapshots), so every member, and any node that joins later, learns all addresses from the log.
import {
  ConfChangeType,
  type ConfChangeV2,
  type ConfState,
  type NodeId,
  newConfState,
} from '@tsraft/raft-core';
import type { ConfContext } from './envelope.js';

export type MemberRole = 'voter' | 'learner';

export interface Member {
  id: NodeId;
  /** The raft address, or '' when no conf change told it. */
  addr: string;
  role: MemberRole;
}

/** What applying a conf change did to the address book, for the transport. */
export interface AddressChanges {
  set: [NodeId, string][];
  removed: NodeId[];
  /** Ids removed from the cluster: their connections are refused as removed (REMOVED). */
  gone: NodeId[];
}

export class Membership {
  readonly addrs = new Map<NodeId, string>();
  confState: ConfState = newConfState();
  /** Ids removed by a conf change and not added again since (kept in snapshots). */
  readonly removedIds = new Set<NodeId>();

  list(): Member[] {
    const cs = this.confState;
    const out: Member[] = [];
    const voters = new Set([...cs.voters, ...cs.votersOutgoing]);
    for (const id of voters) out.push({ id, addr: this.addrs.get(id) ?? '', role: 'voter' });
    for (const id of new Set([...cs.learners, ...cs.learnersNext])) {
      if (!voters.has(id)) out.push({ id, addr: this.addrs.get(id) ?? '', role: 'learner' });
    }
    return out.sort((a, b) => a.id - b.id);
  }

  /** How many members list() has, without building it (a host asks thousands of groups). */
  count(): number {
    const { voters, votersOutgoing, learners, learnersNext } = this.confState;
    let n = voters.length;
    for (const id of votersOutgoing) if (!voters.includes(id)) n++;
    for (const id of learners) if (!voters.includes(id) && !votersOutgoing.includes(id)) n++;
    for (const id of learnersNext) {
      if (!voters.includes(id) && !votersOutgoing.includes(id) && !learners.includes(id)) n++;
    }
    return n;
  }

  has(id: NodeId): boolean {
    const cs = this.confState;
    return (
      cs.voters.includes(id) ||
      cs.learners.includes(id) ||
      cs.votersOutgoing.includes(id) ||
      cs.learnersNext.includes(id)
    );
  }

  isLearner(id: NodeId): boolean {
    return this.confState.learners.includes(id) || this.confState.learnersNext.includes(id);
  }

  /** Replaces everything (a snapshot was restored). */
  reset(
    confState: ConfState,
    addrs: Record<string, string>,
    removedIds: readonly NodeId[] = [],
  ): AddressChanges {
    this.removedIds.clear();
    for (const id of removedIds) this.removedIds.add(id);
    const removed = [...this.addrs.keys()].filter((id) => addrs[id] === undefined);
    this.addrs.clear();
    const set: [NodeId, string][] = [];
    for (const [k, v] of Object.entries(addrs)) {
      this.addrs.set(Number(k), v);
      set.push([Number(k), v]);
    }
    this.confState = confState;
    return { set, removed, gone: [...this.removedIds] };
  }

  /** Records an applied conf change: `confState` is what raft returned for it. */
  apply(cc: ConfChangeV2, ctx: ConfContext, confState: ConfState): AddressChanges {
    this.confState = confState;
    const set: [NodeId, string][] = [];
    const removed: NodeId[] = [];
    const gone: NodeId[] = [];
    for (const ch of cc.changes) {
      if (ch.type === ConfChangeType.ConfChangeRemoveNode) {
        if (this.addrs.delete(ch.nodeId)) removed.push(ch.nodeId);
        this.removedIds.add(ch.nodeId);
        gone.push(ch.nodeId);
        continue;
      }
      // An update names a member by id (raft ignores it otherwise): only its address changes.
      const update = ch.type === ConfChangeType.ConfChangeUpdateNode;
      if (update && !this.has(ch.nodeId)) continue;
      if (!update) this.removedIds.delete(ch.nodeId);
      const addr = ctx.addrs?.[ch.nodeId] ?? (cc.changes.length === 1 ? ctx.addr : undefined);
      if (addr !== undefined && addr !== '') {
        this.addrs.set(ch.nodeId, addr);
        set.push([ch.nodeId, addr]);
      }
    }
    return { set, removed, gone };
  }

  /** The address book as a snapshot keeps it. */
  toRecord(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [id, addr] of this.addrs) out[id] = addr;
    return out;
  }
}
