// Node identity bound to certificates (TlsOptions.nodeName): the certificate a peer presents
// must name nodeName(id) for the node id it claims, as its subject CN or as a DNS SAN, the way
// etcd's --peer-cert-allowed-cn / --peer-cert-allowed-hostname bind peers. Without it, any
// holder of a certificate from the CA could claim any node id in the handshake.
import type { Socket } from 'node:net';
import { type PeerCertificate, TLSSocket } from 'node:tls';
import type { NodeId } from '@tsraft/raft-core';
import { TransportError, TransportErrorCode } from './errors.js';

/** The names a certificate can be bound by: its subject CN(s) and its DNS SANs. */
export interface CertificateNames {
  cn: string[];
  dns: string[];
}

export function certificateNames(cert: PeerCertificate): CertificateNames {
  // node:tls gives an array when the subject holds the attribute more than once.
  const cn = ([] as unknown[]).concat(cert.subject?.CN ?? []).filter((s) => typeof s === 'string');
  return { cn: cn as string[], dns: dnsNames(cert.subjectaltname ?? '') };
}

/**
 * The DNS names of node:tls's `subjectaltname` string ("DNS:a, IP Address:127.0.0.1, …").
 * Since Node 17.3 a value with special characters comes JSON-quoted (`DNS:"a, b"`), so a comma
 * inside a name cannot forge a second entry.
 */
export function dnsNames(subjectAltName: string): string[] {
  const names: string[] = [];
  const entry = /\s*([^:,]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:,|$)/y;
  for (let m = entry.exec(subjectAltName); m !== null; m = entry.exec(subjectAltName)) {
    if (m[1] !== 'DNS') continue;
    const value = m[2]!;
    if (!value.startsWith('"')) {
      names.push(value);
      continue;
    }
    try {
      names.push(JSON.parse(value) as string);
    } catch {
      // Not a name we can read: it cannot match either.
    }
  }
  return names;
}

/** Whether `names` carry `want`: a CN equal to it, or a DNS SAN equal to it ignoring case. */
export function namesMatch(names: CertificateNames, want: string): boolean {
  if (names.cn.includes(want)) return true;
  const lower = want.toLowerCase();
  return names.dns.some((d) => d.toLowerCase() === lower);
}

export function describeNames(names: CertificateNames): string {
  const all = [
    ...names.cn.map((n) => `CN ${JSON.stringify(n)}`),
    ...names.dns.map((n) => `DNS ${JSON.stringify(n)}`),
  ];
  return all.length === 0 ? 'no CN or DNS name' : all.join(', ');
}

/**
 * Why the certificate on `socket` may not speak for node `id`, or null when it names
 * nodeName(id). The TLS layer has already checked that it chains to the CA.
 */
export function checkPeerIdentity(
  socket: Socket,
  id: NodeId,
  nodeName: (id: NodeId) => string,
): TransportError | null {
  const mismatch = (msg: string): TransportError =>
    new TransportError(TransportErrorCode.IdentityMismatch, msg);
  let want: string;
  try {
    want = nodeName(id);
  } catch (err) {
    return mismatch(`nodeName(${id}) threw: ${(err as Error)?.message ?? String(err)}`);
  }
  const cert = socket instanceof TLSSocket ? socket.getPeerCertificate() : null;
  if (cert === null || Object.keys(cert).length === 0) {
    return mismatch(`node ${id} presented no certificate; it must name ${JSON.stringify(want)}`);
  }
  const names = certificateNames(cert);
  if (namesMatch(names, want)) return null;
  return mismatch(
    `node ${id} presented a certificate for ${describeNames(names)}; ` +
      `node ${id} must present one naming ${JSON.stringify(want)}`,
  );
}
