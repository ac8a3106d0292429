// A scenario runner for tests that read like the protocol (after etcd's rafttest
// InteractionEnv and its datadriven files). An env holds RawNodes over MemoryStorage and a
// pool of in-flight messages; a script drives it step by step and prints what happened:
//
//   add-nodes 3 voters=(1,2,3) index=2
//   campaign 1
//   stabilize
//   propose-conf-change 1 transition=explicit
//   r1 v4
//
// Each directive is a command line, optional input lines, `----`, and the expected output
// (etcd's datadriven format; `----` twice around output that contains blank lines). Golden
// files under test/features/testdata/ are checked by runGoldenFile and rewritten when the
// UPDATE_GOLDEN=1 environment variable is set. Nothing here uses wall-clock time: tests tick,
// and each node's election jitter comes from a PRNG seeded by its id.
//
// Commands (node ids are positional; `key=(a,b)` lists):
//   add-nodes N [voters=() learners=() index=I async-storage-writes= prevote= checkquorum=
//                read-only=safe|lease-based inflight= max-inflight-bytes= max-size-per-msg=
//                max-committed-size-per-ready= max-uncommitted-size= election-tick=
//                step-down-on-removal= disable-proposal-forwarding=
//                disable-conf-change-validation=]
//   campaign ID | propose ID DATA | propose-conf-change ID [v1=true] [transition=auto|implicit|
//     explicit] + a line of changes (v2 l4 r1 u3; empty leaves a joint config)
//   process-ready IDS | process-append-thread IDS | process-apply-thread IDS
//   deliver-msgs IDS [type=MsgApp] [drop=(IDS)] | stabilize [IDS]
//   tick ID [N] | tick-heartbeat ID | tick-election ID | set-randomized-election-timeout ID timeout=N
//   transfer-leadership from=ID to=ID | forget-leader ID | read-index ID CTX
//   report-unreachable ID PEER | compact ID INDEX
//   isolate ID | partition IDS | IDS | heal
//   cold-storage ID below=I | load-entries ID          (async log fetch)
//   raft-log ID | unstable ID | raft-state | status ID | applied ID | log-level LEVEL
// The same env is used programmatically (addNodes, stabilize, propose, hooks) by the tests.
import { readFileSync, writeFileSync } from 'node:fs';
import {
  type Config,
  type ConfChangeSingle,
  ConfChangeTransition,
  ConfChangeType,
  type ConfState,
  EMPTY_BYTES,
  type Entry,
  EntryType,
  ErrLogTemporarilyUnavailable,
  type FetchContext,
  type HardState,
  type Logger,
  MemoryStorage,
  type Message,
  MessageType,
  type NodeId,
  ProgressStateType,
  RawNode,
  ReadOnlyOption,
  type ReadState,
  type Ready,
  type Snapshot,
  StateType,
  decodeConfChange,
  decodeConfChangeV2,
  describeEntries,
  describeMessage,
  describeReady,
  isLocalMsgTarget,
  newConfState,
} from '../../src/index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** mulberry32: a tiny seeded PRNG, so election jitter replays exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * MemoryStorage as a node of the env uses it: `snapshot()` returns the state machine as of
 * the last applied entry (so a leader can always send a current snapshot), and entries below
 * `coldBelow` are "on disk": `entries()` refuses them with ErrLogTemporarilyUnavailable and
 * remembers who asked in `pendingFetches`, for the test to report with onEntriesFetched once
 * it lowers `coldBelow` (script: cold-storage / load-entries).
 */
export class EnvStorage extends MemoryStorage {
  coldBelow = 0;
  readonly pendingFetches: FetchContext[] = [];

  constructor(private readonly current: () => Snapshot) {
    super();
  }

  override snapshot(): Snapshot {
    return this.current();
  }

  override entries(lo: number, hi: number, maxSize: number, ctx?: FetchContext): Entry[] {
    if (lo < this.coldBelow) {
      if (
        ctx !== undefined &&
        !this.pendingFetches.some((p) => p.why === ctx.why && p.to === ctx.to)
      )
        this.pendingFetches.push(ctx);
      throw new ErrLogTemporarilyUnavailable(`entries [${lo}, ${hi}) are being loaded`);
    }
    return super.entries(lo, hi, maxSize);
  }
}

