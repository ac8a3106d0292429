// raft-kv's client TLS flags, in etcd's spelling: --cert-file and --key-file (both or neither)
// make the client API listen with HTTPS; --trusted-ca-file with --client-cert-auth makes it
// require a client certificate issued by that CA (mutual TLS). The same files serve the node
// when it is itself a client of a member's client URL (--join), as etcd's own client uses them.
import type { ClientTls } from '../config.js';
import { ConfigError } from './cluster-spec.js';
import { checkTlsFiles, readPem } from './pem.js';

export interface ClientTlsFlags {
  'cert-file'?: string | undefined;
  'key-file'?: string | undefined;
  'trusted-ca-file'?: string | undefined;
  'client-cert-auth'?: boolean | undefined;
}

/** The TLS options of the client flags, or undefined when none is given (plain HTTP). */
export function parseClientTls(flags: ClientTlsFlags): ClientTls | undefined {
  const certFile = flags['cert-file'];
  const keyFile = flags['key-file'];
  const caFile = flags['trusted-ca-file'];
  const clientCertAuth = flags['client-cert-auth'] ?? false;
  if (certFile === undefined && keyFile === undefined) {
    if (caFile !== undefined)
      throw new ConfigError('--trusted-ca-file needs --cert-file and --key-file');
    if (clientCertAuth)
      throw new ConfigError('--client-cert-auth needs --cert-file and --key-file');
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) {
    const missing = certFile === undefined ? 'cert-file' : 'key-file';
    throw new ConfigError(`client TLS needs both --cert-file and --key-file; missing --${missing}`);
  }
  // Without a CA there is nothing to check a client certificate against.
  if (clientCertAuth && caFile === undefined) {
    throw new ConfigError('--client-cert-auth needs --trusted-ca-file');
  }
  const tls: ClientTls = {
    cert: readPem('cert-file', certFile),
    key: readPem('key-file', keyFile),
    clientCertAuth,
  };
  if (caFile !== undefined) tls.ca = readPem('trusted-ca-file', caFile);
  checkTlsFiles('client TLS', tls);
  return tls;
}
