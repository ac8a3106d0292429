// Reading the PEM files of the TLS flags at start-up, so that a missing or malformed file is a
// usage error (exit 2) rather than a failure at the first connection.
import { readFileSync } from 'node:fs';
import { type SecureContextOptions, createSecureContext } from 'node:tls';
import { ConfigError } from './cluster-spec.js';

export function readPem(flag: string, path: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new ConfigError(`--${flag}: cannot read ${path}: ${(err as Error).message}`);
  }
  // node:tls would only fail later, at the first connection; say so now.
  if (!pem.includes('-----BEGIN ')) throw new ConfigError(`--${flag}: ${path} is not PEM`);
  return pem;
}

/** Throws a ConfigError when node:tls refuses the files: a key that does not match, a bad CA. */
export function checkTlsFiles(what: string, files: SecureContextOptions): void {
  try {
    createSecureContext(files);
  } catch (err) {
    throw new ConfigError(`${what} files: ${(err as Error).message}`);
  }
}
