// Each node publishes its own client and peer URLs into the replicated member records (as
// etcd publishes its member attributes), so any node can tell clients where the leader is.
// Retries until it succeeds or the signal aborts.
import type { Logger } from 'pino';
import type { Consensus } from './consensus.js';
import { encodeCommand } from './kv/command.js';
import type { MemberRecord } from './kv/records.js';

export async function publishSelf(
  consensus: Consensus,
  members: { member(id: number): MemberRecord | undefined },
  self: { id: number; clientUrl: string; peerUrl: string },
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  let delay = 200;
  while (!signal.aborted) {
    const rec = members.member(self.id);
    if (rec !== undefined && rec.clientUrl === self.clientUrl && rec.peerUrl === self.peerUrl) {
      return;
    }
    const isMember = consensus.members().some((m) => m.id === self.id);
    if (isMember && consensus.status().leader !== 0) {
      try {
        // Not tied to `signal`: stopping the node rejects the proposal anyway.
        await consensus.propose(
          encodeCommand({ op: 'setMember', ...self }),
          AbortSignal.timeout(5000),
        );
        logger.debug({ clientUrl: self.clientUrl }, 'published member attributes');
        continue;
      } catch (err) {
        if (signal.aborted) return;
        logger.debug({ err: (err as Error).message }, 'publishing member attributes: retrying');
      }
    }
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, delay);
      signal.addEventListener('abort', done, { once: true });
    });
    delay = Math.min(2000, delay * 2);
  }
}
