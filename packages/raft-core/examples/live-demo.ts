// A live in-memory demo: three RawNodes in one process, a 100 ms ticker, messages delivered
// in memory. Every few seconds the leader is cut off from the others; watch a new leader take
// over and the old one rejoin. Prints what happens; Ctrl+C stops it (or --seconds N).
//
//   npx -y pnpm@10 start            (from the repository root)
import { parseArgs } from 'node:util';
import {
  EMPTY_BYTES,
  EntryType,
  MemoryStorage,
  type Message,
  RawNode,
  StateType,
  newConfState,
} from '../src/index.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '0' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  console.log('usage: live-demo [--seconds N]   (0 = run until Ctrl+C)');
  process.exit(0);
}

const ids = [1, 2, 3];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface DemoNode {
  id: number;
  raw: RawNode;
  storage: MemoryStorage;
  kv: Map<string, string>;
}

const nodes = new Map<number, DemoNode>();
for (const id of ids) {
  const storage = new MemoryStorage();
  storage.applySnapshot({
    data: EMPTY_BYTES,
    metadata: { index: 1, term: 1, confState: newConfState({ voters: ids }) },
  });
  const raw = new RawNode({
    id,
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    preVote: true,
    checkQuorum: true,
  });
  nodes.set(id, { id, raw, storage, kv: new Map() });
}

/** Nodes cut off from everyone (messages to and from them are dropped). */
const isolated = new Set<number>();
let inbox: Message[] = [];

function handleReady(n: DemoNode): void {
  const rd = n.raw.ready();
  if (rd.softState && rd.softState.raftState === StateType.Leader) {
    log(`node ${n.id} became leader at term ${n.raw.basicStatus().hardState.term}`);
  }
  if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
  n.storage.append(rd.entries);
  if (rd.hardState) n.storage.setHardState(rd.hardState);
  inbox.push(...rd.messages);
  for (const e of rd.committedEntries) {
    if (e.type !== EntryType.EntryNormal || e.data.length === 0) continue;
    const [k, v] = decoder.decode(e.data).split('=');
    n.kv.set(k!, v!);
  }
  n.raw.advance();
}

function pump(): void {
  for (let round = 0; round < 100; round++) {
    for (const n of nodes.values()) if (n.raw.hasReady()) handleReady(n);
    if (inbox.length === 0) return;
    const batch = inbox;
    inbox = [];
    for (const m of batch) {
      if (isolated.has(m.from) || isolated.has(m.to)) continue;
      try {
        nodes.get(m.to)!.raw.step(m);
      } catch {
        // A dropped proposal or a message for an unknown peer: fine in a demo.
      }
    }
  }
}

const started = Date.now();
function log(line: string): void {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);
}

function leader(): DemoNode | undefined {
  for (const n of nodes.values()) {
    if (!isolated.has(n.id) && n.raw.basicStatus().softState.raftState === StateType.Leader)
      return n;
  }
  return undefined;
}

let ticks = 0;
let counter = 0;
const timer = setInterval(() => {
  ticks++;
  for (const n of nodes.values()) n.raw.tick();
  pump();
  const l = leader();
  if (l && ticks % 5 === 0) {
    counter++;
    try {
      l.raw.propose(encoder.encode(`key${counter % 5}=value${counter}`));
    } catch {
      // no leader right now
    }
    pump();
  }
  if (ticks % 20 === 0) {
    const view = [...nodes.values()]
      .map((n) => {
        const st = n.raw.basicStatus();
        const role = StateType[st.softState.raftState].padEnd(12);
        return `n${n.id}${isolated.has(n.id) ? '(cut)' : ''} ${role} term=${st.hardState.term} commit=${st.hardState.commit} kv=${n.kv.size}`;
      })
      .join(' | ');
    log(view);
  }
  if (ticks % 60 === 0) {
    if (isolated.size > 0) {
      log(`healing: node ${[...isolated].join(',')} rejoins`);
      isolated.clear();
    } else if (l) {
      log(`cutting off leader ${l.id} from the others`);
      isolated.add(l.id);
    }
  }
  const seconds = Number(values.seconds);
  if (seconds > 0 && Date.now() - started >= seconds * 1000) stop();
}, 100);

function stop(): void {
  clearInterval(timer);
  const states = [...nodes.values()].map((n) => JSON.stringify([...n.kv].sort()));
  log(
    `stopped; the three state machines ${states.every((s) => s === states[0]) ? 'agree' : 'differ (a node is still catching up)'}`,
  );
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

log('3-node in-memory raft cluster; node 1 campaigns. Ctrl+C to stop.');
nodes.get(1)!.raw.campaign();
pump();
