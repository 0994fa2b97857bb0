import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { parseExposition, sampleValue } from '../../test/helpers/prometheus.js';
import { ControlError, type ControlPlane, type Principal } from '../control/types.js';
import { PrimaryMetrics } from '../telemetry/index.js';
import { buildApi } from './index.js';

const KEY = 'sb_key';
const ADMIN_KEY = 'sb_admin_key';
const principal: Principal = { tokenId: 't', accountId: 'acc', scope: { admin: false, access: 'write' } };
const admin: Principal = { tokenId: 'a', accountId: null, scope: { admin: true, access: 'write' } };

/** Just enough control plane: keys that authenticate, and zones that are never found. */
const control = {
  authenticate: async (secret: string) => (secret === KEY ? principal : secret === ADMIN_KEY ? admin : null),
  getZone: async () => {
    throw new ControlError('CTL_ERR_NOT_FOUND', 'zone not found');
  },
} as unknown as ControlPlane;

describe('GET /metrics', async () => {
  const metrics = new PrimaryMetrics({ processMetrics: false });
  const app = await buildApi(control, { metrics });
  after(() => app.close());

  test('is served without an API key, in the text format 0.0.4', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.ok(parseExposition(res.body).types.has('switchboard_dns_queries_total'));
  });

  test('requests are counted by route pattern, never by URL: no zone name leaks', async () => {
    await app.inject({ method: 'GET', url: '/api/v1/zones/tenant-secret.example.' });
    await app.inject({
      method: 'GET',
      url: '/api/v1/zones/tenant-secret.example.',
      headers: { 'x-api-key': KEY },
    });
    await app.inject({ method: 'GET', url: '/tenant-secret.example./nothing' });
    await app.inject({ method: 'GET', url: '/healthz' });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.ok(!res.body.includes('tenant-secret'), 'a zone name appears in the metrics');
    const exp = parseExposition(res.body);
    const route = '/api/v1/zones/:zone';
    assert.equal(
      sampleValue(exp, 'switchboard_http_requests_total', { method: 'GET', route, status_class: '4xx' }),
      2,
    );
    assert.equal(sampleValue(exp, 'switchboard_http_requests_total', { route: 'unmatched' }), 1);
    assert.equal(
      sampleValue(exp, 'switchboard_http_requests_total', { route: '/healthz', status_class: '2xx' }),
      1,
    );
    assert.equal(sampleValue(exp, 'switchboard_http_request_duration_seconds_count', { route }), 2);
  });

  test("with access 'key', /metrics needs an administrator key", async () => {
    const closed = await buildApi(control, { metrics, metricsAccess: 'key' });
    const get = (key?: string) =>
      closed.inject({ method: 'GET', url: '/metrics', ...(key ? { headers: { 'x-api-key': key } } : {}) });
    assert.equal((await get()).statusCode, 401);
    assert.equal((await get(KEY)).statusCode, 403);
    const ok = await get(ADMIN_KEY);
    assert.equal(ok.statusCode, 200);
    assert.ok(parseExposition(ok.body).types.has('switchboard_dns_queries_total'));
    await closed.close();
  });

  test('without metrics, there is no /metrics route', async () => {
    const plain = await buildApi(control);
    const res = await plain.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 401);
    await plain.close();
  });
});
