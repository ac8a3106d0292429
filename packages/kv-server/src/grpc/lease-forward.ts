// A follower's way to the leader's lease deadlines: etcd forwards LeaseKeepAlive and
// LeaseTimeToLive to the leader, since only the leader knows when a lease expires. Here the
// follower calls the leader's own Lease service on its client URL (from the member records).
import {
  type Client,
  type ClientDuplexStream,
  credentials,
  makeGenericClientConstructor,
} from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { GrpcContext } from './context.js';
import { EtcdError, Errors } from './errors.js';
import { etcdServices } from './proto.js';
import type { Msg } from './unary.js';

type LeaseClient = Client & {
  LeaseKeepAlive(opts: { deadline: number }): ClientDuplexStream<Msg, Msg>;
  LeaseTimeToLive(
    req: Msg,
    opts: { deadline: number },
    cb: (e: Error | null, r: Msg) => void,
  ): void;
};

export class LeaseForwarder {
  /** One client per leader address. */
  private readonly clients = new Map<string, LeaseClient>();

  constructor(private readonly ctx: GrpcContext) {}

  /** The leader's answer to a keepalive of lease `id`: its TTL (0: not found or expired). */
  async keepAlive(id: number): Promise<number> {
    const client = this.leader();
    const call = client.LeaseKeepAlive({ deadline: this.deadline() });
    call.on('error', () => {}); // the cancel below ends it with one
    try {
      const res = await new Promise<Msg>((resolve, reject) => {
        call.once('data', resolve);
        call.once('error', reject);
        call.once('end', () => reject(Errors.noLeader()));
        call.write({ ID: id });
      });
      return Number(res.TTL ?? 0);
    } finally {
      call.cancel();
    }
  }

  /** The leader's LeaseTimeToLive answer. */
  timeToLive(req: Msg): Promise<Msg> {
    const client = this.leader();
    return new Promise((resolve, reject) =>
      client.LeaseTimeToLive(req, { deadline: this.deadline() }, (err, res) =>
        err === null ? resolve(res) : reject(err),
      ),
    );
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private deadline(): number {
    return Date.now() + this.ctx.options.requestTimeoutMs;
  }

  private leader(): LeaseClient {
    const id = this.ctx.consensus.status().leader;
    const url = id === 0 ? undefined : this.ctx.sm.member(id)?.clientUrl;
    if (url === undefined) throw Errors.noLeader();
    const u = new URL(url);
    if (u.protocol !== 'http:') {
      // Calling a TLS leader needs a client certificate and CA this member does not hold.
      throw new EtcdError(
        status.UNAVAILABLE,
        'raft-kv: lease keepalives go to the leader; this member cannot forward them over TLS, send them to the leader',
      );
    }
    let client = this.clients.get(u.host);
    if (client === undefined) {
      const Ctor = makeGenericClientConstructor(etcdServices().Lease, 'Lease');
      client = new Ctor(u.host, credentials.createInsecure()) as unknown as LeaseClient;
      this.clients.set(u.host, client);
    }
    return client;
  }
}
