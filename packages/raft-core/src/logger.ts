// The logging contract raft-core needs: a subset of pino's API, so a pino logger fits as is.

export interface Logger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

const noop = (): void => {};

/** The default: raft-core says nothing unless given a logger. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
