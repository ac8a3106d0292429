// Starts the HTTP API on 127.0.0.1 over the in-memory consensus.
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { ApiContext } from '../../src/http/context.js';
import { closeServer, createApiServer } from '../../src/http/server.js';
import { DEFAULT_LIMITS } from '../../src/http/validate.js';
import type { KvStateMachine } from '../../src/kv/state-machine.js';
import { KvMetrics } from '../../src/metrics/kv-metrics.js';
import { MemoryConsensus } from './memory-consensus.js';
import { disposeStore, openTempStore } from './temp-store.js';

export interface Harness {
  url: string;
  ctx: ApiContext;
  consensus: MemoryConsensus;
  sm: KvStateMachine;
  close(): Promise<void>;
}

export async function startApi(overrides: Partial<ApiContext['options']> = {}): Promise<Harness> {
  const sm = await openTempStore();
  const consensus = new MemoryConsensus(sm);
  const metrics = new KvMetrics();
  metrics.watchStore(sm);
  const ctx: ApiContext = {
    consensus,
    sm,
    metrics,
    logger: pino({ level: 'silent' }),
    options: {
      limits: { ...DEFAULT_LIMITS, maxKeyBytes: 64, maxValueBytes: 1024, maxBodyBytes: 4096 },
      requestTimeoutMs: 2000,
      followerWrites: 'forward',
      ...overrides,
    },
  };
  const server = createApiServer(ctx);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    ctx,
    consensus,
    sm,
    close: async () => {
      await closeServer(server, 100);
      await disposeStore(sm);
    },
  };
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies loosely
  body: any;
}

export async function call(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  init: RequestInit = {},
): Promise<JsonResponse> {
  const res = await fetch(`${url}${path}`, {
    method,
    redirect: 'manual',
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    ...init,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, body: parsed };
}
