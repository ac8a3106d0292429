// raft-kv says "ready" only once a leader is known: before, every request would wait or fail.
import type { Logger } from 'pino';
import type { KvServer } from '../server.js';

const POLL_MS = 20;
/** After this long without a leader, say why nothing happens (once). */
const PATIENCE_MS = 10_000;

/** Resolves with the leader's id once one is known, or undefined if the server stopped. */
export async function waitForLeader(server: KvServer, logger: Logger): Promise<number | undefined> {
  const started = Date.now();
  let told = false;
  while (true) {
    let leader: number;
    try {
      leader = server.consensus.status().leader;
    } catch {
      return undefined; // stopped
    }
    if (leader !== 0) return leader;
    if (!told && Date.now() - started > PATIENCE_MS) {
      told = true;
      logger.warn(
        { waitedMs: Date.now() - started },
        'no leader yet: a majority of the members must be running and reachable',
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
