// etcd's Watch: a bidirectional stream of create, cancel and progress requests; each watcher
// follows the store's history on this member from its start revision (kv/state-machine.ts
// history()), so replay and live events are one cursor: events come in revision order, none
// lost or repeated, and a client that reconnects from a revision (to this or another member,
// which applied the same log) picks up where it was.
import { once } from 'node:events';
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { type ByteString, bytesOf } from '../kv/bytes.js';
import type { KvEvent } from '../kv/history.js';
import { type ByteRange, inRange, keySpan, rangeOp, toByteRange } from '../kv/txn.js';
import { type GrpcContext, header } from './context.js';
import { kvOut } from './kv-service.js';
import { type SizedEvent, fragments } from './watch-fragment.js';
import type { Msg } from './unary.js';

type Stream = ServerDuplexStream<Msg, Msg>;
/** An event as sent: etcd's Event, sized for fragmentation by its kv and prev_kv. */
type WatchEvent = Msg & SizedEvent;

const EMPTY = Buffer.alloc(0);
/** Revisions read from the history per step of a watcher. */
const STEP_REVISIONS = 100;
/** etcd's default --experimental-watch-progress-notify-interval. */
export const PROGRESS_NOTIFY_MS = 10 * 60_000;
/** etcd's default --max-request-bytes: the size above which a response is fragmented. */
export const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

interface Watcher {
  id: number;
  range: ByteRange;
  /** The next revision to send. */
  next: number;
  prevKv: boolean;
  noPut: boolean;
  noDelete: boolean;
  progressNotify: boolean;
  /** Split responses above the request limit (etcd's fragment). */
  fragment: boolean;
  closed: boolean;
}

export interface WatchService {
  impl: UntypedServiceImplementation;
  /** Ends every watch stream (the server is stopping: clients go to another member). */
  close(): void;
}

export function watchService(ctx: GrpcContext): WatchService {
  const streams = new Set<() => void>();
  return {
    impl: { Watch: (call: Stream) => serve(ctx, call, streams) },
    close: () => {
      for (const end of [...streams]) end();
    },
  };
}

