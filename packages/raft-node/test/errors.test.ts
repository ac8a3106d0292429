// How requests fail: each rejection is typed and says whether the request may still apply.
import { getEventListeners } from 'node:events';
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrAborted,
  ErrNodeFailed,
  ErrProposalDropped,
  ErrProposalIndeterminate,
  ErrStopped,
  ErrTransferFailed,
  outcomeOf,
} from '../src/index.js';
import { Cluster, Counter, freePorts, makeNode, op, tempDir } from './helpers.js';

let cluster: Cluster | null = null;
/** The data dirs of the nodes a test makes outside a Cluster (which removes its own). */
const dirs: string[] = [];
afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function nodeDir(): Promise<string> {
  const d = await tempDir();
  dirs.push(d);
  return d;
}

/** A 3-node cluster whose followers are stopped: the leader can append but not commit. */
async function leaderWithoutQuorum() {
  cluster = await Cluster.start(3);
  const leader = await cluster.leader();
  await leader.propose(op(1)); // committed in its term, so reads would be served
  for (const f of cluster.followers(leader.id)) await f.stop();
  return leader;
}

describe('request errors', () => {
  it('rejects before start and after stop as dropped', async () => {
    const [port] = await freePorts(1);
    const n = makeNode(1, `127.0.0.1:${port}`, await nodeDir(), {});
    await expect(n.propose(op(1))).rejects.toBeInstanceOf(ErrStopped);
    await n.start();
    await n.waitForLeader({ signal: AbortSignal.timeout(5000) }); // a single node elects itself
    expect(await n.propose(op(2))).toBe(2);
    await n.stop();
    const err = await n.propose(op(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrStopped);
    expect(outcomeOf(err)).toBe('dropped');
    await expect(n.read()).rejects.toMatchObject({ code: 'RAFT_NODE_STOPPED' });
    expect(n.leader()).toBeNull();
  });

  it('waits for a leader: a proposal without one is dropped only when its signal fires', async () => {
    // One member of a three-node cluster, alone: it never learns of a leader.
    const ports = await freePorts(3);
    const peers = {
      1: `127.0.0.1:${ports[0]}`,
      2: `127.0.0.1:${ports[1]}`,
      3: `127.0.0.1:${ports[2]}`,
    };
    const n = makeNode(1, peers[1], await nodeDir(), peers);
    await n.start();
    try {
      const err = await n
        .propose(op(1), { signal: AbortSignal.timeout(100) })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ErrAborted);
      expect(outcomeOf(err)).toBe('dropped'); // it never reached raft
      // A read waits the same way.
      const r = await n.read({ signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
      expect(r).toBeInstanceOf(ErrAborted);
      // And stop() ends the wait as dropped too.
      const p = n.propose(op(1)).catch((e: unknown) => e);
      await n.stop();
      const stopped = await p;
      expect(stopped).toBeInstanceOf(ErrStopped);
      expect(outcomeOf(stopped)).toBe('dropped');
      expect(n.metrics().proposalsSubmitted).toBe(0);
    } finally {
      await n.stop();
    }
  });

  it('drops proposals raft refuses: forwarding disabled on a follower', async () => {
    cluster = await Cluster.start(3, { disableProposalForwarding: true });
    const leader = await cluster.leader();
    const f = cluster.followers(leader.id)[0]!;
    const err = await f.propose(op(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrProposalDropped);
    expect(outcomeOf(err)).toBe('dropped');
    expect(f.metrics().proposalsDropped).toBe(1);
    expect(await leader.propose(op(1))).toBe(1);
  });

  it('an aborted signal: dropped before submission, indeterminate after', async () => {
    const leader = await leaderWithoutQuorum();
    const before = await leader.propose(op(1), { signal: AbortSignal.abort() }).catch((e) => e);
    expect(before).toBeInstanceOf(ErrAborted);
    expect(outcomeOf(before)).toBe('dropped');

    const ac = new AbortController();
    const p = leader.propose(op(1), { signal: ac.signal });
    ac.abort(new Error('client went away'));
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrAborted);
    expect(outcomeOf(err)).toBe('indeterminate'); // it is in the leader's log
    expect((err as Error).cause).toMatchObject({ message: 'client went away' });
  });

  it('requests sharing one signal hold one listener on it, and its abort fails them all', async () => {
    const leader = await leaderWithoutQuorum();
    const ac = new AbortController();
    const pending = [1, 2, 3].map((n) =>
      leader.propose(op(n), { signal: ac.signal }).catch((e: unknown) => e),
    );
    const reads = [1, 2].map(() => leader.read({ signal: ac.signal }).catch((e: unknown) => e));
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    ac.abort(new Error('deadline'));
    for (const err of await Promise.all(pending)) {
      expect(err).toBeInstanceOf(ErrAborted);
      expect(outcomeOf(err)).toBe('indeterminate');
    }
    for (const err of await Promise.all(reads)) expect(err).toBeInstanceOf(ErrAborted);
  });

  it('stop() rejects pending proposals as indeterminate and pending reads', async () => {
    const leader = await leaderWithoutQuorum();
    const p = leader.propose(op(1));
    const stopping = leader.stop();
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrStopped);
    expect(outcomeOf(err)).toBe('indeterminate');
    await stopping;
  });

  it('losing leadership before commit makes a proposal indeterminate', async () => {
    const leader = await leaderWithoutQuorum();
    // checkQuorum: without a quorum the leader steps down within an election timeout.
    const err = await leader.propose(op(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrProposalIndeterminate);
    expect(outcomeOf(err)).toBe('indeterminate');
    expect(leader.isLeader()).toBe(false);
  });

  it('a transfer to an unreachable node fails, and drops proposals meanwhile', async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    const [f1] = cluster.followers(leader.id);
    await f1!.stop();
    const transfer = leader.transferLeadership(f1!.id).catch((e: unknown) => e);
    // While raft waits for the transferee, it refuses proposals (etcd does the same). The
    // transfer was stepped synchronously by the call above.
    const dropped = await leader.propose(op(1)).catch((e: unknown) => e);
    expect(dropped).toBeInstanceOf(ErrProposalDropped);
    expect(await transfer).toBeInstanceOf(ErrTransferFailed);
    // Once raft gives up on the transfer, proposals work again.
    expect(await leader.propose(op(1))).toBe(1);
  });

  it('start() fails cleanly when the data dir is in use', async () => {
    const [p1, p2] = await freePorts(2);
    const dir = await nodeDir();
    const a = makeNode(1, `127.0.0.1:${p1}`, dir, {});
    const b = makeNode(1, `127.0.0.1:${p2}`, dir, {});
    await a.start();
    try {
      await expect(b.start()).rejects.toMatchObject({ code: 'RAFT_STORAGE_LOCKED' });
      expect(b.state).toBe('stopped');
      await b.stop();
    } finally {
      await a.stop();
    }
  });

  it('a throwing state machine fails the node', async () => {
    const [port] = await freePorts(1);
    const sm = new Counter();
    sm.apply = () => {
      throw new Error('disk full');
    };
    const n = makeNode(1, `127.0.0.1:${port}`, await nodeDir(), {}, {}, sm);
    const errors: Error[] = [];
    n.on('error', (e) => errors.push(e));
    await n.start();
    await n.waitForLeader({ signal: AbortSignal.timeout(5000) });
    const err = await n.propose(op(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrNodeFailed);
    expect((err as Error).cause).toMatchObject({ message: 'disk full' });
    await n.stop();
    expect(n.state).toBe('stopped');
    expect(errors).toHaveLength(1);
    await expect(n.propose(op(1))).rejects.toBeInstanceOf(ErrNodeFailed);
  });
});
