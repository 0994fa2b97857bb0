import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { openTestApi, type TestApi } from '../../test/helpers/api-harness.js';
import { ApiClient } from './api-client.js';
import { currentTtls } from './record-commands.js';

let api: TestApi;
let client: ApiClient;
/** The query strings of the GET requests the client sent. */
const asked: string[] = [];

before(async () => {
  api = await openTestApi('sqlite');
  const t = await api.tenant('ttl-owner');
  const lines = ['@ 3600 SOA ns1 hm 1 7200 3600 1209600 300', '@ 3600 NS ns1.example.net.'];
  for (let i = 0; i < 8; i++) lines.push(`h${i} ${100 + i} A 192.0.2.${i}`, `h${i} ${200 + i} TXT "x"`);
  const zone = await api.req('POST', '/api/v1/zones', {
    key: t.key,
    body: { name: 'ttl.test', zonefile: `${lines.join('\n')}\n` },
  });
  assert.equal(zone.status, 201, zone.text);
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = api.app.server.address() as AddressInfo;
  const observe: typeof fetch = (input, init) => {
    const url = new URL(String(input));
    if ((init?.method ?? 'GET') === 'GET') asked.push(url.search);
    return fetch(input, init);
  };
  client = new ApiClient(`http://127.0.0.1:${port}`, t.key, observe);
});

after(() => api.close());

test('record apply asks for the RRsets of the few owners it needs, not the whole zone', async () => {
  asked.length = 0;
  const ttls = await currentTtls(client, 'ttl.test', ['h1.ttl.test.', 'H1.ttl.test.', 'h2.ttl.test.']);
  assert.deepEqual(asked, ['?name=h1.ttl.test.', '?name=h2.ttl.test.']);
  assert.deepEqual([...ttls].sort(), [
    ['h1.ttl.test. A', 101],
    ['h1.ttl.test. TXT', 201],
    ['h2.ttl.test. A', 102],
    ['h2.ttl.test. TXT', 202],
  ]);
});

test('with many owners one request reads the whole zone', async () => {
  asked.length = 0;
  const owners = Array.from({ length: 6 }, (_, i) => `h${i}.ttl.test.`);
  const ttls = await currentTtls(client, 'ttl.test', owners);
  assert.deepEqual(asked, ['']);
  assert.equal(ttls.get('h5.ttl.test. TXT'), 205);
  assert.equal(ttls.get('ttl.test. NS'), 3600);
});
