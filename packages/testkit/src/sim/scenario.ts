// A randomized fault scenario on a Cluster: one seed draws the cluster's configuration and a
// schedule that mixes proposals, partitions (symmetric, asymmetric, isolation), message loss,
// duplication, reordering and delay, crashes at any point of Ready handling, restarts,
// compactions, leadership transfers and conf changes (add/remove voters, add/promote/demote
// learners, ConfChangeV2 joint changes with auto and explicit leave). The checkers run at
// every step. Then the network heals, every member comes back, and the run must converge:
// all members apply the same log, which holds everything any node ever applied.
import {
  type ConfChange,
  ConfChangeTransition,
  ConfChangeType,
  type ConfChangeV2,
  type ConfState,
  EMPTY_BYTES,
  type Entry,
  type NodeId,
  ReadOnlyOption,
  StateType,
} from '@tsraft/raft-core';
import {
  type Cluster as ClusterT,
  Cluster,
  type ClusterOptions,
  type ClusterStats,
  type SimNode,
  crashPoints,
  decodeConfChangeEntry,
} from './cluster.js';
import { Rng } from './prng.js';

export interface ScenarioOptions {
  /** Ticks of faults (default: drawn in [200, 400], or in [800, 1500] for 30% of seeds). */
  faultTicks?: number;
  /** The most ticks the healed cluster may take to converge. */
  healTicks?: number;
  /** Force asyncStorageWrites on (true), off (false), or draw it (undefined: off). */
  asyncStorageWrites?: boolean;
  /** Keep an event trace (true: the last 5000 events; a number: that many). */
  trace?: boolean | number;
  /** Called with the cluster as soon as it exists (for failure reports). */
  onCluster?: (c: ClusterT) => void;
  /** Your state machine on every node (ClusterOptions.stateMachine). */
  stateMachine?: ClusterOptions['stateMachine'];
  /** Called after your state machine applied an entry (ClusterOptions.onApply). */
  onApply?: ClusterOptions['onApply'];
  /** Your Ready loop (ClusterOptions.readyLoop); the scenario then keeps to synchronous mode. */
  readyLoop?: ClusterOptions['readyLoop'];
  /**
   * What the n-th proposal carries (a command your state machine understands), drawn with
   * `random`; default: random bytes.
   */
  command?: (n: number, random: () => number) => Uint8Array;
}

export interface ScenarioResult {
  seed: number;
  ticks: number;
  elections: number;
  appliedIndex: number;
  crashes: number;
  confChanges: number;
  members: NodeId[];
  summary: string;
  stats: ClusterStats;
  /**
   * Set when the healed cluster could not elect a leader for the reason etcd's design allows
   * (see staleConfigurationDeadlock); the safety checks still passed up to then.
   */
  stuck?: string;
}

function sameConfState(a: ConfState, b: ConfState): boolean {
  const eq = (x: number[], y: number[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return (
    eq(a.voters, b.voters) &&
    eq(a.votersOutgoing, b.votersOutgoing) &&
    eq(a.learners, b.learners) &&
    eq(a.learnersNext, b.learnersNext)
  );
}

/**
 * A liveness loss etcd's design allows, and the harness tolerates: configurations take
 * effect when applied, so a voter that never learned that its latest conf change committed
 * (the commit index travels with the leader's messages, and a crash can lose a commit index
 * written without a sync, or the leader's durable copy of it) keeps counting the votes of
 * members that change removed. Those refuse it when their logs are longer, and nobody else
 * can tell it the commit: no leader can ever be elected. (Raft's thesis uses the latest
 * configuration in the log, committed or not, which has no such gap.) Returns a description
 * when no node leads and some up voter of the latest applied configuration still applies
 * an older one.
 */
export function staleConfigurationDeadlock(c: ClusterT): string | null {
  if (c.leader() !== undefined) return null;
  let best: SimNode | undefined;
  for (const n of c.nodes.values()) {
    if (best === undefined || n.sm.appliedIndex > best.sm.appliedIndex) best = n;
  }
  if (best === undefined) return null;
  const latest = best.sm.confState;
  const lagging: NodeId[] = [];
  for (const id of new Set([...latest.voters, ...latest.votersOutgoing])) {
    const n = c.nodes.get(id);
    if (n?.up === true && !sameConfState(n.sm.confState, latest)) lagging.push(id);
  }
  if (lagging.length === 0) return null;
  return `no leader: voters [${lagging}] still use an older configuration than the one node ${best.id} applied at ${best.sm.appliedIndex} (voters [${latest.voters}])`;
}

type Action = () => void;

function payload(rng: Rng, id: number): Uint8Array {
  const b = new Uint8Array(4 + rng.int(rng.chance(0.1) ? 300 : 24));
  new DataView(b.buffer).setUint32(0, id);
  for (let i = 4; i < b.length; i++) b[i] = rng.int(256);
  return b;
}

function members(cs: ConfState): Set<NodeId> {
  return new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext]);
}

