// Readable one-line renderings of messages, entries and Readys, for tests, logs and tools.
import { decodeConfChange, decodeConfChangeV2 } from './codec.js';
import { LocalAppendThread, LocalApplyThread } from './config.js';
import { asV2 } from './confchange/conf-change-v2.js';
import {
  type ConfChangeSingle,
  ConfChangeType,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  type NodeId,
  type Snapshot,
} from './raftpb.js';
import type { Ready } from './raw-node.js';
import { StateType } from './raft.js';

/** Renders entry data; the default shows short printable payloads as text, else a length. */
export type DataFormatter = (data: Uint8Array) => string;

const decoder = new TextDecoder();

export const defaultFormatter: DataFormatter = (data) => {
  if (data.length === 0) return '';
  if (data.length <= 32 && data.every((b) => b >= 0x20 && b < 0x7f))
    return JSON.stringify(decoder.decode(data));
  return `<${data.length} bytes>`;
};

function describeTarget(id: NodeId): string {
  if (id === LocalAppendThread) return 'AppendThread';
  if (id === LocalApplyThread) return 'ApplyThread';
  return String(id);
}

/** Conf changes as etcd prints them: `v2 l4 r1 u3` (voter, learner, remove, update). */
export function describeConfChanges(ccs: readonly ConfChangeSingle[]): string {
  const letter: Record<ConfChangeType, string> = {
    [ConfChangeType.ConfChangeAddNode]: 'v',
    [ConfChangeType.ConfChangeAddLearnerNode]: 'l',
    [ConfChangeType.ConfChangeRemoveNode]: 'r',
    [ConfChangeType.ConfChangeUpdateNode]: 'u',
  };
  return ccs.map((cc) => `${letter[cc.type] ?? '?'}${cc.nodeId}`).join(' ');
}

function describeEntryData(e: Entry, f: DataFormatter): string {
  if (e.type === EntryType.EntryNormal) return f(e.data);
  try {
    const cc =
      e.type === EntryType.EntryConfChange ? decodeConfChange(e.data) : decodeConfChangeV2(e.data);
    return describeConfChanges(asV2(cc).changes);
  } catch (err) {
    return `<undecodable: ${(err as Error).message}>`;
  }
}

export function describeEntry(e: Entry, f: DataFormatter = defaultFormatter): string {
  const type = e.type === EntryType.EntryNormal ? 'EntryNormal' : EntryType[e.type];
  const data = describeEntryData(e, f);
  return `${e.term}/${e.index} ${type}${data === '' ? '' : ` ${data}`}`;
}

export function describeEntries(
  ents: readonly Entry[],
  f: DataFormatter = defaultFormatter,
): string {
  return ents.map((e) => describeEntry(e, f)).join('\n');
}

function describeSnapshot(s: Snapshot): string {
  const m = s.metadata;
  const cs = m.confState;
  let out = `Index:${m.index} Term:${m.term} ConfState:Voters:[${cs.voters.join(' ')}]`;
  if (cs.votersOutgoing.length > 0) out += ` VotersOutgoing:[${cs.votersOutgoing.join(' ')}]`;
  if (cs.learners.length > 0) out += ` Learners:[${cs.learners.join(' ')}]`;
  if (cs.learnersNext.length > 0) out += ` LearnersNext:[${cs.learnersNext.join(' ')}]`;
  if (cs.autoLeave) out += ' AutoLeave:true';
  return out;
}

/** e.g. `1->2 MsgApp Term:1 Log:1/3 Commit:3 Entries:[1/4 EntryNormal "x"]` */
export function describeMessage(m: Message, f: DataFormatter = defaultFormatter): string {
  let s = `${describeTarget(m.from)}->${describeTarget(m.to)} ${MessageType[m.type]} Term:${m.term} Log:${m.logTerm}/${m.index}`;
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.commit !== 0) s += ` Commit:${m.commit}`;
  if (m.vote !== 0) s += ` Vote:${m.vote}`;
  // ReadIndex rounds and transfer campaigns are told apart by their context.
  if (m.context.length > 0) s += ` Context:${f(m.context)}`;
  if (m.entries.length > 0)
    s += ` Entries:[${m.entries.map((e) => describeEntry(e, f)).join(', ')}]`;
  if (m.snapshot !== null && m.snapshot.metadata.index !== 0)
    s += ` Snapshot: ${describeSnapshot(m.snapshot)}`;
  if (m.responses.length > 0) {
    s += ` Responses:[${m.responses.map((r) => `\n  ${describeMessage(r, f)}`).join('')}\n]`;
  }
  return s;
}

export function describeReady(rd: Ready, f: DataFormatter = defaultFormatter): string {
  const lines: string[] = [];
  if (rd.softState !== undefined) {
    lines.push(`Lead:${rd.softState.lead} State:State${StateType[rd.softState.raftState]}`);
  }
  if (rd.hardState !== undefined) {
    lines.push(
      `HardState Term:${rd.hardState.term} Vote:${rd.hardState.vote} Commit:${rd.hardState.commit}`,
    );
  }
  if (rd.readStates.length > 0) {
    lines.push(`ReadStates ${rd.readStates.map((r) => `${r.index}:${f(r.requestCtx)}`).join(' ')}`);
  }
  if (rd.entries.length > 0) lines.push(`Entries:\n${describeEntries(rd.entries, f)}`);
  if (rd.snapshot !== undefined) lines.push(`Snapshot ${describeSnapshot(rd.snapshot)}`);
  if (rd.committedEntries.length > 0)
    lines.push(`CommittedEntries:\n${describeEntries(rd.committedEntries, f)}`);
  if (rd.messages.length > 0)
    lines.push(`Messages:\n${rd.messages.map((m) => describeMessage(m, f)).join('\n')}`);
  if (lines.length === 0) return '<empty Ready>';
  return `Ready MustSync=${rd.mustSync}:\n${lines.join('\n')}`;
}

export { MessageType };
