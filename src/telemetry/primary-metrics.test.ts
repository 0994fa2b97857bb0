import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseExposition, sampleValue } from '../../test/helpers/prometheus.js';
import { DnsCounters } from './dns-counters.js';
import { blockOf, C, COUNTER_COUNT, G, GAUGE_COUNT, Q, RCODE_LABELS } from './dns-layout.js';
import { METRICS_CONTENT_TYPE, PrimaryMetrics, statusClassOf } from './primary-metrics.js';

function workerReport(queries: number, nxdomain: number, zones: number) {
  const counters = new Array<number>(COUNTER_COUNT).fill(0);
  counters[blockOf('udp') + Q.received] = queries;
  counters[blockOf('udp') + Q.rcode + RCODE_LABELS.indexOf('NXDOMAIN')] = nxdomain;
  counters[blockOf('tcp') + Q.received] = 1;
  counters[C.tcpRejected] = 2;
  counters[C.zoneUpdates] = 1;
  const gauges = new Array<number>(GAUGE_COUNT).fill(0);
  gauges[G.zonesServed] = zones;
  gauges[G.tcpOpen] = 1;
  return { counters, gauges };
}

describe('PrimaryMetrics', () => {
  test('exposes the summed DNS counters in the text format, typed', async () => {
    const m = new PrimaryMetrics({ processMetrics: false });
    m.dns.update(0, 'a', workerReport(10, 2, 3));
    m.dns.update(1, 'b', workerReport(5, 1, 3));
    m.zoneCount = () => 3;
    const { contentType, body } = await m.render();
    assert.equal(contentType, METRICS_CONTENT_TYPE);
    const exp = parseExposition(body);
    assert.equal(sampleValue(exp, 'switchboard_dns_queries_total', { transport: 'udp' }), 15);
    assert.equal(sampleValue(exp, 'switchboard_dns_queries_total', { transport: 'tcp' }), 2);
    assert.equal(
      sampleValue(exp, 'switchboard_dns_responses_total', { transport: 'udp', rcode: 'NXDOMAIN' }),
      3,
    );
    assert.equal(
      sampleValue(exp, 'switchboard_dns_responses_total', { transport: 'udp', rcode: 'REFUSED' }),
      0,
    );
    assert.equal(sampleValue(exp, 'switchboard_dns_tcp_connections_rejected_total'), 4);
    assert.equal(sampleValue(exp, 'switchboard_dns_tcp_connections_open'), 2);
    assert.equal(sampleValue(exp, 'switchboard_dns_zones_served', { worker: '1' }), 3);
    assert.equal(sampleValue(exp, 'switchboard_dns_zone_updates_total', { worker: '0' }), 1);
    assert.equal(sampleValue(exp, 'switchboard_dns_workers'), 2);
    assert.equal(sampleValue(exp, 'switchboard_zones'), 3);
    assert.equal(exp.types.get('switchboard_dns_queries_total'), 'counter');
    assert.equal(exp.types.get('switchboard_dns_tcp_connections_open'), 'gauge');
    assert.equal(exp.types.get('switchboard_zone_publish_seconds'), 'histogram');
    // Every kind of zone change is there from the start, at 0.
    for (const kind of ['create', 'change', 'import', 'rollback', 'delete'])
      assert.equal(sampleValue(exp, 'switchboard_zone_changes_total', { kind }), 0, kind);
  });

  test('counters stay monotonic across scrapes when a worker restarts', async () => {
    const m = new PrimaryMetrics({ processMetrics: false });
    const scrape = async () =>
      sampleValue(parseExposition((await m.render()).body), 'switchboard_dns_queries_total', {
        transport: 'udp',
      });
    m.dns.update(0, 'a', workerReport(100, 0, 1));
    const before = await scrape();
    m.dns.workerExited(0);
    m.countWorkerRestart();
    m.dns.update(0, 'a2', workerReport(1, 0, 1));
    const after = await scrape();
    assert.equal(before, 100);
    assert.equal(after, 101);
    const exp = parseExposition((await m.render()).body);
    assert.equal(sampleValue(exp, 'switchboard_dns_worker_restarts_total'), 1);
  });

  test("the shield's counters: decisions, shed by reason and tier, RRL, cookies, overload per worker, attacked zones by name", async () => {
    const shield = (over: number, attacked: string[]) =>
      new DnsCounters().report({
        nativeUdp: () => [{ answeredC: 10, answeredCByRcode: [10], shieldDropped: 7, rrlDroppedC: 2 }],
        shield: () => ({
          answered: 100,
          dropped: 7,
          truncated: 3,
          formerr: 1,
          badcookie: 2,
          rrlDropped: 4,
          rrlSlipped: 5,
          cookies: [50, 1, 20, 3, 40],
          shedBudget: [6, 0, 1, 0],
          shedOverload: [4, 0, 0, 0],
          wouldDrop: 0,
          wouldTruncate: 0,
          wouldBadcookie: 0,
          overload: over,
          attacked,
          top: [
            ['victim.example.', 500, 450],
            ['calm.example.', 20, 1],
          ],
        }),
      });
    const m = new PrimaryMetrics({ processMetrics: false });
    assert.equal(m.dns.update(0, 'a', shield(2, ['victim.example.'])), true);
    assert.equal(m.dns.update(1, 'b', shield(0, ['victim.example.', 'other.example.'])), true);
    const exp = parseExposition((await m.render()).body);
    assert.equal(sampleValue(exp, 'switchboard_dns_shield_decisions_total', { decision: 'dropped' }), 14);
    assert.equal(sampleValue(exp, 'switchboard_dns_shield_decisions_total', { decision: 'badcookie' }), 4);
    assert.equal(
      sampleValue(exp, 'switchboard_dns_shield_shed_total', { reason: 'zone-budget', tier: 'unknown' }),
      12,
    );
    assert.equal(
      sampleValue(exp, 'switchboard_dns_shield_shed_total', { reason: 'zone-budget', tier: 'tcp' }),
      2,
    );
    assert.equal(
      sampleValue(exp, 'switchboard_dns_shield_shed_total', { reason: 'overload', tier: 'unknown' }),
      8,
    );
    assert.equal(sampleValue(exp, 'switchboard_dns_rrl_responses_total', { action: 'slipped' }), 10);
    assert.equal(sampleValue(exp, 'switchboard_dns_cookies_total', { status: 'valid' }), 80);
    assert.equal(sampleValue(exp, 'switchboard_dns_shield_overload_level', { worker: '0' }), 2);
    assert.equal(sampleValue(exp, 'switchboard_dns_shield_overload_level', { worker: '1' }), 0);
    assert.equal(sampleValue(exp, 'switchboard_dns_zone_under_attack', { zone: 'victim.example.' }), 1);
    assert.equal(sampleValue(exp, 'switchboard_dns_zone_under_attack', { zone: 'other.example.' }), 1);
    assert.equal(
      sampleValue(exp, 'switchboard_dns_zone_queries_per_second', { zone: 'victim.example.' }),
      1000,
    );
    assert.equal(sampleValue(exp, 'switchboard_dns_zone_missing_per_second', { zone: 'calm.example.' }), 2);
    // Datagrams shed in C before any answer, and C answers RRL dropped, count as received and dropped.
    assert.equal(sampleValue(exp, 'switchboard_dns_queries_total', { transport: 'udp' }), 38);
    assert.equal(sampleValue(exp, 'switchboard_dns_queries_dropped_total', { transport: 'udp' }), 18);
    // A worker names at most 32 zones; a report naming more is refused whole.
    const names = Array.from({ length: 40 }, (_, i) => `z${i}.`);
    assert.equal(shield(0, names).attacked?.length, 32);
    assert.equal(m.dns.update(2, 'c', { ...shield(0, []), attacked: names }), false);
  });

  test('HTTP requests are labelled by method, route pattern and status class only', async () => {
    const m = new PrimaryMetrics({ processMetrics: false });
    m.observeHttpRequest('GET', '/api/v1/zones/:zone', 200, 0.004);
    m.observeHttpRequest('GET', '/api/v1/zones/:zone', 404, 0.002);
    m.observeHttpRequest('BREW', undefined, 404, 0.001);
    m.countZoneChange('change');
    m.observeZonePublish(0.012);
    const exp = parseExposition((await m.render()).body);
    assert.equal(
      sampleValue(exp, 'switchboard_http_requests_total', {
        method: 'GET',
        route: '/api/v1/zones/:zone',
        status_class: '2xx',
      }),
      1,
    );
    assert.equal(
      sampleValue(exp, 'switchboard_http_requests_total', {
        method: 'other',
        route: 'unmatched',
        status_class: '4xx',
      }),
      1,
    );
    assert.equal(
      sampleValue(exp, 'switchboard_http_request_duration_seconds_count', {
        method: 'GET',
        route: '/api/v1/zones/:zone',
      }),
      2,
    );
    assert.equal(sampleValue(exp, 'switchboard_zone_changes_total', { kind: 'change' }), 1);
    assert.equal(sampleValue(exp, 'switchboard_zone_publish_seconds_count'), 1);
    assert.equal(sampleValue(exp, 'switchboard_zone_publish_seconds_bucket', { le: '0.025' }), 1);
    assert.equal(sampleValue(exp, 'switchboard_zone_publish_seconds_bucket', { le: '0.01' }), 0);
  });

  test('process metrics come from prom-client; two instances do not collide', async () => {
    const a = new PrimaryMetrics();
    const b = new PrimaryMetrics();
    const exp = parseExposition((await a.render()).body);
    assert.ok((sampleValue(exp, 'process_cpu_seconds_total') ?? -1) >= 0);
    assert.ok((sampleValue(exp, 'nodejs_heap_size_used_bytes') ?? -1) > 0);
    assert.ok(parseExposition((await b.render()).body).samples.length > 0);
  });

  test('status classes', () => {
    assert.deepEqual([101, 200, 304, 404, 503, 0, 600].map(statusClassOf), [
      '1xx',
      '2xx',
      '3xx',
      '4xx',
      '5xx',
      'other',
      'other',
    ]);
  });
});