function isJoint(cs: ConfState): boolean {
  return cs.votersOutgoing.length > 0;
}

/** Draws the cluster's configuration for a seed. */
export function drawClusterOptions(rng: Rng, seed: number, o: ScenarioOptions): ClusterOptions {
  const nVoters = rng.pick([1, 2, 3, 3, 3, 4, 5, 5, 5]);
  const voters = Array.from({ length: nVoters }, (_, i) => i + 1);
  const init = rng.chance(0.5) ? 'bootstrap' : 'snapshot';
  const learners = init === 'snapshot' && rng.chance(0.3) ? [nVoters + 1] : [];
  const asyncStorageWrites = o.readyLoop === undefined && (o.asyncStorageWrites ?? false);
  const checkQuorum = rng.chance(0.6);
  const tickSkipRate = rng.pick([0, 0, 0.02, 0.1]);
  return {
    ...(o.stateMachine === undefined ? {} : { stateMachine: o.stateMachine }),
    ...(o.onApply === undefined ? {} : { onApply: o.onApply }),
    ...(o.readyLoop === undefined ? {} : { readyLoop: o.readyLoop }),
    seed,
    voters,
    learners,
    init,
    codec: rng.chance(0.2),
    trace: o.trace ?? false,
    tickSkipRate,
    ...(rng.chance(0.25)
      ? { fetch: { failRate: rng.pick([0.1, 0.5]), min: 0, max: rng.pick([0, 1, 3]) } }
      : {}),
    storageDelay: { min: 0, max: rng.pick([0, 1, 2, 4]) },
    ...(!asyncStorageWrites && rng.chance(0.4)
      ? { pipelineDelay: { min: 0, max: rng.pick([0, 1, 2]) } }
      : {}),
    raft: {
      electionTick: 10,
      heartbeatTick: rng.pick([1, 1, 2, 3]),
      preVote: rng.chance(0.6),
      checkQuorum,
      // Lease-based reads trust the clocks: only without clock drift (tickSkipRate 0).
      readOnlyOption:
        checkQuorum && tickSkipRate === 0 && rng.chance(0.4)
          ? ReadOnlyOption.LeaseBased
          : ReadOnlyOption.Safe,
      asyncStorageWrites,
      maxSizePerMsg: rng.pick([0, 64, 1024, 1 << 20]),
      maxInflightMsgs: rng.pick([1, 2, 8, 256]),
      maxInflightBytes: rng.pick([0, 0, 0, 1 << 20]),
      maxCommittedSizePerReady: rng.pick([0, 0, 100, 4096]),
      maxUncommittedEntriesSize: rng.pick([0, 0, 0, 2048]),
      stepDownOnRemoval: rng.chance(0.9),
      disableProposalForwarding: rng.chance(0.1),
    },
    network: {
      dropRate: rng.pick([0, 0.01, 0.05, 0.1]),
      dupRate: rng.pick([0, 0, 0.02, 0.1]),
      reorderRate: rng.pick([0, 0, 0.05, 0.2]),
      minDelay: 0,
      maxDelay: rng.pick([0, 0, 1, 2]),
      maxReorderDelay: 3,
      shuffle: rng.chance(0.5),
      unreachableRate: 0.5,
    },
  };
}

