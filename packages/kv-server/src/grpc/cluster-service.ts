// etcd's Cluster: MemberList, MemberAdd, MemberRemove, MemberPromote, MemberUpdate.
import { status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { isPeerAddr } from '../addr.js';
import { encodeCommand } from '../kv/command.js';
import { type GrpcContext, header } from './context.js';
import { EtcdError, toEtcdError } from './errors.js';
import { deadline, type Msg, unary } from './unary.js';

const failed = (message: string) =>
  new EtcdError(status.FAILED_PRECONDITION, `etcdserver: ${message}`);
const memberNotFound = () => new EtcdError(status.NOT_FOUND, 'etcdserver: member not found');

/** etcd's Member; a member that has not published its URLs yet has no name (etcd: unstarted). */
function members(ctx: GrpcContext): Msg[] {
  return ctx.consensus.members().map((m) => {
    const rec = ctx.sm.member(m.id);
    const peer = m.peerAddr ?? rec?.peerUrl;
    return {
      ID: m.id,
      name: rec === undefined ? '' : `node-${m.id}`,
      peerURLs: peer === undefined ? [] : [peer.includes('://') ? peer : `http://${peer}`],
      clientURLs: rec === undefined ? [] : [rec.clientUrl],
      isLearner: m.isLearner,
    };
  });
}

/** The host:port of an etcd peer URL (http://host:port; raft-kv's peers speak raft over TCP). */
function peerAddrOf(url: unknown): string {
  const addr = String(url ?? '')
    .replace(/^https?:\/\//, '')
    .replace(/\/$/, '');
  if (!isPeerAddr(addr)) {
    throw new EtcdError(
      status.INVALID_ARGUMENT,
      `raft-kv: peer URL "${String(url)}" is not http://host:port`,
    );
  }
  return addr;
}

/** The one peer URL of a MemberAdd or MemberUpdate, as host:port. */
function onePeerAddr(req: Msg): string {
  const urls: unknown[] = req.peerURLs ?? [];
  if (urls.length !== 1) {
    throw new EtcdError(status.INVALID_ARGUMENT, 'raft-kv: give exactly one peer URL');
  }
  return peerAddrOf(urls[0]);
}

function find(ctx: GrpcContext, id: number) {
  const m = ctx.consensus.members().find((x) => x.id === id);
  if (m === undefined) throw memberNotFound();
  return m;
}

export function clusterService(ctx: GrpcContext): UntypedServiceImplementation {
  return {
    MemberList: unary(ctx, () => ({ header: header(ctx), members: members(ctx) })),
    // raft-kv's member ids are small integers chosen by whoever adds a member: the next one.
    MemberAdd: unary(ctx, async (req) => {
      const signal = deadline(ctx);
      const addr = onePeerAddr(req);
      const current = ctx.consensus.members();
      if (current.some((m) => m.peerAddr === addr)) throw failed('Peer URLs already exists');
      const id = Math.max(0, ...current.map((m) => m.id)) + 1;
      const learner = req.isLearner === true;
      await ctx.consensus.addMember(id, addr, learner, signal);
      const member = {
        ID: id,
        name: '',
        peerURLs: [`http://${addr}`],
        clientURLs: [],
        isLearner: learner,
      };
      return { header: header(ctx), member, members: members(ctx) };
    }),
    MemberRemove: unary(ctx, async (req) => {
      const signal = deadline(ctx);
      const id = Number(req.ID ?? 0);
      find(ctx, id);
      const voters = ctx.consensus.members().filter((m) => !m.isLearner);
      if (voters.length === 1 && voters[0]!.id === id) {
        throw failed('re-configuration failed due to not enough started members');
      }
      await ctx.consensus.removeMember(id, signal);
      // Forget its client URL too, as the JSON API does; the member is gone either way.
      await ctx.consensus
        .propose(encodeCommand({ op: 'removeMember', id }), signal)
        .catch(() => undefined);
      return { header: header(ctx), members: members(ctx) };
    }),
    MemberPromote: unary(ctx, async (req) => {
      const signal = deadline(ctx);
      const id = Number(req.ID ?? 0);
      if (!find(ctx, id).isLearner) throw failed('can only promote a learner member');
      try {
        await ctx.consensus.promoteMember(id, signal);
      } catch (err) {
        const e = toEtcdError(err);
        if (e.code === status.FAILED_PRECONDITION) {
          throw failed('can only promote a learner member which is in sync with leader');
        }
        throw e;
      }
      return { header: header(ctx), members: members(ctx) };
    }),
    MemberUpdate: unary(ctx, async (req) => {
      const signal = deadline(ctx);
      const id = Number(req.ID ?? 0);
      find(ctx, id);
      const addr = onePeerAddr(req);
      if (ctx.consensus.members().some((m) => m.id !== id && m.peerAddr === addr)) {
        throw failed('Peer URLs already exists');
      }
      await ctx.consensus.updateMember(id, addr, signal);
      return { header: header(ctx), members: members(ctx) };
    }),
  };
}
