// Concurrent clients over a few keys, every call through the recorder: puts of unique values,
// linearizable gets, deletes and compare-and-swaps, each to a random running node (followers
// forward). Bounded by a deadline and a per-client operation count.
import { KvClient, KvHttpError } from '@tsraft/kv-server';
import type { HistoryRecorder } from '@tsraft/testkit';

export interface WorkloadOptions {
  clients: number;
  keys: number;
  /** Client URLs of the nodes that are up right now. */
  endpoints: () => string[];
  deadline: number;
  maxOpsPerClient: number;
  requestTimeoutMs: number;
  random: () => number;
}

export async function runClients(rec: HistoryRecorder, o: WorkloadOptions): Promise<void> {
  const clients = new Map<string, KvClient>();
  const clientFor = (url: string) => {
    let c = clients.get(url);
    if (c === undefined) {
      c = new KvClient(url);
      clients.set(url, c);
    }
    return c;
  };
  const lastSeen = new Map<string, string | null>();
  await Promise.all(
    Array.from({ length: o.clients }, async (_, i) => {
      const client = i + 1;
      for (let n = 0; n < o.maxOpsPerClient && Date.now() < o.deadline; n++) {
        const urls = o.endpoints();
        if (urls.length === 0) {
          await sleep(50);
          continue;
        }
        const kv = clientFor(urls[Math.floor(o.random() * urls.length)]!);
        const key = `k${Math.floor(o.random() * o.keys)}`;
        const opts = { timeoutMs: o.requestTimeoutMs };
        const r = o.random();
        try {
          if (r < 0.45) {
            const v = await rec.get(
              client,
              key,
              async () => (await kv.get(key, 'linearizable', opts))?.value ?? null,
            );
            lastSeen.set(key, v);
          } else if (r < 0.8) {
            const value = `c${client}-${n}`;
            await rec.put(client, key, value, () => kv.put(key, value, opts));
          } else if (r < 0.9) {
            const value = `c${client}-${n}`;
            const expect = lastSeen.get(key) ?? null;
            const body =
              expect === null ? { value, expectRevision: 0 } : { value, expectValue: expect };
            await rec.cas(client, key, expect, value, () => compareAndSwap(kv, key, body, opts));
          } else {
            await rec.delete(client, key, () => kv.delete(key, opts));
          }
        } catch {
          // Recorded as failed or unknown; a short pause so a dead node is not hammered.
          await sleep(20 + o.random() * 80);
        }
      }
    }),
  );
}

/** true: swapped; false: the compare failed (409 compare_failed), nothing changed. */
async function compareAndSwap(
  kv: KvClient,
  key: string,
  body: Parameters<KvClient['cas']>[1],
  opts: { timeoutMs: number },
): Promise<boolean> {
  try {
    return (await kv.cas(key, body, opts)).succeeded;
  } catch (err) {
    if (err instanceof KvHttpError && err.code === 'compare_failed') return false;
    throw err;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
