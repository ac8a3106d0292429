// A one-node, in-memory stand-in for raft: proposals apply at once, reads return at once.
// It lets the HTTP layer be tested without processes.
import type { Consensus, ConsensusMember, ConsensusStatus } from '../../src/consensus.js';
import { ConsensusError } from '../../src/consensus.js';
import type { KvStateMachine } from '../../src/kv/state-machine.js';

export class MemoryConsensus implements Consensus {
  readonly id = 1;
  index = 0;
  proposals = 0;
  leader = true;
  private readonly memberMap = new Map<number, ConsensusMember>([
    [1, { id: 1, peerAddr: '127.0.0.1:7001', isLearner: false }],
  ]);

  constructor(private readonly sm: KvStateMachine) {}

  async propose(data: Uint8Array, signal: AbortSignal): Promise<unknown> {
    if (signal.aborted) throw new ConsensusError('aborted', 'aborted');
    this.proposals++;
    this.index = this.sm.appliedIndex() + 1; // tests may apply to the store directly too
    return (await this.sm.apply([{ index: this.index, data }]))[0];
  }

  async read(signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw new ConsensusError('aborted', 'aborted');
  }

  isLeader(): boolean {
    return this.leader;
  }

  term(): number {
    return 1;
  }

  status(): ConsensusStatus {
    return {
      id: 1,
      role: this.leader ? 'leader' : 'follower',
      term: 1,
      vote: 1,
      leader: this.leader ? 1 : 0,
      commit: this.index,
      applied: this.index,
      snapshotIndex: 0,
      firstIndex: 1,
      lastIndex: this.index,
      voters: [...this.memberMap.values()].filter((m) => !m.isLearner).map((m) => m.id),
      learners: [...this.memberMap.values()].filter((m) => m.isLearner).map((m) => m.id),
      progress: [],
    };
  }

  members(): ConsensusMember[] {
    return [...this.memberMap.values()];
  }

  async addMember(id: number, peerAddr: string, learner: boolean): Promise<void> {
    this.memberMap.set(id, { id, peerAddr, isLearner: learner });
  }

  async promoteMember(id: number): Promise<void> {
    const m = this.memberMap.get(id);
    if (m) m.isLearner = false;
  }

  async updateMember(id: number, peerAddr: string): Promise<void> {
    const m = this.memberMap.get(id);
    if (m) m.peerAddr = peerAddr;
  }

  async removeMember(id: number): Promise<void> {
    this.memberMap.delete(id);
  }

  async transferLeadership(): Promise<void> {}
}
