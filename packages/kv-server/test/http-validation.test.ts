// Every bad request is a 4xx with a JSON error body, and changes nothing: the store's bytes
// and the number of proposals are the same afterwards.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, call, startApi } from './support/api-harness.js';
import { contentOf } from './support/temp-store.js';

let h: Harness;
beforeAll(async () => {
  h = await startApi();
  await call(h.url, 'PUT', '/v1/kv/existing', { value: 'v' });
  await call(h.url, 'POST', '/v1/members', { id: 2, peerUrl: '127.0.0.1:7002', learner: true });
});
afterAll(async () => {
  await h.close();
});

const long = (n: number) => 'x'.repeat(n);

// [method, path, body (object → JSON, string → raw), expected status]
const BAD: Array<[string, string, unknown, number]> = [
  // JSON bodies
  ['PUT', '/v1/kv/k', undefined, 400],
  ['PUT', '/v1/kv/k', '', 400],
  ['PUT', '/v1/kv/k', '{"value":', 400],
  ['PUT', '/v1/kv/k', 'value=1', 400],
  ['PUT', '/v1/kv/k', '[1]', 400],
  ['PUT', '/v1/kv/k', '"v"', 400],
  ['PUT', '/v1/kv/k', 'null', 400],
  ['PUT', '/v1/kv/k', {}, 400],
  ['PUT', '/v1/kv/k', { value: 1 }, 400],
  ['PUT', '/v1/kv/k', { value: null }, 400],
  ['PUT', '/v1/kv/k', { value: 'v', extra: 1 }, 400],
  ['PUT', '/v1/kv/k', { Value: 'v' }, 400],
  ['PUT', '/v1/kv/k', '{"value":"\\ud800"}', 400],
  ['PUT', '/v1/kv/k', { value: long(1025) }, 400],
  ['PUT', '/v1/kv/k', { value: 'é'.repeat(513) }, 400],
  ['PUT', '/v1/kv/k', long(5000), 413],
  // keys
  ['PUT', '/v1/kv/', { value: 'v' }, 405],
  ['PUT', `/v1/kv/${long(65)}`, { value: 'v' }, 400],
  ['PUT', '/v1/kv/%E0%A4%A', { value: 'v' }, 400],
  ['PUT', '/v1/kv/%ED%A0%80', { value: 'v' }, 400],
  ['GET', '/v1/kv/%zz', undefined, 400],
  ['DELETE', '/v1/kv/', undefined, 400],
  // query parameters
  ['PUT', '/v1/kv/k?bogus=1', { value: 'v' }, 400],
  ['PUT', '/v1/kv/k?prev=maybe', { value: 'v' }, 400],
  ['GET', '/v1/kv/existing?consistency=eventual', undefined, 400],
  ['GET', '/v1/kv/existing?consistency=serializable&consistency=linearizable', undefined, 400],
  ['GET', '/v1/kv?limit=0', undefined, 400],
  ['GET', '/v1/kv?limit=-1', undefined, 400],
  ['GET', '/v1/kv?limit=1.5', undefined, 400],
  ['GET', '/v1/kv?limit=10001', undefined, 400],
  ['GET', '/v1/kv?keysOnly=yes', undefined, 400],
  ['GET', `/v1/kv?prefix=${long(65)}`, undefined, 400],
  ['GET', '/v1/kv?key=existing', undefined, 400],
  // deletes
  ['DELETE', '/v1/kv', undefined, 400],
  ['DELETE', '/v1/kv?prefix=a&x=1', undefined, 400],
  ['DELETE', '/v1/kv/existing', { value: 'v' }, 400],
  ['DELETE', '/v1/kv/existing?prefix=e', undefined, 400],
  // compare-and-swap
  ['POST', '/v1/kv/existing/cas', { value: 'w' }, 400],
  ['POST', '/v1/kv/existing/cas', { expectValue: 'v' }, 400],
  ['POST', '/v1/kv/existing/cas', { expectValue: 'v', value: 'w', delete: true }, 400],
  ['POST', '/v1/kv/existing/cas', { expectValue: 'v', delete: 'yes' }, 400],
  ['POST', '/v1/kv/existing/cas', { expectValue: 'v', delete: false }, 400],
  ['POST', '/v1/kv/existing/cas', { expectRevision: -1, value: 'w' }, 400],
  ['POST', '/v1/kv/existing/cas', { expectRevision: 1.5, value: 'w' }, 400],
  ['POST', '/v1/kv/existing/cas', { expectRevision: '1', value: 'w' }, 400],
  ['POST', '/v1/kv/existing/cas', { expectValue: 1, value: 'w' }, 400],
  ['POST', '/v1/kv/existing/cas', { expectValue: 'v', value: 'w', when: 1 }, 400],
  ['POST', '/v1/kv/existing/cas?x=1', { expectValue: 'v', value: 'w' }, 400],
  ['POST', '/v1/kv/existing/cas', '{', 400],
  // a failed comparison is a 409 and changes nothing either
  ['POST', '/v1/kv/existing/cas', { expectValue: 'other', value: 'w' }, 409],
  ['POST', '/v1/kv/existing/cas', { expectRevision: 0, value: 'w' }, 409],
  ['POST', '/v1/kv/existing/cas', { expectRevision: 7, delete: true }, 409],
  // methods and routes
  ['POST', '/v1/kv/existing', { value: 'v' }, 405],
  ['PATCH', '/v1/kv/existing', { value: 'v' }, 405],
  ['PUT', '/v1/kv', { value: 'v' }, 405],
  ['GET', '/v1/nothing', undefined, 404],
  ['GET', '/', undefined, 404],
  ['POST', '/status', undefined, 405],
  ['GET', '/status?verbose=1', undefined, 400],
  ['GET', '/v1/kv/missing', undefined, 404],
  // members
  ['POST', '/v1/members', {}, 400],
  ['POST', '/v1/members', { id: 0, peerUrl: '127.0.0.1:7009' }, 400],
  ['POST', '/v1/members', { id: -3, peerUrl: '127.0.0.1:7009' }, 400],
  ['POST', '/v1/members', { id: '9', peerUrl: '127.0.0.1:7009' }, 400],
  ['POST', '/v1/members', { id: 9 }, 400],
  ['POST', '/v1/members', { id: 9, peerUrl: 'http://127.0.0.1:7009' }, 400],
  ['POST', '/v1/members', { id: 9, peerUrl: '127.0.0.1:99999' }, 400],
  ['POST', '/v1/members', { id: 9, peerUrl: '127.0.0.1:7009', learner: 'no' }, 400],
  ['POST', '/v1/members', { id: 9, peerUrl: '127.0.0.1:7009', voter: true }, 400],
  ['POST', '/v1/members', { id: 1, peerUrl: '127.0.0.1:7009' }, 409],
  ['POST', '/v1/members', { id: 2, peerUrl: '127.0.0.1:7009' }, 409],
  ['DELETE', '/v1/members/abc', undefined, 400],
  ['DELETE', '/v1/members/0', undefined, 400],
  ['DELETE', '/v1/members/01', undefined, 400],
  ['DELETE', '/v1/members/9', undefined, 404],
  ['DELETE', '/v1/members/1', undefined, 409],
  ['POST', '/v1/members/1/promote', undefined, 409],
  ['POST', '/v1/members/9/promote', undefined, 404],
  ['PUT', '/v1/members', { id: 9, peerUrl: '127.0.0.1:7009' }, 405],
  ['POST', '/v1/leader/transfer', { to: 9 }, 404],
  ['POST', '/v1/leader/transfer', { to: 2 }, 409],
  ['POST', '/v1/leader/transfer', {}, 400],
  ['GET', '/v1/leader/transfer', undefined, 405],
];

