/**
 * Issue 6: a ~3 kB zone file of `$GENERATE 0-65535` lines is refused on every HTTP path that
 * takes records (native import and creation, PowerDNS-compatible creation with `zone` text),
 * with a 4xx naming the limit and the line, and nothing is changed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestApi, type Tenant, type TestApi } from '../../test/helpers/api-harness.js';

const bomb = `$TTL 300\n@ SOA ns1.bomb.test. h.bomb.test. 1 3600 600 86400 300\n@ NS ns1.bomb.test.\n${'$GENERATE 0-65535 g$ A 10.0.0.1\n'.repeat(90)}`;

describe('record budget over HTTP', () => {
  let api: TestApi;
  let t: Tenant;
  before(async () => {
    api = await openTestApi('sqlite');
    t = await api.tenant('bomber');
  });
  after(async () => {
    await api.close();
  });

  test('native import and creation: 403 naming the quota and the line; the zone is unchanged', async () => {
    assert.ok(bomb.length < 3200);
    const made = await api.req('POST', '/api/v1/zones', {
      key: t.key,
      body: { name: 'bomb.test', nameservers: ['ns1.bomb.test.'] },
    });
    assert.equal(made.status, 201, made.text);
    const put = await api.req('PUT', '/api/v1/zones/bomb.test./zonefile', {
      key: t.key,
      body: bomb,
      headers: { 'content-type': 'text/dns' },
    });
    assert.equal(put.status, 403, put.text);
    assert.equal(put.json.code, 'CTL_ERR_QUOTA');
    assert.equal(put.json.field, 'zonefile');
    assert.match(
      put.json.error,
      /^zonefile line 5: \$GENERATE 0-65535: .* over the limit of 100000 records \(the account's record quota 100000/,
    );
    assert.equal((await api.req('GET', '/api/v1/zones/bomb.test.', { key: t.key })).json.version, 1);
    const create = await api.req('POST', '/api/v1/zones', {
      key: t.key,
      body: { name: 'bomb2.test', zonefile: bomb },
    });
    assert.equal(create.status, 403, create.text);
    assert.equal((await api.req('GET', '/api/v1/zones/bomb2.test.', { key: t.key })).status, 404);
  });

  test('PowerDNS-compatible creation with zone text: a 4xx naming the limit', async () => {
    const res = await api.req('POST', '/api/v1/servers/localhost/zones', {
      key: t.key,
      body: { name: 'bomb3.test.', kind: 'Native', zone: bomb, nameservers: [] },
    });
    assert.ok(res.status >= 400 && res.status < 500, res.text);
    // The tenant's first zone holds 2 records (SOA, NS): the quota less those.
    assert.match(
      res.json.error,
      /\$GENERATE 0-65535: .* over the limit of 99998 records \(the account's record quota 100000, less 2/,
    );
  });
});
