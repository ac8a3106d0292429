// The child side of runInChild (child.ts): one request, one reply, then exit.
import type { ChildReply, ChildRequest } from './child.js';

let replied = false;
// The parent is gone (it failed or was interrupted): stop, rather than run a load against
// servers that were stopped with it.
process.on('disconnect', () => {
  if (!replied) process.exit(1);
});

process.once('message', async (msg) => {
  const req = msg as ChildRequest;
  let reply: ChildReply;
  try {
    const mod = (await import(req.module)) as Record<string, unknown>;
    const fn = mod[req.fn];
    if (typeof fn !== 'function') throw new Error(`${req.module} exports no function ${req.fn}`);
    reply = { ok: true, value: await (fn as (input: unknown) => unknown)(req.input) };
  } catch (err) {
    reply = { ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  replied = true;
  process.send!(reply, () => process.disconnect());
});
