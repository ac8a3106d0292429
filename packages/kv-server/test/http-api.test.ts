import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, call, startApi } from './support/api-harness.js';
import { exec } from './support/temp-store.js';

let h: Harness;
beforeEach(async () => {
  h = await startApi();
});
afterEach(async () => {
  await h.close();
});

describe('HTTP API over one in-memory node', () => {
  it('puts, gets, deletes a key', async () => {
    const put = await call(h.url, 'PUT', '/v1/kv/greeting', { value: 'hello' });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({
      revision: 1,
      kv: { key: 'greeting', value: 'hello', createRevision: 1, modRevision: 1, version: 1 },
    });
    const get = await call(h.url, 'GET', '/v1/kv/greeting');
    expect(get.status).toBe(200);
    expect(get.body.kv.value).toBe('hello');
    const ser = await call(h.url, 'GET', '/v1/kv/greeting?consistency=serializable');
    expect(ser.body.kv.value).toBe('hello');
    const put2 = await call(h.url, 'PUT', '/v1/kv/greeting?prev', { value: 'bye' });
    expect(put2.body.prev.value).toBe('hello');
    const del = await call(h.url, 'DELETE', '/v1/kv/greeting');
    expect(del.body).toEqual({ revision: 3, deleted: 1 });
    const missing = await call(h.url, 'GET', '/v1/kv/greeting');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'key_not_found' }, revision: 3 });
  });

  it('takes keys with slashes and percent-encoded characters', async () => {
    await call(h.url, 'PUT', '/v1/kv/a/b/c', { value: '1' });
    await call(h.url, 'PUT', `/v1/kv/${encodeURIComponent('sp ace?#é')}`, { value: '2' });
    expect((await call(h.url, 'GET', '/v1/kv/a/b/c')).body.kv.key).toBe('a/b/c');
    expect((await call(h.url, 'GET', '/v1/kv/a%2Fb%2Fc')).body.kv.value).toBe('1');
    const r = await call(h.url, 'GET', `/v1/kv/${encodeURIComponent('sp ace?#é')}`);
    expect(r.body.kv).toMatchObject({ key: 'sp ace?#é', value: '2' });
  });

  it('ranges by prefix with limit and keysOnly, and deletes by prefix', async () => {
    for (const k of ['app/1', 'app/2', 'app/3', 'other']) {
      await call(h.url, 'PUT', `/v1/kv/${k}`, { value: k });
    }
    const all = await call(h.url, 'GET', '/v1/kv?prefix=app/');
    expect(all.body.kvs.map((kv: { key: string }) => kv.key)).toEqual(['app/1', 'app/2', 'app/3']);
    expect(all.body.more).toBe(false);
    const lim = await call(h.url, 'GET', '/v1/kv?prefix=app/&limit=2&keysOnly=true');
    expect(lim.body).toMatchObject({ more: true, kvs: [{ key: 'app/1' }, { key: 'app/2' }] });
    expect(lim.body.kvs[0].value).toBeUndefined();
    expect((await call(h.url, 'GET', '/v1/kv')).body.kvs).toHaveLength(4);
    const del = await call(h.url, 'DELETE', '/v1/kv?prefix=app/');
    expect(del.body).toEqual({ revision: 5, deleted: 3 });
    expect((await call(h.url, 'GET', '/v1/kv')).body.kvs).toHaveLength(1);
  });

  it('compare-and-swaps on revision and value', async () => {
    const create = await call(h.url, 'POST', '/v1/kv/lock/cas', { expectRevision: 0, value: 'me' });
    expect(create.status).toBe(200);
    expect(create.body).toMatchObject({ succeeded: true, revision: 1, kv: { value: 'me' } });
    const again = await call(h.url, 'POST', '/v1/kv/lock/cas', { expectRevision: 0, value: 'you' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      error: { code: 'compare_failed' },
      revision: 1,
      kv: { value: 'me', modRevision: 1 },
    });
    const swap = await call(h.url, 'POST', '/v1/kv/lock/cas', { expectValue: 'me', value: 'you' });
    expect(swap.body).toMatchObject({ succeeded: true, prev: { value: 'me' } });
    const del = await call(h.url, 'POST', '/v1/kv/lock/cas', { expectRevision: 2, delete: true });
    expect(del.body).toMatchObject({ succeeded: true, revision: 3 });
    expect((await call(h.url, 'GET', '/v1/kv/lock')).status).toBe(404);
  });

  it('lists, adds, promotes and removes members', async () => {
    const list = await call(h.url, 'GET', '/v1/members');
    expect(list.body).toEqual({
      leader: 1,
      members: [{ id: 1, role: 'voter', peerUrl: '127.0.0.1:7001', clientUrl: null }],
    });
    const add = await call(h.url, 'POST', '/v1/members', {
      id: 2,
      peerUrl: '127.0.0.1:7002',
      learner: true,
    });
    expect(add.status).toBe(201);
    expect(add.body.member).toMatchObject({ id: 2, role: 'learner' });
    const dup = await call(h.url, 'POST', '/v1/members', { id: 2, peerUrl: '127.0.0.1:7002' });
    expect(dup.status).toBe(409);
    const promote = await call(h.url, 'POST', '/v1/members/2/promote');
    expect(promote.body.member.role).toBe('voter');
    expect((await call(h.url, 'POST', '/v1/members/2/promote')).status).toBe(409);
    const rm = await call(h.url, 'DELETE', '/v1/members/2');
    expect(rm.status).toBe(200);
    expect(rm.body.members).toHaveLength(1);
    expect((await call(h.url, 'DELETE', '/v1/members/2')).status).toBe(404);
    expect((await call(h.url, 'DELETE', '/v1/members/1')).status).toBe(409);
  });

  it('serves /status, /health and /metrics', async () => {
    await call(h.url, 'PUT', '/v1/kv/a', { value: 'b' });
    const status = await call(h.url, 'GET', '/status');
    expect(status.body).toMatchObject({
      id: 1,
      role: 'leader',
      leader: 1,
      term: 1,
      commit: 1,
      applied: 1,
      revision: 1,
      keys: 1,
    });
    expect((await call(h.url, 'GET', '/health')).status).toBe(200);
    const metrics = await fetch(`${h.url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    const text = await metrics.text();
    expect(text).toMatch(/^kv_http_requests_total\{code="200",method="PUT",route="kv"\} 1$/m);
    expect(text).toMatch(/^kv_proposals_total\{outcome="applied"\} 1$/m);
    expect(text).toMatch(/^kv_keys 1$/m);
    expect(text).toMatch(/^# TYPE kv_proposal_duration_seconds histogram$/m);
    // The process, as every Prometheus client exports it.
    const rss = Number(/^process_resident_memory_bytes (\d+)$/m.exec(text)?.[1]);
    expect(rss).toBeGreaterThan(10 << 20);
    expect(rss).toBeLessThan(100 * 2 ** 30);
    expect(text).toMatch(/^# TYPE process_cpu_seconds_total counter$/m);
    expect(Number(/^process_cpu_seconds_total ([\d.]+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
    expect(Number(/^nodejs_heap_size_used_bytes (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
  });

  it('redirects writes to the leader in redirect mode', async () => {
    await h.close();
    h = await startApi({ followerWrites: 'redirect' });
    h.consensus.leader = false;
    const none = await call(h.url, 'PUT', '/v1/kv/a', { value: 'b' });
    expect(none.status).toBe(503);
    expect(none.headers.get('retry-after')).toBe('1');
    h.consensus.leader = true;
    await call(h.url, 'PUT', '/v1/kv/a', { value: 'b' });
    // The in-memory consensus reports leader 0 when not leading; pretend another node leads.
    await exec(h.sm, { op: 'setMember', id: 1, clientUrl: 'http://10.0.0.1:2379', peerUrl: 'x:1' });
    h.consensus.leader = false;
    h.consensus.status = () => ({
      ...Object.getPrototypeOf(h.consensus).status.call(h.consensus),
      leader: 1,
    });
    const r = await call(h.url, 'PUT', '/v1/kv/a?prev', { value: 'c' });
    expect(r.status).toBe(307);
    expect(r.headers.get('location')).toBe('http://10.0.0.1:2379/v1/kv/a?prev');
    expect((await call(h.url, 'GET', '/v1/kv/a')).body.kv.value).toBe('b');
  });
});
