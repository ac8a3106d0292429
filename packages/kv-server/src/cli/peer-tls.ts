// raft-kv's peer TLS flags, in etcd's spelling: --peer-cert-file, --peer-key-file and
// --peer-trusted-ca-file (all three or none) turn on mutual TLS between members;
// --peer-cert-allowed-cn binds member ids to certificate names. The files are read here, at
// start-up, so a missing one is a usage error (exit 2) rather than a failure at the first dial.
import type { PeerTls } from '../config.js';
import { ConfigError } from './cluster-spec.js';
import { checkTlsFiles, readPem } from './pem.js';

export interface PeerTlsFlags {
  'peer-cert-file'?: string | undefined;
  'peer-key-file'?: string | undefined;
  'peer-trusted-ca-file'?: string | undefined;
  'peer-cert-allowed-cn'?: string | undefined;
}

const FILE_FLAGS = ['peer-cert-file', 'peer-key-file', 'peer-trusted-ca-file'] as const;

/** What `{id}` in --peer-cert-allowed-cn becomes for member `id`. */
export function allowedCnFor(template: string, id: number): string {
  return template.replaceAll('{id}', String(id));
}

/** The TLS options of the --peer-* flags, or undefined when none is given. */
export function parsePeerTls(flags: PeerTlsFlags): PeerTls | undefined {
  const given = FILE_FLAGS.filter((f) => flags[f] !== undefined);
  const template = flags['peer-cert-allowed-cn'];
  if (given.length === 0) {
    if (template !== undefined) {
      throw new ConfigError(`--peer-cert-allowed-cn needs --${FILE_FLAGS.join(', --')}`);
    }
    return undefined;
  }
  if (given.length < FILE_FLAGS.length) {
    const missing = FILE_FLAGS.filter((f) => flags[f] === undefined);
    throw new ConfigError(
      `peer TLS needs all of --${FILE_FLAGS.join(', --')}; missing --${missing.join(', --')}`,
    );
  }
  const tls: PeerTls = {
    cert: readPem('peer-cert-file', flags['peer-cert-file']!),
    key: readPem('peer-key-file', flags['peer-key-file']!),
    ca: readPem('peer-trusted-ca-file', flags['peer-trusted-ca-file']!),
  };
  checkTlsFiles('peer TLS', tls);
  if (template !== undefined) {
    if (template.trim() === '') throw new ConfigError('--peer-cert-allowed-cn is empty');
    tls.nodeName = (id) => allowedCnFor(template, id);
  }
  return tls;
}
