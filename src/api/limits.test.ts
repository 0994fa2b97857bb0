/**
 * The limits of the shared API (docs/API.md, "Limits"), through real requests against the
 * Fastify app (`inject`), with an injected clock: nothing here waits or times anything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestApi, type TestApi } from '../../test/helpers/api-harness.js';
import { BucketMap } from './buckets.js';
import { parseProxyRange, sourceKey, trustedProxyFunction } from './limits.js';

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

describe('BucketMap', () => {
  it('refills at its rate up to the burst, and says how long to wait', () => {
    const c = manualClock();
    const b = new BucketMap({ rate: 2, burst: 3 }, { maxEntries: 10, now: c.now });
    for (let i = 0; i < 3; i++) assert.equal(b.take('k').ok, true);
    const r = b.take('k');
    assert.equal(r.ok, false);
    assert.equal(r.ok === false && r.retryAfterMs, 500);
    c.advance(500);
    assert.equal(b.take('k').ok, true);
    c.advance(60_000);
    assert.equal(b.level('k'), 3);
  });

  it('stays bounded under random keys, dropping full and least recently used buckets', () => {
    const c = manualClock();
    const b = new BucketMap({ rate: 1, burst: 5 }, { maxEntries: 100, now: c.now });
    for (let i = 0; i < 10_000; i++) b.take(`random-${i}-${Math.random()}`);
    assert.ok(b.size <= 100, `size ${b.size}`);
    // A bucket used recently survives the churn of others.
    for (let i = 0; i < 5; i++) b.take('victim');
    for (let i = 0; i < 50; i++) b.take(`more-${i}`);
    assert.equal(b.take('victim').ok, false);
  });
});

describe('sourceKey and trusted proxies', () => {
  it('limits IPv6 by /64 and IPv4 by address', () => {
    assert.equal(sourceKey('192.0.2.7'), '192.0.2.7');
    assert.equal(sourceKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(sourceKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(sourceKey('2001:db8:1:2::ffff'), '2001:db8:1:2::/64');
    assert.equal(sourceKey('2001:db8::1'), '2001:db8:0:0::/64');
  });

  it('one parser reads every trusted-proxy entry (the API and `start --trusted-proxy`)', () => {
    assert.deepEqual(parseProxyRange(' 10.0.0.0/8 '), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    assert.deepEqual(parseProxyRange('192.0.2.1'), { address: '192.0.2.1', prefix: 32, family: 'ipv4' });
    assert.deepEqual(parseProxyRange('2001:db8::/32'), { address: '2001:db8::', prefix: 32, family: 'ipv6' });
    assert.deepEqual(parseProxyRange('::1'), { address: '::1', prefix: 128, family: 'ipv6' });
    for (const bad of [
      'proxy.example',
      '10.0.0.0/33',
      '::/129',
      '10.0.0.0/',
      '/8',
      '10.0.0.0/8/8',
      '10.0.0.0/-1',
      '10.0.0.0/0x8',
      '',
    ])
      assert.equal(parseProxyRange(bad), undefined, bad);
  });

  it('refuses a bad proxy entry with its text', () => {
    assert.throws(() => trustedProxyFunction(['10.0.0.0/33']), /10\.0\.0\.0\/33/);
    assert.throws(() => trustedProxyFunction(['proxy.example']), /proxy\.example/);
    const f = trustedProxyFunction(['10.0.0.0/8', '::1']);
    assert.ok(f);
    assert.equal(f('10.1.2.3'), true);
    assert.equal(f('::ffff:10.1.2.3'), true);
    assert.equal(f('::1'), true);
    assert.equal(f('192.0.2.1'), false);
  });
});

describe('API limits', () => {
  const clock = manualClock();
  let api: TestApi;
  before(async () => {
    api = await openTestApi('sqlite', {
      clock: clock.now,
      limits: {
        tokenRate: 1,
        tokenBurst: 5,
        accountRate: 1,
        accountBurst: 8,
        zonesPerHour: 3,
        failedKeys: 3,
        failedKeysPerMinute: 1,
        heavyConcurrency: 1,
        trustedProxies: ['10.9.0.0/16'],
      },
    });
  });
  after(async () => api?.close());

  it('limits each token, and the account across all its tokens (minting tokens does not help)', async () => {
    const t = await api.tenant('rate');
    for (let i = 0; i < 5; i++)
      assert.equal((await api.req('GET', '/api/v1/zones', { key: t.key })).status, 200);
    const r = await api.req('GET', '/api/v1/zones', { key: t.key });
    assert.equal(r.status, 429);
    assert.equal(r.json.code, 'API_ERR_RATE_LIMITED');
    assert.equal(r.json.limit, 'token-rate');
    assert.equal(r.headers['retry-after'], '1');
    // The read token has its own bucket, but the account's holds 8: 3 more, then account-rate.
    for (let i = 0; i < 3; i++)
      assert.equal((await api.req('GET', '/api/v1/zones', { key: t.readKey })).status, 200);
    const a = await api.req('GET', '/api/v1/zones', { key: t.readKey });
    assert.equal(a.status, 429);
    assert.equal(a.json.limit, 'account-rate');
    // A fresh token of the same account is refused too.
    const minted = await api.req('POST', '/api/v1/tokens', {
      body: { name: 'another', accountId: t.accountId, scope: { access: 'read' } },
    });
    assert.equal(minted.status, 201);
    const m = await api.req('GET', '/api/v1/zones', { key: minted.json.secret });
    assert.equal(m.status, 429);
    assert.equal(m.json.limit, 'account-rate');
    // Administrators are not limited.
    for (let i = 0; i < 20; i++) assert.equal((await api.req('GET', '/api/v1/zones')).status, 200);
    // Time refills the buckets.
    clock.advance(10_000);
    assert.equal((await api.req('GET', '/api/v1/zones', { key: t.key })).status, 200);
  });

  it('caps zones created per account per hour; failed creations do not count', async () => {
    clock.advance(3_600_000);
    const t = await api.tenant('creator');
    const create = (name: string) =>
      api.req('POST', '/api/v1/zones', { key: t.key, body: { name, nameservers: ['ns1.example.net'] } });
    assert.equal((await create('bad name!')).status, 400);
    for (let i = 0; i < 3; i++) {
      clock.advance(2_000);
      assert.equal((await create(`cap${i}.test`)).status, 201);
    }
    clock.advance(2_000);
    const r = await create('cap3.test');
    assert.equal(r.status, 429);
    assert.equal(r.json.limit, 'zones-per-hour');
    assert.ok(Number(r.headers['retry-after']) > 1000, String(r.headers['retry-after']));
    assert.equal((await api.req('GET', '/api/v1/zones/cap3.test')).status, 404);
    // The PowerDNS-compatible route counts against the same cap.
    const p = await api.req('POST', '/api/v1/servers/localhost/zones', {
      key: t.key,
      body: { name: 'cap4.test.', kind: 'Native', nameservers: ['ns1.example.net.'] },
    });
    assert.equal(p.status, 429);
    clock.advance(1_200_000);
    clock.advance(2_000);
    assert.equal((await create('cap3.test')).status, 201);
  });

  it('refuses failed keys per source address before checking the key; a trusted proxy passes the client on', async () => {
    clock.advance(3_600_000);
    const from = (remoteAddress: string, key: string, xff?: string) =>
      api.req('GET', '/api/v1/zones', {
        key,
        remoteAddress,
        ...(xff ? { headers: { 'x-forwarded-for': xff } } : {}),
      });
    for (let i = 0; i < 3; i++) assert.equal((await from('192.0.2.50', `wrong-${i}`)).status, 401);
    const locked = await from('192.0.2.50', 'wrong-again');
    assert.equal(locked.status, 429);
    assert.equal(locked.json.limit, 'failed-keys');
    assert.equal(locked.headers['retry-after'], '60');
    // Even the right key is refused from there: the key is not looked at.
    assert.equal((await from('192.0.2.50', api.admin)).status, 429);
    // Another address is not affected.
    assert.equal((await from('192.0.2.51', api.admin)).status, 200);
    // Behind a trusted proxy, each client has its own bucket...
    for (let i = 0; i < 3; i++) assert.equal((await from('10.9.0.1', 'wrong', '198.51.100.1')).status, 401);
    assert.equal((await from('10.9.0.1', 'wrong', '198.51.100.1')).status, 429);
    assert.equal((await from('10.9.0.1', api.admin, '198.51.100.2')).status, 200);
    // ...while X-Forwarded-For from an untrusted peer is ignored (it cannot dodge the limit).
    assert.equal((await from('192.0.2.50', api.admin, '198.51.100.3')).status, 429);
    // And the audit sees the client, not the proxy.
    clock.advance(60_000);
    const t = await api.tenant('behind-proxy');
    const z = await api.req('POST', '/api/v1/zones', {
      key: t.key,
      remoteAddress: '10.9.0.1',
      headers: { 'x-forwarded-for': '198.51.100.9' },
      body: { name: 'proxied.test', nameservers: ['ns1.example.net'] },
    });
    assert.equal(z.status, 201);
    const v = await api.req('GET', '/api/v1/zones/proxied.test/versions');
    assert.equal(v.json.items[0].remote, '198.51.100.9');
  });

  it('keeps its maps bounded under wrong keys from random addresses', async () => {
    const small = await openTestApi('sqlite', {
      clock: clock.now,
      limits: { failedKeys: 1, failedKeysPerMinute: 1, maxBuckets: 50 },
    });
    try {
      for (let i = 0; i < 400; i++) {
        const addr = `198.18.${(i >> 8) & 255}.${i & 255}`;
        const r = await small.req('GET', '/api/v1/zones', { key: `wrong-${i}`, remoteAddress: addr });
        assert.equal(r.status, 401);
      }
      assert.ok(small.app.limiter.sizes.sources <= 50, JSON.stringify(small.app.limiter.sizes));
      // Random IPv6 addresses of one /64 share one bucket: the second is already refused.
      assert.equal(
        (await small.req('GET', '/api/v1/zones', { key: 'x', remoteAddress: '2001:db8:5:6::1' })).status,
        401,
      );
      assert.equal(
        (await small.req('GET', '/api/v1/zones', { key: 'y', remoteAddress: '2001:db8:5:6:ffff::9' })).status,
        429,
      );
      // Idle buckets go by themselves once they have refilled.
      clock.advance(3_600_000);
      await small.req('GET', '/api/v1/zones', { key: 'z', remoteAddress: '203.0.113.1' });
      await small.req('GET', '/api/v1/zones', { key: 'z', remoteAddress: '203.0.113.2' });
      assert.ok(small.app.limiter.sizes.sources < 50, JSON.stringify(small.app.limiter.sizes));
    } finally {
      await small.close();
    }
  });

  it('limits concurrent heavy requests per account and frees the slot when they end', async () => {
    clock.advance(3_600_000);
    const t = await api.tenant('heavy');
    const zonefile = (n: number) =>
      `$ORIGIN heavy.test.\n@ 3600 IN SOA ns1.example.net. h.example.net. ${n} 3600 600 86400 300\n@ 3600 IN NS ns1.example.net.\nwww 300 IN A 192.0.2.${n}\n`;
    assert.equal(
      (
        await api.req('POST', '/api/v1/zones', {
          key: t.key,
          body: { name: 'heavy.test', zonefile: zonefile(1) },
        })
      ).status,
      201,
    );
    const put = (n: number) =>
      api.app.inject({
        method: 'PUT',
        url: '/api/v1/zones/heavy.test/zonefile',
        headers: { 'x-api-key': t.key, 'content-type': 'text/dns' },
        payload: zonefile(n),
      });
    // Two imports at once: one runs, the other is refused with 429 (both from one account).
    const [a, b] = await Promise.all([put(2), put(3)]);
    const statuses = [a.statusCode, b.statusCode].sort();
    assert.deepEqual(statuses, [200, 429]);
    const refused = a.statusCode === 429 ? a : b;
    assert.equal(JSON.parse(refused.body).limit, 'heavy-concurrency');
    assert.equal(refused.headers['retry-after'], '1');
    // The slot is free again once the first has answered.
    clock.advance(10_000);
    assert.equal((await put(4)).statusCode, 200);
    // A failing heavy request frees its slot too.
    clock.advance(10_000);
    const bad = await api.app.inject({
      method: 'PUT',
      url: '/api/v1/zones/heavy.test/zonefile',
      headers: { 'x-api-key': t.key, 'content-type': 'text/dns' },
      payload: 'www 300 IN A not-an-address\n',
    });
    assert.equal(bad.statusCode, 422);
    clock.advance(10_000);
    assert.equal((await put(5)).statusCode, 200);
  });
});
