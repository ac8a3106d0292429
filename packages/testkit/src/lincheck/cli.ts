// tsraft-lincheck [--timeout-s N] [--html out.html] history.jsonl
// Exit 0: linearizable, 1: NOT linearizable, 2: usage error or malformed input (naming the
// line), 3: unknown (gave up: timeout or memory). The first line of stdout is the verdict.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkHistory, report } from './check.js';
import { HistoryFormatError, parseHistory } from './history.js';
import { renderHtml } from './html.js';

export const USAGE = `usage: tsraft-lincheck [--timeout-s N] [--html out.html] history.jsonl

Checks a key-value history (JSON lines, one operation each) for linearizability.
  --timeout-s N    give up after N seconds (verdict unknown, exit 3); default 300
  --html FILE      write the failing key's operations on a timeline to FILE
  -h, --help       this text
Exit status: 0 linearizable, 1 NOT linearizable, 2 bad usage or malformed input, 3 unknown.`;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

export function main(argv: string[], io: Io = defaultIo): number {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (err) {
    io.err(`tsraft-lincheck: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.values.help === true) {
    io.out(USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) {
    io.err(`tsraft-lincheck: expected one history file\n${USAGE}`);
    return 2;
  }
  const timeoutS = args.values['timeout-s'] === undefined ? 300 : Number(args.values['timeout-s']);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
    io.err('tsraft-lincheck: --timeout-s must be a positive number');
    return 2;
  }
  const file = args.positionals[0]!;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    io.err(`tsraft-lincheck: cannot read ${file}: ${(err as Error).message}`);
    return 2;
  }
  let history: ReturnType<typeof parseHistory>;
  try {
    history = parseHistory(text);
  } catch (err) {
    if (err instanceof HistoryFormatError) {
      io.err(`tsraft-lincheck: malformed history: ${file}:${err.message}`);
      return 2;
    }
    throw err;
  }
  const result = checkHistory(history, { timeoutMs: timeoutS * 1000 });
  io.out(report(result));
  if (args.values.html !== undefined) {
    if (result.verdict === 'linearizable') {
      io.out(`no timeline written: nothing failed`);
    } else {
      writeFileSync(args.values.html, renderHtml(history, result));
      io.out(`timeline written to ${args.values.html}`);
    }
  }
  return result.verdict === 'linearizable' ? 0 : result.verdict === 'not-linearizable' ? 1 : 3;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'timeout-s': { type: 'string' },
      html: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

const defaultIo: Io = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};
