// raft-kv's logger: pino, JSON lines (one object per line, for log shippers), or readable lines
// when the output is a terminal (pino-pretty, in process and synchronous so that nothing is
// lost at exit); the library lines routine for a server are moved to DEBUG (log-policy.ts).
import { type Logger, type LoggerOptions, type DestinationStream, pino } from 'pino';
import { LEVEL_DEBUG, LogPolicy, type LogPolicyOptions } from './log-policy.js';

export type LogFormat = 'json' | 'pretty';

export interface CliLoggerOptions extends LogPolicyOptions {
  level: string;
  format: LogFormat;
}

const LEVEL_METHODS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

export async function createCliLogger(o: CliLoggerOptions): Promise<Logger> {
  const policy = new LogPolicy(o);
  const options: LoggerOptions = {
    level: o.level,
    hooks: {
      logMethod(args, method, level) {
        const first = args[0] as unknown;
        const fields =
          typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : {};
        const msg = String(typeof first === 'string' ? first : (args[1] ?? ''));
        const to = policy.levelOf(level, this.bindings(), msg, fields);
        if (to === level) return method.apply(this, args);
        const name = LEVEL_METHODS[to] ?? 'debug';
        if (to >= LEVEL_DEBUG && this.isLevelEnabled(name)) {
          (this[name] as (...a: unknown[]) => void)(...args);
        }
      },
    },
  };
  if (o.format === 'json') return pino(options);
  const { default: pretty } = await import('pino-pretty');
  const stream: DestinationStream = pretty({
    sync: true,
    singleLine: true,
    colorize: process.stdout.isTTY === true, // escapes only where a terminal reads them
    translateTime: 'HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
  return pino(options, stream);
}