function serve(ctx: GrpcContext, call: Stream, streams: Set<() => void>): void {
  const watchers = new Map<number, Watcher>();
  let nextId = 0;
  const wake: (() => void)[] = [];
  const unsubscribe = ctx.sm.onCommit(() => {
    for (const w of wake.splice(0)) w();
  });
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    streams.delete(end);
    unsubscribe();
    clearInterval(progress);
    for (const w of watchers.values()) w.closed = true;
    watchers.clear();
    for (const w of wake.splice(0)) w();
    if (!call.writableEnded && !call.destroyed) call.end();
  };
  streams.add(end);

  const send = async (msg: Msg): Promise<void> => {
    if (ended) return;
    if (!call.write(msg)) await Promise.race([once(call, 'drain'), once(call, 'close')]);
  };

  // etcd's progress notification: the revision, to watchers that asked and are up to date.
  const progress = setInterval(() => {
    const rev = ctx.sm.revision;
    for (const w of watchers.values()) {
      if (w.progressNotify && w.next > rev) void send({ header: header(ctx, rev), watch_id: w.id });
    }
  }, ctx.watchProgressNotifyMs ?? PROGRESS_NOTIFY_MS);
  progress.unref();

  const pump = async (w: Watcher): Promise<void> => {
    while (!w.closed) {
      const rev = ctx.sm.revision;
      if (w.next > rev) {
        await new Promise<void>((r) => wake.push(r));
        continue;
      }
      const to = Math.min(rev, w.next + STEP_REVISIONS - 1);
      let events: KvEvent[];
      try {
        events = await ctx.sm.history(w.next, to, Number.POSITIVE_INFINITY);
      } catch (err) {
        if (w.closed) return;
        // Compacted past the watcher: etcd answers with the compacted revision and cancels.
        watchers.delete(w.id);
        w.closed = true;
        const compacted = (err as { reason?: string }).reason === 'compacted';
        await send({
          header: header(ctx),
          watch_id: w.id,
          canceled: true,
          compact_revision: compacted ? ctx.sm.compactRevision : 0,
          cancel_reason: compacted ? '' : String((err as Error)?.message ?? err),
        });
        return;
      }
      if (w.closed) return;
      const out: WatchEvent[] = [];
      for (const ev of events) {
        if (!inRange(w.range, bytesOf(ev.key))) continue;
        if (ev.record === null ? w.noDelete : w.noPut) continue;
        out.push(await eventOut(ctx, ev, w.prevKv));
      }
      w.next = to + 1;
      if (out.length === 0 || w.closed) continue;
      const parts = w.fragment ? fragments(out, ctx.maxRequestBytes ?? MAX_REQUEST_BYTES) : [out];
      for (const [i, events] of parts.entries()) {
        const more = i < parts.length - 1;
        await send({ header: header(ctx, to), watch_id: w.id, events, fragment: more });
      }
    }
  };

  const create = (r: Msg): void => {
    const filters: unknown[] = r.filters ?? [];
    const names = filters.map((f) => String(f).toUpperCase());
    let id = Number(r.watch_id ?? 0);
    if (id === 0 || id === -1) {
      while (watchers.has(nextId)) nextId++;
      id = nextId++;
    } else if (watchers.has(id)) {
      void send({
        header: header(ctx),
        watch_id: id,
        created: true,
        canceled: true,
        cancel_reason: 'etcdserver: duplicate watch ID',
      });
      return;
    }
    const start = Number(r.start_revision ?? 0);
    const key: Buffer = r.key ?? EMPTY;
    const w: Watcher = {
      id,
      range: toByteRange({ key, rangeEnd: r.range_end ?? EMPTY }),
      next: start > 0 ? start : ctx.sm.revision + 1,
      prevKv: r.prev_kv === true,
      noPut: names.includes('NOPUT'),
      noDelete: names.includes('NODELETE'),
      progressNotify: r.progress_notify === true,
      fragment: r.fragment === true,
      closed: false,
    };
    watchers.set(id, w);
    void send({ header: header(ctx), watch_id: id, created: true }).then(() => pump(w));
  };

  call.on('data', (req: Msg) => {
    if (req.create_request) create(req.create_request);
    else if (req.cancel_request) {
      const id = Number(req.cancel_request.watch_id ?? 0);
      const w = watchers.get(id);
      if (w === undefined) return;
      w.closed = true;
      watchers.delete(id);
      for (const r of wake.splice(0)) r(); // its pump returns; the others wait again
      void send({ header: header(ctx), watch_id: id, canceled: true });
    } else if (req.progress_request) {
      // Not tied to a watcher (etcd's -1): the revision every watcher has reached.
      void send({ header: header(ctx), watch_id: -1 });
    }
  });
  call.on('end', end);
  call.on('cancelled', end);
  call.on('close', end);
  call.on('error', end);
}

async function eventOut(ctx: GrpcContext, ev: KvEvent, withPrev: boolean): Promise<WatchEvent> {
  const kv =
    ev.record === null
      ? { key: bytesOf(ev.key), mod_revision: ev.main }
      : kvOut({ key: ev.key, ...ev.record });
  const out: WatchEvent = { type: ev.record === null ? 'Delete' : 'Put', kv };
  if (withPrev && ev.main > 1) {
    const prev = await previous(ctx, ev.key, ev.main - 1);
    if (prev !== undefined) out.prev_kv = prev;
  }
  return out;
}

/** The key at revision `rev`, if it existed and that revision is not compacted. */
async function previous(
  ctx: GrpcContext,
  key: ByteString,
  rev: number,
): Promise<ReturnType<typeof kvOut> | undefined> {
  const op = rangeOp(keySpan(bytesOf(key)), { limit: 1, revision: rev });
  try {
    const r = await ctx.sm.rangeRequest(op);
    return r.kvs[0] === undefined ? undefined : kvOut(r.kvs[0]);
  } catch {
    return undefined; // compacted meanwhile: etcd too sends no prev_kv it cannot find
  }
}
