// What apply returns per entry, and the decoding of a batch of entries into commands.
import type { CommandResult } from './apply-batch.js';
import { KvCodecError } from './bytes.js';
import { type Command, decodeCommand } from './command.js';

/** What apply returns for an entry whose data is not a command (the same on every replica). */
export interface InvalidCommandResult {
  op: 'invalid';
  error: string;
}

export type ApplyResult = CommandResult | InvalidCommandResult | undefined;

/**
 * Each entry's command, or undefined with its result already set: empty entries (a new
 * leader's no-op) carry no command; bytes that do not decode yield {op: 'invalid'}.
 */
export function decodeEntries(entries: readonly { data: Uint8Array }[]): {
  commands: (Command | undefined)[];
  results: ApplyResult[];
} {
  const commands: (Command | undefined)[] = new Array(entries.length);
  const results: ApplyResult[] = new Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const data = entries[i]!.data;
    if (data.length === 0) continue;
    try {
      commands[i] = decodeCommand(data);
    } catch (err) {
      if (!(err instanceof KvCodecError)) throw err;
      results[i] = { op: 'invalid', error: err.message };
    }
  }
  return { commands, results };
}

/** The key a command reads before it writes (none for prefix deletes and member records). */
export function keyOf(cmd: Command): string | undefined {
  return cmd.op === 'put' || cmd.op === 'delete' || cmd.op === 'cas' ? cmd.key : undefined;
}
