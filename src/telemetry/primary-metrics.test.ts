import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseExposition, sampleValue } from '../../test/helpers/prometheus.js';
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
