// etcd's Auth as etcd answers with authentication disabled, which is all raft-kv has: status
// says disabled, disabling succeeds, and authenticating is etcd's "authentication is not
// enabled". Enabling it, and users and roles, are refused: raft-kv has none.
import { status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { type GrpcContext, header } from './context.js';
import { EtcdError } from './errors.js';
import { type Msg, type UnaryHandler as Handler, unary } from './unary.js';

/** The Auth methods for users and roles (etcd's rpc.proto). */
const USERS_AND_ROLES = [
  'UserAdd',
  'UserGet',
  'UserList',
  'UserDelete',
  'UserChangePassword',
  'UserGrantRole',
  'UserRevokeRole',
  'RoleAdd',
  'RoleGet',
  'RoleList',
  'RoleDelete',
  'RoleGrantPermission',
  'RoleRevokePermission',
];

export function authService(ctx: GrpcContext): UntypedServiceImplementation {
  const answer = (res: () => Msg): Handler => unary(ctx, res);
  const refuse = (code: status, message: string): Handler =>
    unary(ctx, () => {
      throw new EtcdError(code, message);
    });
  const impl: Record<string, Handler> = {
    AuthStatus: answer(() => ({ header: header(ctx), enabled: false, authRevision: 0 })),
    AuthDisable: answer(() => ({ header: header(ctx) })),
    Authenticate: refuse(status.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled'),
    AuthEnable: refuse(
      status.UNIMPLEMENTED,
      'raft-kv: authentication is not supported (no users or roles)',
    ),
  };
  for (const m of USERS_AND_ROLES) {
    impl[m] = refuse(status.UNIMPLEMENTED, 'raft-kv: users and roles are not supported');
  }
  return impl;
}
