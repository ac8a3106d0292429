// An in-process network of raft state machines, like etcd/raft's `network` in raft_test.go.
// `send` delivers messages (and every message they cause) until the network is quiet. Links
// can drop a fraction of their messages (decided by a seeded generator), be cut both ways, or
// isolate a node; message types can be ignored everywhere; `recover` heals it all. Time only
// moves through tick(): there are no timers.
import {
  type Config,
  MemoryStorage,
  type Message,
  MessageType,
  type NodeId,
  Raft,
  RaftError,
  StateType,
  describeMessage,
} from '../../src/index.js';
import { advanceMessagesAfterAppend, newTestRaft, newTestStorage, readMessages } from './raft.js';
import { seededRandom } from './rng.js';

/** A peer that swallows every message (etcd's nopStepper / blackHole). */
export class BlackHole {
  readonly received: Message[] = [];
  step(m: Message): void {
    this.received.push(m);
  }
}

export type NetPeer = Raft | BlackHole;

export interface NetworkOptions {
  /** Fields applied to the Config of every raft the network creates itself. */
  config?: Partial<Config>;
  /** Election and heartbeat ticks of the rafts the network creates (default 10 and 1). */
  electionTick?: number;
  heartbeatTick?: number;
  /** Seeds the generator deciding drops (default 1). */
  seed?: number;
  /** Most messages one send() may deliver before it is taken as a livelock. */
  maxDeliveries?: number;
}

export class Network {
  readonly peers = new Map<NodeId, NetPeer>();
  readonly storage = new Map<NodeId, MemoryStorage>();
  /** Drop probability per directed link, keyed `from->to`. */
  private readonly dropm = new Map<string, number>();
  private readonly ignorem = new Set<MessageType>();
  /** Called for every message that passed the filters; return false to drop it. */
  msgHook: ((m: Message) => boolean) | null = null;
  /** Every message delivered, in order (describeMessage), when `recording` is set. */
  readonly trace: string[] = [];
  recording = false;
  readonly rng: () => number;
  private readonly maxDeliveries: number;

  /**
   * Peers get ids 1..n in order. A null peer becomes a fresh raft over a new MemoryStorage
   * with all n ids as voters; a given Raft must already have its id and membership.
   */
  constructor(peers: Array<NetPeer | null>, opts: NetworkOptions = {}) {
    this.rng = seededRandom(opts.seed ?? 1);
    this.maxDeliveries = opts.maxDeliveries ?? 1_000_000;
    const ids = peers.map((_, i) => i + 1);
    peers.forEach((p, i) => {
      const id = i + 1;
      if (p === null) {
        const s = newTestStorage(ids);
        this.storage.set(id, s);
        this.peers.set(
          id,
          newTestRaft(id, opts.electionTick ?? 10, opts.heartbeatTick ?? 1, s, opts.config),
        );
      } else {
        if (p instanceof Raft) {
          if (p.id !== id) throw new Error(`peer ${i} has id ${p.id}, want ${id}`);
          if (p.raftLog.storage instanceof MemoryStorage) this.storage.set(id, p.raftLog.storage);
        }
        this.peers.set(id, p);
      }
    });
  }

  /** The raft with this id (throws if it is a black hole or missing). */
  raft(id: NodeId): Raft {
    const p = this.peers.get(id);
    if (!(p instanceof Raft)) throw new Error(`peer ${id} is not a raft`);
    return p;
  }

  /** The ids of the rafts currently leading (a healthy network has at most one per term). */
  leaders(): NodeId[] {
    const out: NodeId[] = [];
    for (const [id, p] of this.peers) {
      if (p instanceof Raft && p.state === StateType.Leader) out.push(id);
    }
    return out;
  }

  /** Delivers msgs, and everything they cause, until no message is left. */
  send(...msgs: Message[]): void {
    const queue: Message[] = [...msgs];
    let head = 0;
    while (head < queue.length) {
      const m = queue[head++]!;
      if (head > this.maxDeliveries) {
        throw new Error(`network did not quiesce after ${this.maxDeliveries} messages`);
      }
      // Free the delivered prefix now and then: long runs would keep it all alive.
      if (head > 4096) {
        queue.splice(0, head);
        head = 0;
      }
      const p = this.peers.get(m.to);
      if (p === undefined) continue; // a node that is not (or no longer) in the network
      if (this.recording) this.trace.push(describeMessage(m));
      if (p instanceof Raft) {
        stepQuiet(p, m);
        advanceMessagesAfterAppend(p);
        for (const out of this.filter(readMessages(p))) queue.push(out);
      } else {
        p.step(m);
      }
    }
  }

  /** Ticks the given rafts (all, by default) n times each, delivering what they send. */
  tick(n = 1, ids: NodeId[] = [...this.peers.keys()]): void {
    for (let i = 0; i < n; i++) {
      const out: Message[] = [];
      for (const id of ids) {
        const p = this.peers.get(id);
        if (!(p instanceof Raft)) continue;
        p.tick();
        out.push(...this.filter(readMessages(p)));
      }
      this.send(...out);
    }
  }

  /** Drops `perc` (0..1) of the messages from `from` to `to`. */
  drop(from: NodeId, to: NodeId, perc: number): void {
    this.dropm.set(`${from}->${to}`, perc);
  }

  /** Cuts the link between a and b in both directions. */
  cut(a: NodeId, b: NodeId): void {
    this.drop(a, b, 2); // > 1: dropped whatever the generator draws
    this.drop(b, a, 2);
  }

  /** Cuts every link of `id`. */
  isolate(id: NodeId): void {
    for (const other of this.peers.keys()) {
      if (other !== id) this.cut(id, other);
    }
  }

  /** Drops every message of type t, on every link. */
  ignore(t: MessageType): void {
    this.ignorem.add(t);
  }

  /** Heals every link and stops ignoring message types. */
  recover(): void {
    this.dropm.clear();
    this.ignorem.clear();
  }

  /** The messages of msgs that survive the current faults. */
  filter(msgs: Message[]): Message[] {
    const out: Message[] = [];
    for (const m of msgs) {
      if (this.ignorem.has(m.type)) continue;
      if (m.type === MessageType.MsgHup) throw new Error('MsgHup never goes over the network');
      const perc = this.dropm.get(`${m.from}->${m.to}`) ?? 0;
      if (perc > 0 && this.rng() < perc) continue;
      if (this.msgHook !== null && !this.msgHook(m)) continue;
      out.push(m);
    }
    return out;
  }
}

/** Steps m, ignoring dropped proposals (as etcd's network ignores Step's error). */
function stepQuiet(r: Raft, m: Message): void {
  try {
    r.step(m);
  } catch (err) {
    if (err instanceof RaftError && err.code === 'RAFT_PROPOSAL_DROPPED') return;
    throw err;
  }
}
