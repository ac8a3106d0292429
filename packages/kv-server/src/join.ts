// --join: before a new node starts, ask a running member to add it (POST /v1/members), and
// learn the other members' raft addresses (GET /v1/members) so it can talk to them.
import type { Logger } from 'pino';
import { KvClient, type KvClientTls, KvHttpError } from './client.js';

export interface JoinRequest {
  via: string;
  id: number;
  peerUrl: string;
  learner: boolean;
  /** For an https:// `via`: the CA to trust and the certificate to present. */
  tls?: KvClientTls;
  /** Give up after this many ms of retries (default 60 s). */
  timeoutMs?: number;
}

/** Returns the cluster's raft addresses by id (this node included). */
export async function joinCluster(req: JoinRequest, logger: Logger): Promise<Map<number, string>> {
  const client = new KvClient(req.via, req.tls === undefined ? {} : { tls: req.tls });
  const deadline = Date.now() + (req.timeoutMs ?? 60_000);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        return await askToJoin(client, req, logger);
      } catch (err) {
        const retryable =
          err instanceof KvHttpError
            ? err.status >= 500 || err.code === 'membership_conflict'
            : !isCertificateError(err); // a wrong CA or name does not fix itself
        if (!retryable || Date.now() > deadline) throw err;
        logger.warn({ err: (err as Error).message, attempt }, 'join: retrying');
        await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** attempt)));
      }
    }
  } finally {
    client.close(); // its keep-alive connections
  }
}

/** One attempt: adds this node unless it is a member already, then reads the members back. */
async function askToJoin(
  client: KvClient,
  req: JoinRequest,
  logger: Logger,
): Promise<Map<number, string>> {
  const members = await client.members();
  const me = members.members.find((m) => m.id === req.id);
  if (me === undefined) {
    await client.addMember(req.id, req.peerUrl, req.learner);
    logger.info({ via: req.via, id: req.id, learner: req.learner }, 'added to the cluster');
  } else if (me.peerUrl !== null && me.peerUrl !== req.peerUrl) {
    throw new Error(
      `member ${req.id} already exists with peer address ${me.peerUrl}, not ${req.peerUrl}`,
    );
  } else {
    logger.info({ via: req.via, id: req.id }, 'already a member; rejoining');
  }
  const after = await client.members();
  const peers = new Map<number, string>();
  for (const m of after.members) if (m.peerUrl !== null) peers.set(m.id, m.peerUrl);
  peers.set(req.id, req.peerUrl);
  return peers;
}

/**
 * A certificate refused, by us (the member's: unknown CA, wrong name) or by the member (ours:
 * missing, unknown CA), as OpenSSL and Node code it; fetch wraps it in `cause`.
 */
function isCertificateError(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = e?.code ?? e?.cause?.code;
  return typeof code === 'string' && /CERT|SIGNATURE|ALTNAME|ISSUER|UNKNOWN_CA/.test(code);
}