export interface EnvNode {
  id: NodeId;
  rawNode: RawNode;
  storage: EnvStorage;
  config: Config;
  /** MsgStorageAppend messages waiting for the append thread (asyncStorageWrites). */
  appendWork: Message[];
  /** MsgStorageApply messages waiting for the apply thread (asyncStorageWrites). */
  applyWork: Message[];
  /** The state machine: the non-empty normal payloads applied, in order. */
  applied: string[];
  /** The state machine as a snapshot (index, term, conf state of the last applied entry). */
  state: Snapshot;
}

/** Options of add-nodes, each also a `key=value` argument of the script command. */
export interface AddNodesOptions {
  voters?: NodeId[];
  learners?: NodeId[];
  /** Bootstrap from a snapshot at this index (> 1), term 1, with voters/learners. */
  index?: number;
  config?: Partial<Omit<Config, 'id' | 'storage'>>;
}

type Level = 'debug' | 'info' | 'warn' | 'error' | 'none';
const LEVELS: Level[] = ['debug', 'info', 'warn', 'error', 'none'];

function fmtValue(v: unknown): string {
  if (v instanceof Error) return v.message;
  if (v instanceof Uint8Array) return JSON.stringify(dec.decode(v));
  if (Array.isArray(v)) return `[${v.map(fmtValue).join(' ')}]`;
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

/** Parsed `key=value` and positional arguments of a command line. */
class Args {
  constructor(
    readonly positional: string[],
    readonly kv: Map<string, string[]>,
  ) {}

  static parse(tokens: string[]): Args {
    const pos: string[] = [];
    const kv = new Map<string, string[]>();
    for (const t of tokens) {
      const eq = t.indexOf('=');
      if (eq < 0) {
        pos.push(t);
        continue;
      }
      let v = t.slice(eq + 1);
      if (v.startsWith('(') && v.endsWith(')')) v = v.slice(1, -1);
      kv.set(
        t.slice(0, eq),
        v.split(/[ ,]+/).filter((s) => s !== ''),
      );
    }
    return new Args(pos, kv);
  }

  ids(): NodeId[] {
    return this.positional.map((p) => {
      const n = Number(p);
      if (!Number.isSafeInteger(n)) throw new Error(`not a node id: ${p}`);
      return n;
    });
  }

  first(): NodeId {
    const n = Number(this.positional[0]);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error('a node id is required');
    return n;
  }

  num(key: string): number | undefined {
    const v = this.kv.get(key);
    return v === undefined ? undefined : Number(v[0]);
  }

  nums(key: string): number[] | undefined {
    return this.kv.get(key)?.map(Number);
  }

  str(key: string): string | undefined {
    return this.kv.get(key)?.[0];
  }

  bool(key: string): boolean | undefined {
    const v = this.str(key);
    return v === undefined ? undefined : v === 'true';
  }
}

/** Parses `v2 l4 r1 u3` (voter, learner, remove, update) into conf changes. */
export function parseConfChanges(s: string): ConfChangeSingle[] {
  const types: Record<string, ConfChangeType> = {
    v: ConfChangeType.ConfChangeAddNode,
    l: ConfChangeType.ConfChangeAddLearnerNode,
    r: ConfChangeType.ConfChangeRemoveNode,
    u: ConfChangeType.ConfChangeUpdateNode,
  };
  return s
    .split(/\s+/)
    .filter((t) => t !== '')
    .map((t) => {
      const type = types[t[0]!];
      const nodeId = Number(t.slice(1));
      if (type === undefined || !Number.isSafeInteger(nodeId)) throw new Error(`bad change ${t}`);
      return { type, nodeId };
    });
}

export function stateName(s: StateType): string {
  return `State${StateType[s]}`;
}

export class InteractionEnv {
  readonly nodes: EnvNode[] = [];
  /** Messages sent and not yet delivered or dropped, in send order. */
  messages: Message[] = [];
  /** Called with each Ready a node handles, before it is processed. */
  onReady: ((n: EnvNode, rd: Ready) => void) | undefined;
  /** Called for each ReadState a node's Ready releases. */
  onReadState: ((n: EnvNode, rs: ReadState) => void) | undefined;
  /** Called for each entry a node applies to its state machine. */
  onApply: ((n: EnvNode, e: Entry) => void) | undefined;
  /** When set, every message a node hands out (peer or local) is appended here. */
  trace: Message[] | undefined;
  /** Directed links that lose every message: `from->to`. */
  readonly blocked = new Set<string>();
  /** Raft's log lines at or above this level are printed; warnings by default. */
  logLevel: Level = 'warn';
  private out: string[] = [];
  /** Output is collected only while a script command runs (`run`); direct calls are quiet. */
  private recording = false;

  constructor(readonly seed = 0) {}

  // ---- output -------------------------------------------------------------------------

  private print(s: string): void {
    if (!this.recording) return;
    for (const line of s.split('\n')) this.out.push(line);
  }

  private indented(f: () => void): void {
    if (!this.recording) {
      f();
      return;
    }
    const saved = this.out;
    this.out = [];
    try {
      f();
    } finally {
      const inner = this.out;
      this.out = saved;
      for (const line of inner) saved.push(`  ${line}`);
    }
  }

  private loggerFor(id: NodeId): Logger {
    const log =
      (level: Level) =>
      (obj: unknown, msg?: string): void => {
        if (!this.recording || LEVELS.indexOf(level) < LEVELS.indexOf(this.logLevel)) return;
        let fields = '';
        if (typeof obj === 'object' && obj !== null) {
          for (const [k, v] of Object.entries(obj)) {
            if (k !== 'id' && v !== undefined) fields += ` ${k}=${fmtValue(v)}`;
          }
        }
        this.print(`${level.toUpperCase()} ${id} ${msg ?? ''}${fields}`);
      };
    return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  }

  // ---- nodes --------------------------------------------------------------------------

  node(id: NodeId): EnvNode {
    const n = this.nodes[id - 1];
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Adds n nodes with the next ids, empty or bootstrapped from a snapshot at `index`. */
  addNodes(count: number, opts: AddNodesOptions = {}): EnvNode[] {
    const added: EnvNode[] = [];
    for (let i = 0; i < count; i++) {
      const id = this.nodes.length + 1;
      const boot = opts.index !== undefined;
      if (boot && opts.index! <= 1) throw new Error('index must be > 1 to bootstrap');
      const snap: Snapshot = {
        data: enc.encode('[]'),
        metadata: {
          index: boot ? opts.index! : 0,
          term: boot ? 1 : 0,
          confState: newConfState({
            voters: [...(opts.voters ?? [])],
            learners: [...(opts.learners ?? [])],
          }),
        },
      };
      const holder: { n?: EnvNode } = {};
      const storage = new EnvStorage(() => holder.n!.state);
      if (boot) storage.applySnapshot(snap);
      const config: Config = {
        electionTick: 3,
        heartbeatTick: 1,
        maxSizePerMsg: Number.MAX_SAFE_INTEGER,
        maxInflightMsgs: 2 ** 31 - 1,
        random: seededRandom(this.seed * 1000 + id),
        logger: this.loggerFor(id),
        ...opts.config,
        id,
        storage,
        ...(boot ? { applied: opts.index! } : {}),
      };
      const n: EnvNode = {
        id,
        rawNode: new RawNode(config),
        storage,
        config,
        appendWork: [],
        applyWork: [],
        applied: [],
        state: snap,
      };
      holder.n = n;
      this.nodes.push(n);
      added.push(n);
    }
    return added;
  }

  /** Ticks every node (or those given) `n` times, as a shared clock would. */
  tick(n = 1, ids: NodeId[] = []): void {
    const nodes = ids.length > 0 ? ids.map((id) => this.node(id)) : this.nodes;
    for (let i = 0; i < n; i++) for (const nd of nodes) nd.rawNode.tick();
  }

  /** The nodes that believe they lead, highest term first. */
  leaders(): EnvNode[] {
    return this.nodes
      .filter((n) => n.rawNode.raft.state === StateType.Leader)
      .sort((a, b) => b.rawNode.raft.term - a.rawNode.raft.term);
  }

  /** Proposes `data` on node `id`; returns the error instead of throwing it. */
  propose(id: NodeId, data: string): Error | undefined {
    try {
      this.node(id).rawNode.propose(enc.encode(data));
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }

  // ---- ready handling, storage and apply -----------------------------------------------

  /** Handles one Ready of node `id` the way an application does. */
  processReady(id: NodeId): void {
    const n = this.node(id);
    const rd = n.rawNode.ready();
    this.print(describeReady(rd));
    this.onReady?.(n, rd);
    for (const rs of rd.readStates) this.onReadState?.(n, rs);
    const async = n.config.asyncStorageWrites === true;
    if (!async) {
      this.persist(n, rd.hardState, rd.entries, rd.snapshot);
      this.apply(n, rd.committedEntries);
    }
    for (const m of rd.messages) {
      this.trace?.push(m);
      if (!isLocalMsgTarget(m.to)) {
        this.messages.push(m);
      } else if (m.type === MessageType.MsgStorageAppend) {
        n.appendWork.push(m);
      } else if (m.type === MessageType.MsgStorageApply) {
        n.applyWork.push(m);
      } else {
        throw new Error(`unexpected local message ${describeMessage(m)}`);
      }
    }
    if (!async) n.rawNode.advance();
  }

  private persist(n: EnvNode, hs: HardState | undefined, ents: Entry[], snap?: Snapshot): void {
    if (hs !== undefined && (hs.term !== 0 || hs.vote !== 0 || hs.commit !== 0))
      n.storage.setHardState(hs);
    if (snap !== undefined && snap.metadata.index > 0) {
      if (ents.length > 0) throw new Error("can't apply snapshot and entries at the same time");
      n.storage.applySnapshot(snap);
      // The state machine is restored from the snapshot at once (as etcd's apps do).
      n.state = snap;
      n.applied = JSON.parse(dec.decode(snap.data)) as string[];
      return;
    }
    n.storage.append(ents);
  }

  private apply(n: EnvNode, ents: readonly Entry[]): void {
    for (const e of ents) {
      let cs: ConfState | undefined;
      if (e.type === EntryType.EntryConfChange) {
        cs = n.rawNode.applyConfChange(decodeConfChange(e.data));
      } else if (e.type === EntryType.EntryConfChangeV2) {
        cs = n.rawNode.applyConfChange(decodeConfChangeV2(e.data));
      } else if (e.data.length > 0) {
        n.applied.push(dec.decode(e.data));
      }
      this.onApply?.(n, e);
      n.state = {
        data: enc.encode(JSON.stringify(n.applied)),
        metadata: { index: e.index, term: e.term, confState: cs ?? n.state.metadata.confState },
      };
    }
  }

  /** Runs one MsgStorageAppend of node `id` (its "append thread"); returns false if idle. */
  processAppendThread(id: NodeId): boolean {
    const n = this.node(id);
    const m = n.appendWork.shift();
    if (m === undefined) {
      this.print('no append work to perform');
      return false;
    }
    this.print(`Processing:\n${describeMessage({ ...m, responses: [] })}`);
    const hs = { term: m.term, vote: m.vote, commit: m.commit };
    this.persist(n, hs, m.entries, m.snapshot ?? undefined);
    this.deliverResponses(m);
    return true;
  }

  /** Runs one MsgStorageApply of node `id` (its "apply thread"); returns false if idle. */
  processApplyThread(id: NodeId): boolean {
    const n = this.node(id);
    const m = n.applyWork.shift();
    if (m === undefined) {
      this.print('no apply work to perform');
      return false;
    }
    this.print(`Processing:\n${describeMessage({ ...m, responses: [] })}`);
    this.apply(n, m.entries);
    this.deliverResponses(m);
    return true;
  }

  private deliverResponses(m: Message): void {
    this.print('Responses:');
    for (const r of m.responses) this.print(describeMessage(r));
    this.messages.push(...m.responses);
  }

  // ---- message delivery ---------------------------------------------------------------

  private isLocal(m: Message): boolean {
    return m.from === m.to || isLocalMsgTarget(m.from) || isLocalMsgTarget(m.to);
  }

  /**
   * Delivers (or, with drop, discards) the queued messages to `to`, optionally only those of
   * one type. Messages on a blocked link are dropped. Returns how many were handled.
   */
  deliverMsgs(to: NodeId, opts: { type?: MessageType; drop?: boolean } = {}): number {
    const mine: Message[] = [];
    const rest: Message[] = [];
    for (const m of this.messages) {
      const match =
        m.to === to &&
        !(opts.drop === true && this.isLocal(m)) &&
        (opts.type === undefined || m.type === opts.type);
      (match ? mine : rest).push(m);
    }
    this.messages = rest;
    for (const m of mine) {
      const lost =
        opts.drop === true || (!this.isLocal(m) && this.blocked.has(`${m.from}->${m.to}`));
      if (lost) {
        this.print(`dropped: ${describeMessage(m)}`);
        continue;
      }
      this.print(describeMessage(m));
      try {
        this.node(m.to).rawNode.step(m);
      } catch (err) {
        this.print(errorText(err));
      }
    }
    return mine.length;
  }

  /** Ready handling and delivery on `ids` (all nodes if empty) until nothing is left to do. */
  stabilize(ids: NodeId[] = []): void {
    for (let round = 0; this.stabilizeRound(ids); round++) {
      if (round > 10_000) throw new Error('stabilize: no fixed point after 10000 rounds');
    }
  }

  /**
   * One round of stabilize: every node with a Ready handles it, then every node receives
   * what is queued for it, then the storage threads run. Returns whether anything happened.
   * A round is one network hop, so a test can interleave work with a protocol in flight.
   */
  stabilizeRound(ids: NodeId[] = []): boolean {
    const nodes = ids.length > 0 ? ids.map((id) => this.node(id)) : this.nodes;
    let busy = false;
    for (const n of nodes) {
      if (!n.rawNode.hasReady()) continue;
      this.print(`> ${n.id} handling Ready`);
      this.indented(() => this.processReady(n.id));
      busy = true;
    }
    for (const n of nodes) {
      if (!this.messages.some((m) => m.to === n.id)) continue;
      this.print(`> ${n.id} receiving messages`);
      this.indented(() => this.deliverMsgs(n.id));
      busy = true;
    }
    for (const n of nodes) {
      if (n.appendWork.length === 0) continue;
      this.print(`> ${n.id} processing append thread`);
      while (n.appendWork.length > 0) this.indented(() => this.processAppendThread(n.id));
      busy = true;
    }
    for (const n of nodes) {
      if (n.applyWork.length === 0) continue;
      this.print(`> ${n.id} processing apply thread`);
      while (n.applyWork.length > 0) this.indented(() => this.processApplyThread(n.id));
      busy = true;
    }
    return busy;
  }

  /** Blocks every link to and from `id` (a partition); `heal` lifts all blocks. */
  isolate(id: NodeId): void {
    for (const n of this.nodes) {
      if (n.id === id) continue;
      this.blocked.add(`${id}->${n.id}`);
      this.blocked.add(`${n.id}->${id}`);
    }
  }

  /** Blocks the links between two groups, both ways. */
  partition(a: NodeId[], b: NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.blocked.add(`${x}->${y}`);
        this.blocked.add(`${y}->${x}`);
      }
    }
  }

  // ---- printing state -----------------------------------------------------------------

  describeRaftLog(id: NodeId): string {
    const s = this.node(id).storage;
    const fi = s.firstIndex();
    const li = s.lastIndex();
    if (li < fi) return `log is empty: first index=${fi}, last index=${li}`;
    return describeEntries(s.entries(fi, li + 1, Number.POSITIVE_INFINITY));
  }

  describeRaftState(): string {
    return this.nodes
      .map((n) => {
        const st = n.rawNode.status();
        const voter = st.config.voters.includes(n.id) || st.config.votersOutgoing.includes(n.id);
        return `${n.id}: ${stateName(st.softState.raftState)} (${voter ? 'Voter' : 'Non-Voter'}) Term:${st.hardState.term} Lead:${st.softState.lead}`;
      })
      .join('\n');
  }

  /** The node's status as etcd's Status prints it: one line per peer progress (leaders). */
  describeStatus(id: NodeId): string {
    const st = this.node(id).rawNode.status();
    const lines = [
      `${stateName(st.softState.raftState)} Term:${st.hardState.term} Lead:${st.softState.lead} Commit:${st.hardState.commit} Applied:${st.applied}${st.leadTransferee !== 0 ? ` Transferee:${st.leadTransferee}` : ''}`,
    ];
    const c = st.config;
    let cfg = `voters=(${c.voters.join(' ')})`;
    if (c.votersOutgoing.length > 0) cfg += `&&(${c.votersOutgoing.join(' ')})`;
    if (c.learners.length > 0) cfg += ` learners=(${c.learners.join(' ')})`;
    if (c.learnersNext.length > 0) cfg += ` learners_next=(${c.learnersNext.join(' ')})`;
    if (c.autoLeave) cfg += ' autoleave';
    lines.push(cfg);
    for (const pid of [...st.progress.keys()].sort((a, b) => a - b)) {
      const pr = st.progress.get(pid)!;
      let s = `${pid}: State${ProgressStateType[pr.state].slice(5)} match=${pr.match} next=${pr.next}`;
      if (pr.isLearner) s += ' learner';
      if (pr.pendingSnapshot > 0) s += ` pendingSnap=${pr.pendingSnapshot}`;
      if (!pr.recentActive) s += ' inactive';
      if (pr.inflights.count > 0) {
        s += ` inflight=${pr.inflights.count}`;
        if (pr.inflights.bytes > 0) s += `(${pr.inflights.bytes}B)`;
        if (pr.inflights.count === pr.inflights.size) s += '[full]';
      }
      lines.push(s);
    }
    return lines.join('\n');
  }

  // ---- the script language ------------------------------------------------------------

  /** Runs one command (`cmd args...`, with optional input) and returns what it printed. */
  run(line: string, input = ''): string {
    this.out = [];
    const tokens = tokenize(line);
    const cmd = tokens[0];
    if (cmd === undefined) throw new Error('empty command');
    this.recording = true;
    try {
      this.handle(cmd, Args.parse(tokens.slice(1)), input);
    } catch (err) {
      // Errors are printed even at log-level none.
      if (this.logLevel === 'none') this.out = [];
      this.print(errorText(err));
      return this.out.join('\n');
    } finally {
      this.recording = false;
    }
    // log-level none silences everything, handler output included: handy for setup steps.
    if (this.logLevel === 'none') return 'ok';
    const s = this.out.join('\n').replace(/\n+$/, '');
    return s === '' ? 'ok' : s;
  }

  private handle(cmd: string, a: Args, input: string): void {
    switch (cmd) {
      case 'add-nodes': {
        const count = a.first();
        const cfg: Partial<Config> = {};
        const bool = (k: string) => a.bool(k);
        if (bool('async-storage-writes') !== undefined)
          cfg.asyncStorageWrites = bool('async-storage-writes')!;
        if (bool('prevote') !== undefined) cfg.preVote = bool('prevote')!;
        if (bool('checkquorum') !== undefined) cfg.checkQuorum = bool('checkquorum')!;
        if (bool('step-down-on-removal') !== undefined)
          cfg.stepDownOnRemoval = bool('step-down-on-removal')!;
        if (bool('disable-proposal-forwarding') !== undefined)
          cfg.disableProposalForwarding = bool('disable-proposal-forwarding')!;
        if (bool('disable-conf-change-validation') !== undefined)
          cfg.disableConfChangeValidation = bool('disable-conf-change-validation')!;
        const nums: [string, keyof Config][] = [
          ['inflight', 'maxInflightMsgs'],
          ['max-inflight-bytes', 'maxInflightBytes'],
          ['max-size-per-msg', 'maxSizePerMsg'],
          ['max-committed-size-per-ready', 'maxCommittedSizePerReady'],
          ['max-uncommitted-size', 'maxUncommittedEntriesSize'],
          ['election-tick', 'electionTick'],
        ];
        for (const [k, field] of nums) {
          const v = a.num(k);
          if (v !== undefined) (cfg as Record<string, number>)[field] = v;
        }
        const ro = a.str('read-only');
        if (ro !== undefined)
          cfg.readOnlyOption =
            ro === 'lease-based' ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe;
        const opts: AddNodesOptions = { config: cfg };
        const voters = a.nums('voters');
        const learners = a.nums('learners');
        const index = a.num('index');
        if (voters !== undefined) opts.voters = voters;
        if (learners !== undefined) opts.learners = learners;
        if (index !== undefined) opts.index = index;
        this.addNodes(count, opts);
        return;
      }
      case 'campaign':
        this.node(a.first()).rawNode.campaign();
        return;
      case 'propose':
        this.node(a.first()).rawNode.propose(enc.encode(a.positional[1] ?? ''));
        return;
      case 'propose-conf-change': {
        const changes = parseConfChanges(input);
        const rn = this.node(a.first()).rawNode;
        if (a.bool('v1') === true) {
          if (changes.length !== 1) throw new Error('a v1 conf change has exactly one change');
          rn.proposeConfChange({ ...changes[0]!, context: EMPTY_BYTES, id: 0 });
          return;
        }
        const t = a.str('transition') ?? 'auto';
        const transition = {
          auto: ConfChangeTransition.ConfChangeTransitionAuto,
          implicit: ConfChangeTransition.ConfChangeTransitionJointImplicit,
          explicit: ConfChangeTransition.ConfChangeTransitionJointExplicit,
        }[t];
        if (transition === undefined) throw new Error(`unknown transition ${t}`);
        rn.proposeConfChange({ transition, changes, context: EMPTY_BYTES });
        return;
      }
      case 'process-ready':
      case 'process-append-thread':
      case 'process-apply-thread': {
        const ids = a.ids();
        const f = (id: NodeId) => {
          if (cmd === 'process-ready') this.processReady(id);
          else if (cmd === 'process-append-thread') this.processAppendThread(id);
          else this.processApplyThread(id);
        };
        const what = {
          'process-ready': 'handling Ready',
          'process-append-thread': 'processing append thread',
          'process-apply-thread': 'processing apply thread',
        }[cmd];
        for (const id of ids) {
          if (ids.length === 1) {
            f(id);
          } else {
            this.print(`> ${id} ${what}`);
            this.indented(() => f(id));
          }
        }
        return;
      }
      case 'deliver-msgs': {
        const t = a.str('type');
        const type = t === undefined ? undefined : MessageType[t as keyof typeof MessageType];
        if (t !== undefined && type === undefined) throw new Error(`unknown message type ${t}`);
        let n = 0;
        for (const id of a.ids()) n += this.deliverMsgs(id, type === undefined ? {} : { type });
        for (const id of a.nums('drop') ?? [])
          n += this.deliverMsgs(id, type === undefined ? { drop: true } : { type, drop: true });
        if (n === 0) this.print('no messages');
        return;
      }
      case 'stabilize':
        this.stabilize(a.ids());
        return;
      case 'tick':
        for (let i = 0; i < Number(a.positional[1] ?? 1); i++) this.node(a.first()).rawNode.tick();
        return;
      case 'tick-heartbeat':
      case 'tick-election': {
        const n = this.node(a.first());
        const k = cmd === 'tick-heartbeat' ? n.config.heartbeatTick : n.config.electionTick;
        for (let i = 0; i < k; i++) n.rawNode.tick();
        return;
      }
      case 'set-randomized-election-timeout':
        this.node(a.first()).rawNode.raft.randomizedElectionTimeout = a.num('timeout')!;
        return;
      case 'transfer-leadership':
        this.node(a.num('from')!).rawNode.transferLeader(a.num('to')!);
        return;
      case 'forget-leader':
        this.node(a.first()).rawNode.forgetLeader();
        return;
      case 'read-index':
        this.node(a.first()).rawNode.readIndex(enc.encode(a.positional[1] ?? ''));
        return;
      case 'report-unreachable':
        this.node(a.first()).rawNode.reportUnreachable(Number(a.positional[1]));
        return;
      case 'compact': {
        const n = this.node(a.first());
        n.storage.compact(Number(a.positional[1]));
        this.print(this.describeRaftLog(n.id));
        return;
      }
      case 'isolate':
        this.isolate(a.first());
        return;
      case 'partition': {
        // partition 1 2 | 3: blocks the links between the two groups.
        const bar = a.positional.indexOf('|');
        if (bar < 0) throw new Error('partition needs two groups: partition 1 | 2 3');
        this.partition(
          a.positional.slice(0, bar).map(Number),
          a.positional.slice(bar + 1).map(Number),
        );
        return;
      }
      case 'heal':
        this.blocked.clear();
        return;
      case 'cold-storage': {
        // cold-storage 1 below=5: node 1's storage must load entries < 5 before returning them.
        this.node(a.first()).storage.coldBelow = a.num('below')!;
        return;
      }
      case 'load-entries': {
        // The storage of node `id` finishes loading; raft is told about each waiting read.
        const n = this.node(a.first());
        n.storage.coldBelow = 0;
        const fetches = n.storage.pendingFetches.splice(0);
        if (fetches.length === 0) this.print('no pending fetches');
        for (const ctx of fetches) {
          this.print(`fetched: ${ctx.why}${ctx.why === 'append' ? ` to ${ctx.to}` : ''}`);
          n.rawNode.onEntriesFetched(ctx);
        }
        return;
      }
      case 'raft-log':
        this.print(this.describeRaftLog(a.first()));
        return;
      case 'unstable': {
        // The entries raft holds in memory until the storage reports them durable.
        const u = this.node(a.first()).rawNode.raft.raftLog.unstable;
        this.print(
          u.entries.length === 0
            ? `no unstable entries (offset ${u.offset})`
            : `unstable from ${u.offset}:\n${describeEntries(u.entries)}`,
        );
        return;
      }
      case 'raft-state':
        this.print(this.describeRaftState());
        return;
      case 'status':
        this.print(this.describeStatus(a.first()));
        return;
      case 'applied':
        this.print(`[${this.node(a.first()).applied.join(' ')}]`);
        return;
      case 'log-level': {
        const l = (a.positional[0] ?? '').toLowerCase() as Level;
        if (!LEVELS.includes(l)) throw new Error(`unknown log level ${l}`);
        this.logLevel = l;
        return;
      }
      default:
        throw new Error(`unknown command ${cmd}`);
    }
  }

  /**
   * Runs a script of directives and returns it with each expected output replaced by the
   * actual one: a passing script comes back unchanged.
   */
  runScript(text: string): string {
    return renderScript(parseScript(text), (d) => this.run(d.cmd, d.input));
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

function tokenize(line: string): string[] {
  // Splits on blanks outside parentheses: `voters=(1, 2, 3)` stays one token.
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (const ch of line.trim()) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (/\s/.test(ch) && depth === 0) {
      if (cur !== '') out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur !== '') out.push(cur);
  return out;
}

// ---- datadriven files -----------------------------------------------------------------

interface Directive {
  kind: 'directive';
  cmd: string;
  input: string;
  expected: string;
}
type Segment = { kind: 'raw'; text: string } | Directive;

/** Splits a script into raw lines (comments, blanks) and directives. */
export function parseScript(text: string): Segment[] {
  const lines = text.split('\n');
  const segs: Segment[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) {
      segs.push({ kind: 'raw', text: line });
      i++;
      continue;
    }
    const cmd = line;
    const input: string[] = [];
    i++;
    while (i < lines.length && lines[i] !== '----') input.push(lines[i++]!);
    if (i >= lines.length) throw new Error(`directive "${cmd}" has no ---- separator`);
    i++; // past ----
    const expected: string[] = [];
    if (lines[i] === '----') {
      // Output with blank lines: up to a ---- ---- pair.
      i++;
      while (i < lines.length && !(lines[i] === '----' && lines[i + 1] === '----'))
        expected.push(lines[i++]!);
      i += 2;
    } else {
      while (i < lines.length && lines[i]!.trim() !== '') expected.push(lines[i++]!);
    }
    segs.push({ kind: 'directive', cmd, input: input.join('\n'), expected: expected.join('\n') });
  }
  return segs;
}

function renderScript(segs: Segment[], actual: (d: Directive) => string): string {
  const out: string[] = [];
  for (const s of segs) {
    if (s.kind === 'raw') {
      out.push(s.text);
      continue;
    }
    out.push(s.cmd);
    if (s.input !== '') out.push(s.input);
    out.push('----');
    const got = actual(s);
    if (/\n\s*\n/.test(got)) out.push('----', got, '----', '----');
    else out.push(got);
  }
  return out.join('\n');
}

/**
 * Runs a golden file in a fresh env. Returns [expected, actual] file contents (equal when
 * the scenario still behaves as recorded); with UPDATE_GOLDEN=1 the file is rewritten.
 */
export function runGoldenFile(path: string, seed = 0): { expected: string; actual: string } {
  const expected = readFileSync(path, 'utf8');
  const env = new InteractionEnv(seed);
  const actual = env.runScript(expected);
  if (process.env.UPDATE_GOLDEN === '1') {
    if (actual !== expected) writeFileSync(path, actual);
    return { expected: actual, actual };
  }
  return { expected, actual };
}
