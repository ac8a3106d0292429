// CI smoke test of the README's main command on a clean clone: `pnpm start` brings up the
// local 3-node cluster, a put on one node is read back from another, Ctrl+C (SIGINT) stops it
// and the command exits 0.
// Run right after `pnpm install`, before anything else generates or builds: a fresh machine
// gets exactly that. Plain Node (no tsx, no curl); every wait is bounded.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'tsraft-start-smoke-'));
const child = spawn('npx', ['-y', 'pnpm@10', 'start', '--fresh', '--dir', dir], {
  detached: true, // its own process group: SIGINT reaches pnpm, node and the three servers
  stdio: ['ignore', 'pipe', 'pipe'],
});
let output = '';
child.stdout.on('data', (b) => (output += b));
child.stderr.on('data', (b) => (output += b));
let exit = null;
const exited = new Promise((resolve) =>
  child.on('exit', (code, signal) => {
    exit = { code, signal };
    resolve(exit);
  }),
);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function request(url, init) {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: String(err) };
  }
}

async function main() {
  const deadline = Date.now() + 90_000;
  let put;
  do {
    await sleep(500);
    if (exit !== null) throw new Error(`pnpm start exited early: ${JSON.stringify(exit)}`);
    put = await request('http://127.0.0.1:2379/v1/kv/smoke', {
      method: 'PUT',
      body: JSON.stringify({ value: 'ok' }),
    });
  } while (put.status !== 200 && Date.now() < deadline);
  if (put.status !== 200) throw new Error(`no put within 90 s: ${put.status} ${put.body}`);
  const get = await request('http://127.0.0.1:12379/v1/kv/smoke');
  if (get.status !== 200 || JSON.parse(get.body).kv?.value !== 'ok') {
    throw new Error(`node 2 did not read the put back: ${get.status} ${get.body}`);
  }
}

let failure = null;
try {
  await main();
} catch (err) {
  failure = err;
}
/** Signals the whole process group; it may be gone already. */
function signal(sig) {
  try {
    process.kill(-child.pid, sig);
  } catch (err) {
    if (err.code !== 'ESRCH') throw err;
  }
}

signal('SIGINT');
const stop = await Promise.race([exited, sleep(30_000).then(() => null)]);
if (stop === null) {
  signal('SIGKILL');
  failure ??= new Error('the cluster did not stop within 30 s of SIGINT');
} else if (stop.code !== 0) {
  failure ??= new Error(`Ctrl+C: exit ${JSON.stringify(stop)}, not 0`);
}
rmSync(dir, { recursive: true, force: true });
if (failure !== null) {
  process.stderr.write(`${output}\nsmoke test of \`pnpm start\` failed: ${failure.message}\n`);
  process.exit(1);
}
console.log('smoke test of `pnpm start`: a put on node 1 was read back from node 2; stopped');
