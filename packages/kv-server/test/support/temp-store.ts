// On-disk KV stores in temporary directories, and small helpers to drive them in tests.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach } from 'vitest';
import type { KeyValue } from '../../src/kv/apply-batch.js';
import type { ApplyResult } from '../../src/kv/apply-result.js';
import { type Command, encodeCommand } from '../../src/kv/command.js';
import { KvStateMachine, type KvStateMachineOptions } from '../../src/kv/state-machine.js';

export function tempDir(prefix = 'kv-store-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** An opened store in a new temporary directory. */
export async function openTempStore(
  options: Partial<KvStateMachineOptions> = {},
): Promise<KvStateMachine> {
  const sm = new KvStateMachine({ dir: tempDir(), ...options });
  await sm.open();
  return sm;
}

/** Opens a temporary store; disposeAll() closes and removes those it opened or tracks. */
export interface TestStores {
  (o?: Partial<KvStateMachineOptions>): Promise<KvStateMachine>;
  /** Disposes of `sm` with the others (e.g. a store reopened on another's directory). */
  track(sm: KvStateMachine): void;
  disposeAll(): Promise<void>;
}

/**
 * Temporary stores, each closed and removed after the test that opened it (call at a test
 * file's top level: it registers the afterEach), or earlier with disposeAll().
 */
export function storesPerTest(options: Partial<KvStateMachineOptions> = {}): TestStores {
  const open: KvStateMachine[] = [];
  // The last first: a store reopened on an earlier one's directory is closed before it goes.
  const disposeAll = async () => {
    for (const sm of open.splice(0).reverse()) await disposeStore(sm);
  };
  afterEach(disposeAll);
  const openOne = async (o = options) => {
    const sm = await openTempStore(o);
    open.push(sm);
    return sm;
  };
  return Object.assign(openOne, { disposeAll, track: (sm: KvStateMachine) => open.push(sm) });
}

/** Closes the store and removes its directory. */
export async function disposeStore(sm: KvStateMachine): Promise<void> {
  await sm.close();
  removeDir(sm.options.dir);
}

/** Applies commands as one batch at the next indexes. */
export async function applyBatch(sm: KvStateMachine, cmds: Command[]): Promise<ApplyResult[]> {
  const first = sm.appliedIndex() + 1;
  return sm.apply(cmds.map((c, i) => ({ index: first + i, data: encodeCommand(c) })));
}

/** Applies one command and returns its result. */
export async function exec(sm: KvStateMachine, cmd: Command): Promise<ApplyResult> {
  return (await applyBatch(sm, [cmd]))[0];
}

/** Everything a client can observe of the store. */
export async function contentOf(sm: KvStateMachine): Promise<{
  revision: number;
  size: number;
  kvs: KeyValue[];
  members: ReturnType<KvStateMachine['memberList']>;
}> {
  const { kvs, revision } = await sm.range('');
  return { revision, size: sm.size, kvs, members: sm.memberList() };
}

/** The store's snapshot stream as one buffer. */
export async function snapshotBytes(sm: KvStateMachine): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of sm.snapshot()) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** A stream of `bytes` in chunks of `size`. */
export async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
