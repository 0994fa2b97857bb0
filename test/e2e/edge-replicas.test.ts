/**
 * The edge registry shared between `start` replicas on one PostgreSQL database (docs/EDGE.md
 * "Listing"): an edge transfers from replica A only; replica B lists it too — the API
 * (`GET /api/v1/edges`), `switchboard edges` and `/metrics` of B name its POP, address, NOTIFY
 * address, zones and lag, from the summaries A writes to the store (migration 16).
 * @module
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callApi, type Platform, runCli, startPlatform } from '../helpers/platform.js';
import { postgresSkipReason, startPostgres, type TestDatabase } from '../helpers/postgres.js';
import { askEdge, createZoneAndCatalog, type EdgeProcess, eventually, startEdge } from './edge-support.js';

const ADMIN = 'sb_edge_replicas_admin_key_0123456789abcdef';
const SECRET = Buffer.from('the-edge-key-of-the-edge-replicas-test').toString('base64');
const KEY = `ams9.:hmac-sha256:${SECRET}`;
const ZONE = 'replicas.test.';

describe('two start replicas on one PostgreSQL list the same edges', { skip: postgresSkipReason() }, () => {
  let db: TestDatabase | undefined;
  let a: Platform | undefined;
  let b: Platform | undefined;
  let edge: EdgeProcess | undefined;

  before(async () => {
    db = await startPostgres();
    a = await startPlatform({
      database: db.url,
      apiKey: ADMIN,
      workers: 1,
      extraArgs: ['--transfer-key', KEY],
    });
    b = await startPlatform({
      database: db.url,
      apiKey: ADMIN,
      workers: 1,
      extraArgs: ['--transfer-key', KEY],
    });
    await createZoneAndCatalog(a.api, ADMIN, ZONE, '192.0.2.70', 'r1');
    edge = await startEdge({
      primary: `127.0.0.1:${a.dnsPort}`,
      key: KEY,
      host: '127.0.0.7',
      extra: ['--catalog', 'cat.test.'],
      minTimers: '3600,600',
    });
    await eventually(
      'the member served',
      async () => (await askEdge(edge!, `www.${ZONE}`)) === '0 192.0.2.70',
    );
  });
  after(async () => {
    await edge?.stop();
    await a?.stop();
    await b?.stop();
    await db?.stop();
  });

  test('replica B (never asked by the edge) lists it: API, CLI, /metrics', async () => {
    await eventually(
      'the edge listed by B',
      async () => {
        const r = await callApi(b!.api, ADMIN, 'GET', '/api/v1/edges');
        return r.status === 200 && r.body.length === 1 && r.body[0].zones >= 1;
      },
      15_000,
    );
    const r = await callApi(b!.api, ADMIN, 'GET', '/api/v1/edges');
    assert.equal(r.body[0].pop, 'ams9.');
    assert.deepEqual(r.body[0].addresses, ['127.0.0.1']);
    assert.equal(r.body[0].notify, `127.0.0.7:${edge!.port}`);
    assert.equal(r.body[0].behind, 0);
    const cli = await runCli(['edges', '--server', b!.api, '--api-key', ADMIN]);
    assert.equal(cli.code, 0, cli.err);
    assert.match(cli.out, /ams9\.\s+127\.0\.0\.1\s+127\.0\.0\.7:\d+/);
    const metrics = await fetch(`${b!.api}/metrics`, { headers: { 'x-api-key': ADMIN } }).then((x) =>
      x.text(),
    );
    assert.match(metrics, /switchboard_edge_zones\{pop="ams9\."\} [1-9]/);
    assert.match(metrics, /switchboard_edge_zones_behind\{pop="ams9\."\} 0/);
    assert.doesNotMatch(metrics, /switchboard_edge_[a-z_]+\{[^}]*zone=/);
  });

  test('a change made through B reaches the edge (A NOTIFYs it) and B sees the edge current again', async () => {
    const res = await callApi(b!.api, ADMIN, 'PATCH', `/api/v1/zones/${ZONE}/rrsets`, {
      changes: [
        { op: 'replace', name: `www.${ZONE}`, type: 'A', ttl: 300, records: [{ content: '192.0.2.71' }] },
      ],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await eventually(
      'the change on the edge',
      async () => (await askEdge(edge!, `www.${ZONE}`)) === '0 192.0.2.71',
      10_000,
    );
    await eventually(
      'B lists the edge at the new serial (nothing behind)',
      async () => {
        const r = await callApi(b!.api, ADMIN, 'GET', '/api/v1/edges');
        return r.status === 200 && r.body[0]?.behind === 0 && r.body[0]?.zones >= 1;
      },
      15_000,
    );
  });
});
