// A small client for the HTTP API (fetch-based): what the tests, the local-cluster script and
// users' scripts call. Errors come back as KvHttpError with the API's stable `code`.
import type { KeyValue } from './kv/store.js';

export class KvHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'KvHttpError';
  }
}

export type Consistency = 'linearizable' | 'serializable';

export interface RequestOptions {
  signal?: AbortSignal;
  /** Client-side deadline in ms (default 10 000). */
  timeoutMs?: number;
}

export class KvClient {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/$/, '');
  }

  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    opts: RequestOptions = {},
  ): Promise<T> {
    const signal = opts.signal ?? AbortSignal.timeout(opts.timeoutMs ?? 10_000);
    const init: RequestInit = { method, signal };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const res = await fetch(`${this.baseUrl}${path}`, init);
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      json = { raw: text };
    }
    if (!res.ok) {
      const err = (json.error ?? {}) as { code?: string; message?: string };
      throw new KvHttpError(
        res.status,
        err.code ?? `http_${res.status}`,
        `${method} ${path}: ${res.status} ${err.message ?? text}`,
        json,
      );
    }
    return json as T;
  }

  put(
    key: string,
    value: string,
    opts?: RequestOptions,
  ): Promise<{ revision: number; kv: KeyValue }> {
    return this.request('PUT', `/v1/kv/${encodeURIComponent(key)}`, { value }, opts);
  }

  /** The key's KeyValue, or undefined when it does not exist. */
  async get(
    key: string,
    consistency: Consistency = 'linearizable',
    opts?: RequestOptions,
  ): Promise<KeyValue | undefined> {
    const q = consistency === 'serializable' ? '?consistency=serializable' : '';
    try {
      const r = await this.request<{ kv: KeyValue }>(
        'GET',
        `/v1/kv/${encodeURIComponent(key)}${q}`,
        undefined,
        opts,
      );
      return r.kv;
    } catch (err) {
      if (err instanceof KvHttpError && err.code === 'key_not_found') return undefined;
      throw err;
    }
  }

  delete(key: string, opts?: RequestOptions): Promise<{ revision: number; deleted: number }> {
    return this.request('DELETE', `/v1/kv/${encodeURIComponent(key)}`, undefined, opts);
  }

  range(
    prefix: string,
    params: { limit?: number; consistency?: Consistency } = {},
    opts?: RequestOptions,
  ): Promise<{ revision: number; kvs: KeyValue[]; more: boolean }> {
    const q = new URLSearchParams({ prefix });
    if (params.limit !== undefined) q.set('limit', String(params.limit));
    if (params.consistency !== undefined) q.set('consistency', params.consistency);
    return this.request('GET', `/v1/kv?${q}`, undefined, opts);
  }

  cas(
    key: string,
    body: { value?: string; delete?: true; expectValue?: string; expectRevision?: number },
    opts?: RequestOptions,
  ): Promise<{ succeeded: boolean; revision: number; kv?: KeyValue }> {
    return this.request('POST', `/v1/kv/${encodeURIComponent(key)}/cas`, body, opts);
  }

  status(opts?: RequestOptions): Promise<NodeStatusView> {
    return this.request('GET', '/status', undefined, opts);
  }

  members(opts?: RequestOptions): Promise<{ leader: number; members: MemberView[] }> {
    return this.request('GET', '/v1/members', undefined, opts);
  }

  addMember(id: number, peerUrl: string, learner = false, opts?: RequestOptions) {
    return this.request('POST', '/v1/members', { id, peerUrl, learner }, opts);
  }

  promoteMember(id: number, opts?: RequestOptions) {
    return this.request('POST', `/v1/members/${id}/promote`, undefined, opts);
  }

  removeMember(id: number, opts?: RequestOptions) {
    return this.request('DELETE', `/v1/members/${id}`, undefined, opts);
  }
}

export interface MemberView {
  id: number;
  role: 'voter' | 'learner';
  peerUrl: string | null;
  clientUrl: string | null;
}

export interface NodeStatusView {
  id: number;
  role: string;
  term: number;
  vote: number;
  leader: number;
  commit: number;
  applied: number;
  snapshotIndex: number;
  firstIndex: number;
  lastIndex: number;
  revision: number;
  keys: number;
  voters: number[];
  learners: number[];
  progress: Record<string, { match: number; next: number; state: string }>;
  members: MemberView[];
}
