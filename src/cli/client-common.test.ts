import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiClient, ApiRequestError, errorOfResponse } from './api-client.js';
import { describeRequestError, ifMatchHeader, UsageError, zonePath } from './client-common.js';
import { formatTable } from './output.js';

describe('client helpers', () => {
  test('zone paths are absolute and escaped', () => {
    assert.equal(zonePath('example.com'), '/api/v1/zones/example.com.');
    assert.equal(zonePath('0/26.2.0.192.in-addr.arpa.'), '/api/v1/zones/0%2F26.2.0.192.in-addr.arpa.');
  });

  test('--if-match becomes a quoted entity tag', () => {
    assert.deepEqual(ifMatchHeader('7'), { 'if-match': '"7"' });
    assert.deepEqual(ifMatchHeader(undefined), {});
    assert.throws(() => ifMatchHeader('x'), UsageError);
  });

  test('error bodies keep the message, code and field', () => {
    const e = errorOfResponse(422, { error: 'bad TTL', code: 'CTL_ERR_VALIDATION', field: 'changes[0].ttl' });
    assert.equal(e.message, 'bad TTL');
    assert.equal(e.code, 'CTL_ERR_VALIDATION');
    assert.equal(e.field, 'changes[0].ttl');
    assert.equal(describeRequestError(e), 'bad TTL (field: changes[0].ttl) [HTTP 422 CTL_ERR_VALIDATION]');
    assert.equal(
      errorOfResponse(502, '<html>bad gateway</html>').message,
      'HTTP 502: <html>bad gateway</html>',
    );
  });

  test('ApiClient sends the key, decodes JSON and throws ApiRequestError on errors', async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const fake = (async (url: string, init: RequestInit) => {
      seen.push({ url, init });
      if (url.includes('missing'))
        return new Response(JSON.stringify({ error: 'zone not found', code: 'CTL_ERR_NOT_FOUND' }), {
          status: 404,
          headers: { 'content-type': 'application/json' },
        });
      return new Response(JSON.stringify({ items: [1], next: url.includes('cursor') ? undefined : 'c2' }), {
        status: 200,
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
    }) as unknown as typeof fetch;
    const api = new ApiClient('http://h:1/', 'sb_key', fake);
    assert.deepEqual(await api.listAll('/api/v1/zones', { accountId: undefined }), [1, 1]);
    assert.equal(seen.length, 2);
    assert.equal((seen[0].init.headers as Record<string, string>)['x-api-key'], 'sb_key');
    assert.match(seen[1].url, /cursor=c2/);
    await assert.rejects(api.request('GET', '/api/v1/zones/missing.'), (e: unknown) => {
      assert.ok(e instanceof ApiRequestError);
      assert.equal(e.status, 404);
      assert.equal(e.code, 'CTL_ERR_NOT_FOUND');
      return true;
    });
  });

  test('an unreachable server is a CLI_ERR_NETWORK error', async () => {
    const fake = (async () => {
      throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    }) as unknown as typeof fetch;
    await assert.rejects(
      new ApiClient('http://h:1', undefined, fake).request('GET', '/x'),
      /cannot reach http:\/\/h:1: ECONNREFUSED/,
    );
  });

  test('tables align their columns', () => {
    assert.equal(
      formatTable(
        ['A', 'LONG'],
        [
          ['xx', 'y'],
          ['z', 'w'],
        ],
      ),
      'A   LONG\nxx  y\nz   w\n',
    );
  });
});
