/**
 * The fleet (issue 9's proof): one control plane (`switchboard start`) and three edges
 * (`switchboard edge --workers 1` on 127.0.0.21–23, each with its own `--transfer-key`),
 * following the real fleet catalog (`catalog.switchboard.invalid.`, docs/TRANSFERS.md "Catalog
 * zones"):
 * - a zone created through the API appears on every edge; a record changed is answered by
 *   every edge within 1 s (start NOTIFYs its edges, they pull by IXFR); a zone deleted
 *   disappears from every edge;
 * - the control plane killed (SIGKILL): the edges keep answering; an edge restarted while it is
 *   down answers from its state;
 * - the control plane back (same data folder; it remembers its edges, EDGES_FILE): a change is
 *   on every edge again within seconds, taken by IXFR.
 * @module
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callApi, type Platform, removeDataDir, startPlatform } from '../helpers/platform.js';
import { askEdge, type EdgeProcess, eventually, startEdge, startEdges } from './edge-support.js';

const ADMIN = 'sb_e2e_fleet_admin_key_0123456789abcdef';
const KEYS = ['pop1', 'pop2', 'pop3'].map(
  (pop, i) =>
    `${pop}.:hmac-sha256:${Buffer.from(`the fleet test's edge key number ${i}!`).toString('base64')}`,
);
const A = 'fleet-a.test.';
const B = 'fleet-b.test.';

function zoneFile(origin: string, www: string): string {
  return `$ORIGIN ${origin}\n@ 300 IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.1\nwww 300 IN A ${www}\n`;
}

describe('the fleet: start and three edges', () => {
  let platform: Platform | undefined;
  let edges: EdgeProcess[] = [];
  let dataDir = '';
  const startCentre = (ports?: { httpPort: number; dnsPort: number }) =>
    startPlatform({
      apiKey: ADMIN,
      workers: 1,
      ...(dataDir ? { dataDir } : {}),
      ...(ports ?? {}),
      extraArgs: KEYS.flatMap((k) => ['--transfer-key', k]),
    });
  const setWww = async (zone: string, www: string) => {
    const r = await callApi(platform!.api, ADMIN, 'PATCH', `/api/v1/zones/${zone}/rrsets`, {
      changes: [{ op: 'replace', name: `www.${zone}`, type: 'A', ttl: 300, records: [{ content: www }] }],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  /** Every edge answers `www.zone` with `want` ("0 ADDR", or "5 " for REFUSED); the slowest time. */
  const onEvery = async (what: string, zone: string, want: string, ms: number): Promise<number[]> =>
    Promise.all(
      edges.map((e, i) =>
        eventually(`${what} on edge ${i}`, async () => (await askEdge(e, `www.${zone}`)) === want, ms),
      ),
    );

  before(async () => {
    platform = await startCentre();
    dataDir = platform.dataDir;
    const made = await callApi(platform.api, ADMIN, 'POST', '/api/v1/zones', {
      name: A,
      zonefile: zoneFile(A, '192.0.2.10'),
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    edges = await startEdges(3, {
      primary: `127.0.0.1:${platform.dnsPort}`,
      keys: KEYS,
      first: 21,
      minTimers: '3600,600',
    });
  });
  after(async () => {
    for (const e of edges) await e.stop();
    await platform?.stop();
    if (dataDir) removeDataDir(dataDir);
  });

  test('a zone created appears on every edge; a change is answered by every edge within 1 s; a deleted zone goes', async (t) => {
    await onEvery('the zone served', A, '0 192.0.2.10', 30_000);
    // Every edge listed by the control plane, with where to NOTIFY it.
    await eventually('three edges listed', async () => {
      const r = await callApi(platform!.api, ADMIN, 'GET', '/api/v1/edges');
      return r.status === 200 && r.body.length === 3 && r.body.every((e: { notify?: string }) => e.notify);
    });
    await setWww(A, '192.0.2.11');
    const took = await onEvery('the change', A, '0 192.0.2.11', 5000);
    t.diagnostic(`change → answered by each edge: ${took.join(', ')} ms`);
    for (const ms of took) assert.ok(ms < 1000, `an edge took ${ms} ms`);
    const made = await callApi(platform!.api, ADMIN, 'POST', '/api/v1/zones', {
      name: B,
      zonefile: zoneFile(B, '192.0.2.20'),
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await onEvery('a new zone', B, '0 192.0.2.20', 15_000);
    assert.equal((await callApi(platform!.api, ADMIN, 'DELETE', `/api/v1/zones/${A}`)).status, 204);
    await onEvery('a deleted zone gone (REFUSED)', A, '5 ', 15_000).catch((err) =>
      assert.fail(`${(err as Error).message}\n${edges[0].stderr()}\n--- start:\n${platform!.stderr()}`),
    );
  });

  test('the control plane killed: the edges keep answering; an edge restarted meanwhile answers from its state', async () => {
    const ports = { httpPort: platform!.httpPort, dnsPort: platform!.dnsPort };
    // Let the control plane keep its edges (written every 5 s) before it dies.
    await new Promise((r) => setTimeout(r, 5500));
    await platform!.kill();
    for (let round = 0; round < 3; round++) {
      for (const [i, e] of edges.entries())
        assert.equal(await askEdge(e, `www.${B}`), '0 192.0.2.20', `edge ${i}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const first = edges[0];
    await first.stop();
    edges[0] = await startEdge({
      primary: `127.0.0.1:${ports.dnsPort}`,
      key: KEYS[0],
      host: first.host,
      port: first.port,
      state: first.state,
      pop: 'edge0',
      minTimers: '3600,600',
    });
    assert.equal(await askEdge(edges[0], `www.${B}`), '0 192.0.2.20');
    // Back, on the same folder and ports.
    platform = await startCentre(ports);
    await setWww(B, '192.0.2.21');
    const took = await onEvery('the change after the restart', B, '0 192.0.2.21', 20_000);
    for (const [i, e] of edges.entries())
      await e
        .waitForStderr(new RegExp(`zone ${B.replace(/\./g, '\\.')}: serial \\d+ → \\d+ by IXFR`), 1, 5000)
        .catch(() => assert.fail(`edge ${i} did not take the change by IXFR:\n${e.stderr()}`));
    assert.ok(
      took.every((ms) => ms < 5000),
      `after the restart: ${took.join(', ')} ms`,
    );
  });
});