export function runScenario(seed: number, o: ScenarioOptions = {}): ScenarioResult {
  // One Rng for the scenario's choices, another (inside the Cluster) for the simulation.
  const rng = new Rng(seed ^ 0x5eed);
  const copts = drawClusterOptions(rng, seed, o);
  const c = new Cluster(copts);
  o.onCluster?.(c);
  // Mostly short runs; some long ones, where rarer interleavings pile up (several bugs were
  // only found by runs of 1,000 ticks and more).
  const faultTicks = o.faultTicks ?? (rng.chance(0.7) ? rng.range(200, 400) : rng.range(800, 1500));
  const timers: { at: number; fn: Action }[] = [];
  const later = (ticks: number, fn: Action) => timers.push({ at: c.now + ticks, fn });
  let nextId = Math.max(...c.nodes.keys()) + 1;
  let nextPayload = 0;
  const random = () => rng.next();
  const command = (n: number) => o.command?.(n, random) ?? payload(rng, n);
  let confChanges = 0;
  /** Nodes the scenario stopped for good (removed from the configuration). */
  const retired = new Set<NodeId>();
  let partitioned = false;

  const runTimers = () => {
    for (let i = 0; i < timers.length; ) {
      if (timers[i]!.at <= c.now) {
        const t = timers.splice(i, 1)[0]!;
        t.fn();
      } else {
        i++;
      }
    }
  };

  const upIds = () => c.upNodes().map((n) => n.id);

  const propose = () => {
    const ups = upIds();
    if (ups.length === 0) return;
    const n = rng.range(1, 4);
    if (rng.chance(0.3)) {
      // At every node that believes it leads, stale leaders included: divergent tails.
      for (const node of c.nodes.values()) {
        if (node.isLeader) for (let i = 0; i < n; i++) c.propose(node.id, command(nextPayload++));
      }
      return;
    }
    const leader = c.leader();
    const at = leader !== undefined && rng.chance(0.7) ? leader.id : rng.pick(ups);
    for (let i = 0; i < n; i++) c.propose(at, command(nextPayload++));
  };

  const startPartition = () => {
    const ids = [...c.nodes.keys()].filter((id) => !retired.has(id));
    if (ids.length < 2) return;
    const kind = rng.int(5);
    if (kind === 0) {
      c.isolate(rng.pick(ids));
    } else if (kind === 1) {
      const l = c.leader();
      c.isolate(l !== undefined ? l.id : rng.pick(ids));
    } else if (kind === 2) {
      rng.shuffle(ids);
      const k = rng.range(1, ids.length - 1);
      c.partition(ids.slice(0, k), ids.slice(k));
    } else if (kind === 3) {
      // Asymmetric: some directed links cut.
      const n = rng.range(1, ids.length);
      for (let i = 0; i < n; i++) {
        const a = rng.pick(ids);
        const b = rng.pick(ids);
        if (a !== b) {
          c.trace(`cut one way ${a} -> ${b}`);
          c.net.cutOneWay(a, b);
        }
      }
    } else {
      // Flaky links.
      const n = rng.range(1, ids.length);
      for (let i = 0; i < n; i++) {
        const a = rng.pick(ids);
        const b = rng.pick(ids);
        if (a !== b) c.net.setLinkDropRate(a, b, rng.pick([0.3, 0.6, 0.9]));
      }
    }
    partitioned = true;
    later(rng.range(3, 60), () => {
      c.heal();
      partitioned = false;
    });
  };

  const crashOne = (leaderOnly: boolean) => {
    const ups = upIds().filter((id) => !retired.has(id));
    if (ups.length === 0) return;
    const l = c.leader();
    const id = leaderOnly ? l?.id : rng.pick(ups);
    if (id === undefined) return;
    c.crash(id, rng.pick(crashPoints));
    const down = rng.chance(0.2) ? 0 : rng.range(1, 60);
    later(down, () => {
      if (!retired.has(id) && !c.node(id).up) c.restart(id, rng.chance(0.5) ? 'applied' : 'replay');
    });
  };

  const lossBurst = () => {
    const net = c.net.opts;
    const saved = { dropRate: net.dropRate, dupRate: net.dupRate, reorderRate: net.reorderRate };
    net.dropRate = rng.pick([0.2, 0.4, 0.7]);
    net.dupRate = rng.pick([saved.dupRate, 0.2]);
    net.reorderRate = rng.pick([saved.reorderRate, 0.3]);
    c.trace(`loss burst drop ${net.dropRate} dup ${net.dupRate} reorder ${net.reorderRate}`);
    later(rng.range(5, 50), () => Object.assign(c.net.opts, saved));
  };

  const simple = (type: ConfChangeType, nodeId: NodeId): ConfChange | ConfChangeV2 =>
    rng.chance(0.5)
      ? { type, nodeId, context: EMPTY_BYTES, id: 0 }
      : {
          transition: ConfChangeTransition.ConfChangeTransitionAuto,
          changes: [{ type, nodeId }],
          context: EMPTY_BYTES,
        };

  /** Proposes a random conf change that is valid against the leader's configuration. */
  const confChange = () => {
    const leader = c.leader();
    if (leader === undefined || leader.raw === null) return;
    const r = leader.raw.raft;
    if (r.pendingConfIndex > r.raftLog.applied) return; // one at a time
    const cs = leader.raw.status().config;
    if (isJoint(cs)) {
      if (!cs.autoLeave) {
        c.proposeConfChange(leader.id, {
          transition: ConfChangeTransition.ConfChangeTransitionAuto,
          changes: [],
          context: EMPTY_BYTES,
        });
        confChanges++;
      }
      return;
    }
    const voters = cs.voters;
    const learners = cs.learners;
    const newNode = () => {
      const id = nextId++;
      c.addNode(id);
      return id;
    };
    const kind = rng.int(8);
    let cc: ConfChange | ConfChangeV2 | null = null;
    if (kind === 0 && voters.length < 5) {
      cc = simple(ConfChangeType.ConfChangeAddNode, newNode());
    } else if (kind === 1 && learners.length < 2) {
      cc = simple(ConfChangeType.ConfChangeAddLearnerNode, newNode());
    } else if (kind === 2 && learners.length > 0) {
      cc = simple(ConfChangeType.ConfChangeAddNode, rng.pick(learners)); // promote
    } else if (kind === 3 && voters.length > 1) {
      cc = simple(ConfChangeType.ConfChangeRemoveNode, rng.pick(voters));
    } else if (kind === 4 && learners.length > 0) {
      cc = simple(ConfChangeType.ConfChangeRemoveNode, rng.pick(learners));
    } else if (kind === 5 && voters.length > 1) {
      cc = simple(ConfChangeType.ConfChangeAddLearnerNode, rng.pick(voters)); // demote
    } else if (kind >= 6) {
      // A joint change: replace a voter, or demote one and add another, or a single change
      // forced through a joint state.
      const transition = rng.pick([
        ConfChangeTransition.ConfChangeTransitionAuto,
        ConfChangeTransition.ConfChangeTransitionJointImplicit,
        ConfChangeTransition.ConfChangeTransitionJointExplicit,
      ]);
      const old = rng.pick(voters);
      const v = rng.int(3);
      let changes: ConfChangeV2['changes'];
      if (v === 0 && voters.length <= 5) {
        changes = [
          { type: ConfChangeType.ConfChangeAddNode, nodeId: newNode() },
          { type: ConfChangeType.ConfChangeRemoveNode, nodeId: old },
        ];
      } else if (v === 1 && voters.length <= 5) {
        changes = [
          { type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: old },
          { type: ConfChangeType.ConfChangeAddNode, nodeId: newNode() },
        ];
      } else if (learners.length > 0) {
        changes = [{ type: ConfChangeType.ConfChangeAddNode, nodeId: rng.pick(learners) }];
      } else if (voters.length < 5) {
        changes = [{ type: ConfChangeType.ConfChangeAddNode, nodeId: newNode() }];
      } else {
        changes = [{ type: ConfChangeType.ConfChangeRemoveNode, nodeId: old }];
      }
      if (transition === ConfChangeTransition.ConfChangeTransitionAuto && changes.length === 1) {
        // Auto with one change is a simple change; make it joint explicitly.
        cc = {
          transition: ConfChangeTransition.ConfChangeTransitionJointImplicit,
          changes,
          context: EMPTY_BYTES,
        };
      } else {
        cc = { transition, changes, context: EMPTY_BYTES };
      }
    }
    if (cc === null) return;
    const changes = 'changes' in cc ? cc.changes : [cc];
    const demotesLeader = changes.some(
      (ch) => ch.nodeId === leader.id && ch.type !== ConfChangeType.ConfChangeAddNode,
    );
    if (demotesLeader) {
      // A leader that removes or demotes itself steps down once the change applies; voters
      // that have not yet learned the change was committed still count the old leader's
      // vote, which it refuses when its log is longer (uncommitted proposals): the group
      // can get stuck. etcd leaves this to the application, which moves leadership away
      // first (etcd server does, as does CockroachDB). Do the same.
      const others = voters.filter((id) => id !== leader.id);
      if (others.length > 0) c.transferLeader(leader.id, rng.pick(others));
      return;
    }
    if (c.proposeConfChange(leader.id, cc)) confChanges++;
  };

  /**
   * What a careful application does about a leader that is about to remove or demote itself
   * (a change another leader proposed, or the leave of a joint configuration that drops it):
   * it hands leadership to another voter first, which the transfer catches up. Otherwise the
   * old leader steps down with a longer log than voters that have not learned the change was
   * committed, and those still count its vote, which it refuses (see confChange).
   */
  let lastHandOff = -100;
  const handOffIfLeavingLeader = () => {
    const leader = c.leader();
    if (leader === undefined || leader.raw === null || c.now - lastHandOff < 10) return;
    const r = leader.raw.raft;
    const log = r.raftLog;
    const cs = leader.raw.status().config;
    const id = leader.id;
    let leaving = !cs.voters.includes(id);
    for (let i = log.applied + 1; i <= log.lastIndex() && !leaving; i++) {
      let e: Entry;
      try {
        e = log.slice(i, i + 1, Number.POSITIVE_INFINITY)[0]!;
      } catch {
        return;
      }
      const cc = decodeConfChangeEntry(e);
      if (cc === null) continue;
      const changes = 'changes' in cc ? cc.changes : [cc];
      if (changes.length === 0 && cs.votersOutgoing.includes(id) && !cs.voters.includes(id)) {
        leaving = true;
      }
      for (const ch of changes) {
        if (ch.nodeId === id && ch.type !== ConfChangeType.ConfChangeAddNode) leaving = true;
      }
    }
    if (!leaving) return;
    const others = cs.voters.filter((v) => v !== id && c.nodes.get(v)?.up === true);
    if (others.length === 0) return;
    lastHandOff = c.now;
    c.transferLeader(id, rng.pick(others));
  };

  // Removed nodes keep running (and crashing) until the healed cluster settles: shutting one
  // down as soon as the leader applies its removal could take away a vote that members which
  // have not yet learned the removal still need.

  // ---- the fault phase ----
  // How often each kind of event happens, drawn per seed: some runs are calm, some chaotic.
  const rate = {
    propose: rng.pick([0.3, 0.6, 0.9]),
    partition: rng.pick([0.01, 0.03, 0.06]),
    lossBurst: rng.pick([0, 0.01, 0.02]),
    crash: rng.pick([0.005, 0.015, 0.03]),
    crashLeader: rng.pick([0, 0.005, 0.015]),
    confChange: rng.pick([0, 0.02, 0.05]),
    compact: rng.pick([0, 0.02, 0.05]),
    transfer: rng.pick([0, 0.005, 0.02]),
    campaign: rng.pick([0, 0.005, 0.02]),
    read: rng.pick([0, 0.1, 0.4]),
    forgetLeader: rng.pick([0, 0, 0.01]),
  };
  for (let t = 0; t < faultTicks; t++) {
    runTimers();
    handOffIfLeavingLeader();
    if (rng.chance(rate.propose)) propose();
    if (!partitioned && rng.chance(rate.partition)) startPartition();
    if (rng.chance(rate.lossBurst)) lossBurst();
    if (rng.chance(rate.crash)) crashOne(false);
    if (rng.chance(rate.crashLeader)) crashOne(true);
    if (rng.chance(rate.confChange)) confChange();
    if (rng.chance(rate.compact)) {
      const ups = upIds();
      if (ups.length > 0) c.compact(rng.pick(ups), rng.pick([0, 2, 10]));
    }
    if (rng.chance(rate.transfer)) {
      const l = c.leader();
      const ups = upIds();
      if (l !== undefined && ups.length > 0) c.transferLeader(l.id, rng.pick(ups));
    }
    if (rng.chance(rate.forgetLeader)) {
      const ups = upIds();
      if (ups.length > 0) c.forgetLeader(rng.pick(ups));
    }
    if (rng.chance(rate.read)) {
      const ups = upIds();
      if (ups.length > 0) c.readIndex(rng.pick(ups));
    }
    if (rng.chance(rate.campaign)) {
      const ups = upIds();
      if (ups.length > 0) c.campaign(rng.pick(ups));
    }
    c.tick();
  }

  // ---- heal and converge ----
  // Generous: with one entry per MsgApp, one MsgApp in flight and slow storage, catching up
  // takes a few ticks per entry of the log.
  let longest = 0;
  for (const n of c.nodes.values()) longest = Math.max(longest, n.storage.lastIndex());
  const healTicks = o.healTicks ?? 3000 + 8 * longest;
  c.trace('--- heal ---');
  c.heal();
  partitioned = false;
  timers.length = 0;
  Object.assign(c.net.opts, { dropRate: 0, dupRate: 0, reorderRate: 0, maxDelay: 0 });
  for (const n of c.nodes.values()) {
    if (!n.up && !retired.has(n.id)) c.restart(n.id, rng.chance(0.5) ? 'applied' : 'replay');
  }
  const marker = new Uint8Array([0xff, 0xfe, 0xfd, 0xfc]);
  let markerTerm = -1;
  let lastLeave = -100;
  let finalMembers: NodeId[] = [];
  const converged = (): boolean => {
    handOffIfLeavingLeader();
    const leader = c.leader();
    if (leader === undefined || leader.raw === null) return false;
    const r = leader.raw.raft;
    const cs = leader.raw.status().config;
    const settled = r.pendingConfIndex <= r.raftLog.applied;
    if (isJoint(cs)) {
      if (!cs.autoLeave && settled && c.now - lastLeave > 20) {
        lastLeave = c.now;
        c.proposeConfChange(leader.id, {
          transition: ConfChangeTransition.ConfChangeTransitionAuto,
          changes: [],
          context: EMPTY_BYTES,
        });
      }
      return false;
    }
    const m = members(cs);
    for (const id of m) {
      const n = c.nodes.get(id);
      if (n !== undefined && !n.up && !retired.has(id)) c.restart(id);
    }
    if (settled) {
      // Nodes outside the settled configuration would only disrupt it: stop them (as a
      // removed etcd member shuts down). That includes a removed leader that did not step
      // down (stepDownOnRemoval off): it takes no proposals, so the group needs a new one.
      for (const n of c.nodes.values()) {
        if (n.up && !m.has(n.id)) {
          retired.add(n.id);
          c.crash(n.id);
        }
      }
      if (!leader.up) return false;
    }
    if (markerTerm !== r.term) {
      markerTerm = r.term;
      // With your state machine the marker is one of your commands.
      c.propose(leader.id, o.command === undefined ? marker : command(nextPayload++));
    }
    const committed = r.raftLog.committed;
    if (!settled || committed !== r.raftLog.lastIndex()) return false;
    if (r.raftLog.zeroTermOnOutOfBounds(committed) !== r.term) return false;
    for (const id of m) {
      const n = c.nodes.get(id);
      if (n === undefined || !n.up || n.sm.appliedIndex !== committed) return false;
    }
    finalMembers = [...m].sort((a, b) => a - b);
    return true;
  };
  try {
    c.runUntil(converged, healTicks, 'convergence after healing');
  } catch (err) {
    const stuck = staleConfigurationDeadlock(c);
    if (stuck === null) throw err;
    c.trace(`stuck: ${stuck}`);
    return {
      seed,
      ticks: c.now,
      elections: c.checker.elections,
      appliedIndex: c.checker.maxApplied,
      crashes: c.stats.crashes,
      confChanges,
      members: [],
      stats: c.stats,
      stuck,
      summary: `seed ${seed}: ${c.now} ticks, stuck (tolerated): ${stuck}`,
    };
  }
  const applied = c.checkConverged(finalMembers);
  if (applied < c.checker.maxApplied || applied < c.checker.maxCommitted) {
    throw new Error(
      `converged at ${applied}, but index ${Math.max(c.checker.maxApplied, c.checker.maxCommitted)} was committed or applied before`,
    );
  }
  const leader = c.leader()!;
  const p = copts.raft!;
  return {
    seed,
    ticks: c.now,
    elections: c.checker.elections,
    appliedIndex: applied,
    crashes: c.stats.crashes,
    confChanges,
    members: finalMembers,
    stats: c.stats,
    summary:
      `seed ${seed}: ${c.now} ticks, ${c.checker.elections} elections, applied ${applied}, ` +
      `${c.stats.crashes} crashes, ${confChanges} conf changes, members [${finalMembers}], ` +
      `leader ${leader.id} (${StateType[leader.raw!.raft.state]}), preVote ${p.preVote}, ` +
      `checkQuorum ${p.checkQuorum}, async ${p.asyncStorageWrites}, codec ${copts.codec}`,
  };
}