describe('bad requests', () => {
  it.each(BAD)('%s %s %j → %i, nothing changes', async (method, path, body, status) => {
    const before = await contentOf(h.sm);
    const proposals = h.consensus.proposals;
    const members = JSON.stringify(h.consensus.members());
    const r = await call(h.url, method, path, body);
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.body).toMatchObject({
      error: { code: expect.any(String), message: expect.any(String) },
    });
    expect(await contentOf(h.sm)).toEqual(before);
    expect(JSON.stringify(h.consensus.members())).toBe(members);
    // A failed CAS is proposed (the comparison runs in the state machine); nothing else is.
    if (status !== 409 || !path.endsWith('/cas')) expect(h.consensus.proposals).toBe(proposals);
  });

  it('rejects a body larger than the limit when it is streamed without a length', async () => {
    const before = await contentOf(h.sm);
    const { port } = new URL(h.url);
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(Number(port), '127.0.0.1');
      let data = '';
      s.on('data', (d) => {
        data += d.toString();
      });
      s.on('close', () => resolve(data));
      s.on('error', reject);
      s.write('PUT /v1/kv/big HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n');
      const chunk = `{"value":"${'y'.repeat(3000)}`;
      s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      setTimeout(() => s.end(), 200);
    });
    expect(reply).toMatch(/^HTTP\/1.1 413/);
    expect(reply).toMatch(/"payload_too_large"/);
    expect(await contentOf(h.sm)).toEqual(before);
  });

  it('still serves good requests afterwards', async () => {
    expect((await call(h.url, 'GET', '/v1/kv/existing')).body.kv.value).toBe('v');
    expect((await call(h.url, 'PUT', '/v1/kv/k', { value: 'fine' })).status).toBe(200);
  });
});
