// Committed entries as RaftNode hands them to the state machine and to readers of the log:
// the proposer's bytes with RaftNode's envelope taken off, conf changes decoded.
import {
  type ConfChangeV2,
  type Entry,
  EntryType,
  asV2,
  decodeConfChange,
  decodeConfChangeV2,
} from '@tsraft/raft-core';
import { decodeEntryData } from './envelope.js';

export interface CommittedEntry {
  index: number;
  term: number;
  /**
   * 'normal': a propose() payload; 'confChange': a membership change; 'noop': an entry the
   * state machine never sees (a new leader's empty entry).
   */
  kind: 'normal' | 'confChange' | 'noop';
  /** What was proposed ('normal'), else empty. */
  data: Uint8Array;
  /** The node that proposed it, when known (0 otherwise). */
  proposer: number;
  /** The change, for 'confChange' entries. */
  confChange?: ConfChangeV2;
}

const EMPTY = new Uint8Array(0);

export function toCommittedEntry(e: Entry): CommittedEntry {
  if (e.type === EntryType.EntryNormal) {
    const env = decodeEntryData(e.data);
    if (env === null)
      return { index: e.index, term: e.term, kind: 'noop', data: EMPTY, proposer: 0 };
    return {
      index: e.index,
      term: e.term,
      kind: 'normal',
      data: env.payload,
      proposer: env.proposer,
    };
  }
  const cc = asV2(
    e.type === EntryType.EntryConfChange ? decodeConfChange(e.data) : decodeConfChangeV2(e.data),
  );
  return {
    index: e.index,
    term: e.term,
    kind: 'confChange',
    data: EMPTY,
    proposer: 0,
    confChange: cc,
  };
}
