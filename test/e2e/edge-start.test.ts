/**
 * `switchboard start` learns its edges (docs/EDGE.md "The control plane's view"): an edge with
 * its own `--transfer-key` follows a catalog zone kept in `start` (a hand-written one until
 * `start` produces the fleet catalog: `--catalog cat.test.`), announces its NOTIFY address in
 * its signed SOA checks; `start` lists it (`GET /api/v1/edges`, `switchboard edges`,
 * `/metrics` one series per edge), and NOTIFYs it on every new version, so a record changed
 * through the API is answered by the edge within a second, without waiting for the SOA refresh.
 * @module
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callApi, type Platform, runCli, startPlatform } from '../helpers/platform.js';
import { cmdlineOf, listDescendants } from '../helpers/procs.js';
import { askEdge, createZoneAndCatalog, type EdgeProcess, eventually, startEdge } from './edge-support.js';

const ADMIN = 'sb_edge_start_admin_key_0123456789abcdef';
const SECRET = Buffer.from('the-edge-key-of-the-edge-start-test!!').toString('base64');
const KEY = `fra1.:hmac-sha256:${SECRET}`;
const ZONE = 'fleet.test.';

describe('start learns its edges and NOTIFYs them', () => {
  let platform: Platform | undefined;
  let edge: EdgeProcess | undefined;

  before(async () => {
    platform = await startPlatform({ apiKey: ADMIN, workers: 1, extraArgs: ['--transfer-key', KEY] });
    await createZoneAndCatalog(platform.api, ADMIN, ZONE, '192.0.2.50', 'f1');
    edge = await startEdge({
      primary: `127.0.0.1:${platform.dnsPort}`,
      key: KEY,
      host: '127.0.0.6',
      extra: ['--catalog', 'cat.test.'],
      minTimers: '3600,600',
    });
    assert.ok(edge.startLine, edge.stderr());
    await eventually(
      'the member served',
      async () => (await askEdge(edge!, `www.${ZONE}`)) === '0 192.0.2.50',
    );
  });
  after(async () => {
    await edge?.stop();
    await platform?.stop();
  });

  test('the edge runs with V8 memory reducer off, as serve and start do (src/cli/hugetlb.ts)', () => {
    assert.ok(cmdlineOf(edge!.pid).includes('--no-memory-reducer'), cmdlineOf(edge!.pid).join(' '));
    for (const w of listDescendants(edge!.pid))
      assert.ok(cmdlineOf(w).includes('--no-memory-reducer'), cmdlineOf(w).join(' '));
  });

  test('GET /api/v1/edges and switchboard edges list the edge: POP, address, NOTIFY address, zones, lag', async () => {
    const list = await eventually('the edge listed', async () => {
      const r = await callApi(platform!.api, ADMIN, 'GET', '/api/v1/edges');
      return r.status === 200 && r.body.length === 1 && r.body[0].zones >= 1;
    });
    assert.ok(list >= 0);
    const r = await callApi(platform!.api, ADMIN, 'GET', '/api/v1/edges');
    assert.equal(r.body[0].pop, 'fra1.');
    assert.equal(r.body[0].notify, `127.0.0.6:${edge!.port}`);
    assert.equal(r.body[0].behind, 0);
    const cli = await runCli(['edges', '--server', platform!.api, '--api-key', ADMIN]);
    assert.equal(cli.code, 0, cli.err);
    assert.match(cli.out, /fra1\.\s+127\.0\.0\.1\s+127\.0\.0\.6:\d+/);
    const metrics = await fetch(`${platform!.api}/metrics`, { headers: { 'x-api-key': ADMIN } }).then((x) =>
      x.text(),
    );
    assert.match(metrics, /switchboard_edge_zones\{pop="fra1\."\} [1-9]/);
    assert.match(metrics, /switchboard_edge_zones_behind\{pop="fra1\."\} 0/);
  });

  test('a record changed through the API is answered by the edge within 1 s (NOTIFY to the edge)', async () => {
    const res = await callApi(platform!.api, ADMIN, 'PATCH', `/api/v1/zones/${ZONE}/rrsets`, {
      changes: [
        { op: 'replace', name: `www.${ZONE}`, type: 'A', ttl: 300, records: [{ content: '192.0.2.51' }] },
      ],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const ms = await eventually(
      'the change on the edge',
      async () => (await askEdge(edge!, `www.${ZONE}`)) === '0 192.0.2.51',
      5000,
    );
    assert.ok(ms < 1000, `took ${ms} ms`);
    await edge!.waitForStderr(/zone fleet\.test\.: serial \d+ → \d+ by IXFR/, 1, 5000);
  });

  test('a tenant token cannot list the edges', async () => {
    const acc = await callApi(platform!.api, ADMIN, 'POST', '/api/v1/accounts', { name: 'acme' });
    const tok = await callApi(platform!.api, ADMIN, 'POST', '/api/v1/tokens', {
      name: 'acme',
      accountId: acc.body.id,
      scope: { access: 'write' },
    });
    const r = await callApi(platform!.api, tok.body.secret, 'GET', '/api/v1/edges');
    assert.equal(r.status, 403);
  });
});
