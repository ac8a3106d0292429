// A small client for the HTTP API: what the tests, the local-cluster script and users' scripts
// call. Errors come back as KvHttpError with the API's stable `code`. Plain requests go through
// fetch; with TLS options (a private CA, a client certificate) through node:https, which
// Node 20's fetch cannot be given without the undici package.
import http from 'node:http';
import https from 'node:https';
import type { KeyValue } from './kv/apply-batch.js';

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

/** TLS for https:// URLs, PEM (as read from files). */
export interface KvClientTls {
  /** The CA the server's certificate must chain to (default: Node's bundled root CAs). */
  ca?: string | Buffer;
  /** A client certificate and its key, for servers that require one (--client-cert-auth). */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface KvClientOptions {
  tls?: KvClientTls;
}

interface RawResponse {
  status: number;
  text: string;
}

/** Redirects followed (307/308 to the leader), as fetch follows them. */
const MAX_REDIRECTS = 5;

export class KvClient {
  readonly baseUrl: string;
  /** Keeps connections (and TLS sessions) alive across requests; only with `tls`. */
  private readonly agent: https.Agent | undefined;

  constructor(baseUrl: string, options: KvClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/$/, '');
    this.agent =
      options.tls === undefined ? undefined : new https.Agent({ keepAlive: true, ...options.tls });
  }

  /** Closes the idle connections of a TLS client (a plain one has nothing to close). */
  close(): void {
    this.agent?.destroy();
  }

  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    opts: RequestOptions = {},
  ): Promise<T> {
    const signal = opts.signal ?? AbortSignal.timeout(opts.timeoutMs ?? 10_000);
    const url = `${this.baseUrl}${path}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const res =
      this.agent === undefined
        ? await viaFetch(url, method, payload, signal)
        : await viaAgent(new URL(url), method, payload, signal, this.agent);
    const text = res.text;
    let json: Record<string, unknown> = {};
    try {
      json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      json = { raw: text };
    }
    if (res.status < 200 || res.status > 299) {
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

async function viaFetch(
  url: string,
  method: string,
  payload: string | undefined,
  signal: AbortSignal,
): Promise<RawResponse> {
  const init: RequestInit = { method, signal };
  if (payload !== undefined) {
    init.body = payload;
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(url, init);
  return { status: res.status, text: await res.text() };
}

async function viaAgent(
  url: URL,
  method: string,
  payload: string | undefined,
  signal: AbortSignal,
  agent: https.Agent,
): Promise<RawResponse> {
  for (let redirects = 0; ; redirects++) {
    const res = await send(url, method, payload, signal, agent);
    if ((res.status !== 307 && res.status !== 308) || res.location === undefined) return res;
    if (redirects === MAX_REDIRECTS) return res;
    url = new URL(res.location, url); // 307/308 keep the method and the body
  }
}

function send(
  url: URL,
  method: string,
  payload: string | undefined,
  signal: AbortSignal,
  agent: https.Agent,
): Promise<RawResponse & { location?: string }> {
  const headers: http.OutgoingHttpHeaders = {};
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  const tls = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (tls ? https : http).request(
      url,
      { method, headers, signal, ...(tls ? { agent } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete) reject(new Error(`${method} ${url}: connection closed mid-response`));
        });
        res.on('end', () => {
          const out: RawResponse & { location?: string } = {
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
          };
          if (res.headers.location !== undefined) out.location = res.headers.location;
          resolve(out);
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
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
