// Typed errors and the describe helpers. Errors are classes with a stable `code`; match on
// either, never on the message. describeReady / describeMessage / describeEntries render
// what raft hands out as the one-line forms the scenario tests use.
import {
  EMPTY_BYTES,
  ErrInvalidConfig,
  ErrProposalDropped,
  MemoryStorage,
  RaftError,
  RawNode,
  ReadOnlyOption,
  describeReady,
  newConfState,
} from '@tsraft/raft-core';

export function main(log: (line: string) => void = console.log): void {
  const storage = new MemoryStorage();
  storage.applySnapshot({
    data: EMPTY_BYTES,
    metadata: { index: 1, term: 1, confState: newConfState({ voters: [1, 2] }) },
  });

  // A bad Config is refused up front, naming the field.
  try {
    new RawNode({
      id: 1,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      readOnlyOption: ReadOnlyOption.LeaseBased,
    });
  } catch (err) {
    if (err instanceof ErrInvalidConfig) log(`${err.code}: ${err.message}`);
  }

  const node = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage });
  // No leader yet: the proposal cannot be appended anywhere.
  try {
    node.propose(new TextEncoder().encode('too early'));
  } catch (err) {
    if (err instanceof ErrProposalDropped) log(`${err.code}: ${err.message}`);
    else if (err instanceof RaftError) throw err;
  }

  node.campaign();
  const rd = node.ready();
  log(describeReady(rd));
  node.advance();
}

if (import.meta.url === `file://${process.argv[1]}`) main();
