import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, test } from 'node:test';
import { ConfigError } from '../shared/options.js';
import {
  buildStartConfig,
  decodeDnsWorkerConfig,
  encodeDnsWorkerConfig,
  redactDatabaseUrl,
  shieldPolicyOf,
} from './config.js';

describe('buildStartConfig', () => {
  test('defaults: ./data, DNS 127.0.0.1:5300, HTTP 127.0.0.1:8080 (loopback only)', () => {
    const c = buildStartConfig({}, '/srv');
    assert.equal(c.dataDir, '/srv/data');
    assert.equal(c.database, undefined);
    assert.deepEqual(c.dns.listen, [{ host: '127.0.0.1', port: 5300, family: 4 }]);
    assert.deepEqual(c.http, { host: '127.0.0.1', port: 8080, family: 4 });
    assert.ok(c.workers >= 1);
  });

  test('flags are parsed and checked', () => {
    const c = buildStartConfig(
      {
        data: 'd',
        database: 'postgres://u:p@127.0.0.1:5432/sb',
        dns: ['127.0.0.1:53', '[::1]:53'],
        http: '[::1]:9000',
        workers: '3',
        nsid: 'ns-{worker}',
        ednsSize: '1400',
        io: 'native',
      },
      '/x',
    );
    assert.equal(c.dataDir, '/x/d');
    assert.equal(c.database, 'postgres://u:p@127.0.0.1:5432/sb');
    assert.equal(c.dns.listen.length, 2);
    assert.deepEqual(c.http, { host: '::1', port: 9000, family: 6 });
    assert.equal(c.workers, 3);
    assert.equal(c.dns.nsid, 'ns-{worker}');
    assert.equal(c.dns.ednsSize, 1400);
    assert.equal(c.io, 'native');
  });

  test('bad values are ConfigErrors naming the flag', () => {
    assert.throws(() => buildStartConfig({ http: 'localhost:80' }), /--http: invalid listen address/);
    assert.throws(() => buildStartConfig({ dns: ['x'] }), /--dns: /);
    assert.throws(() => buildStartConfig({ workers: '0' }), /--workers must be between 1 and 256/);
    assert.throws(() => buildStartConfig({ database: 'mysql://h/db' }), ConfigError);
    assert.throws(() => buildStartConfig({ ednsSize: '100' }), /--edns-size/);
    assert.throws(() => buildStartConfig({ io: 'dpdk' }), /--io must be native, node or auto, got 'dpdk'/);
    assert.throws(() => buildStartConfig({ nameservers: 'ns1.example.net,bad name' }), /--nameservers/);
    // The host-name rule of zone creation (RFC 952, RFC 1123): no underscore, no edge hyphen.
    assert.throws(
      () => buildStartConfig({ nameservers: 'ns_1.example.net' }),
      /--nameservers: 'ns_1\.example\.net' is not a host name/,
    );
    assert.throws(() => buildStartConfig({ nameservers: '-ns.example.net' }), /is not a host name/);
  });

  test('--identity and --hide-version reach the DNS workers (host name and version by default)', () => {
    const d = buildStartConfig({ serverVersion: '0.1.0' });
    assert.equal(d.dns.identity, hostname());
    assert.equal(d.dns.version, 'Switchboard 0.1.0');
    const c = buildStartConfig({ identity: 'sb-{worker}', hideVersion: true, serverVersion: '0.1.0' });
    assert.equal(c.dns.identity, 'sb-{worker}');
    assert.equal(c.dns.version, undefined);
    assert.equal(buildStartConfig({ identity: '' }).dns.identity, undefined);
    assert.throws(
      () => buildStartConfig({ identity: 'x'.repeat(256) }),
      /--identity is longer than 255 octets/,
    );
    assert.deepEqual(decodeDnsWorkerConfig(encodeDnsWorkerConfig(c.dns)), c.dns);
  });

  test('--max-ttl is the one TTL limit (absent: the control plane default; at most 2^31-1)', () => {
    assert.equal(buildStartConfig({}).maxTtl, undefined);
    assert.equal(buildStartConfig({ maxTtl: '86400' }).maxTtl, 86400);
    assert.equal(buildStartConfig({ maxTtl: '2147483647' }).maxTtl, 2147483647);
    assert.throws(
      () => buildStartConfig({ maxTtl: '2147483648' }),
      /--max-ttl must be between 0 and 2147483647/,
    );
    assert.throws(() => buildStartConfig({ maxTtl: '1d' }), /--max-ttl must be a whole number/);
  });

  test('--max-records-per-request is the per-request record ceiling (absent: the control plane default)', () => {
    assert.equal(buildStartConfig({}).maxRecordsPerRequest, undefined);
    assert.equal(buildStartConfig({ maxRecordsPerRequest: '50000' }).maxRecordsPerRequest, 50000);
    assert.throws(
      () => buildStartConfig({ maxRecordsPerRequest: '0' }),
      /--max-records-per-request must be between 1 and/,
    );
  });

  test('--nameservers become absolute default NS names', () => {
    assert.equal(buildStartConfig({}).nameservers, undefined);
    assert.deepEqual(buildStartConfig({ nameservers: 'ns1.example.net, ns2.example.org.' }).nameservers, [
      'ns1.example.net.',
      'ns2.example.org.',
    ]);
  });

  test('the DNS part round-trips through the environment; passwords are hidden when printed', () => {
    const c = buildStartConfig({ nsid: 'a' });
    assert.deepEqual(decodeDnsWorkerConfig(encodeDnsWorkerConfig(c.dns)), c.dns);
    assert.throws(() => decodeDnsWorkerConfig(undefined), ConfigError);
    assert.equal(redactDatabaseUrl('postgres://u:secret@h:5432/db'), 'postgres://u:***@h:5432/db');
    assert.equal(redactDatabaseUrl('postgres://h/db'), 'postgres://h/db');
  });
});

describe('per-zone shield settings through the API (start)', () => {
  test('the caps leave room for the --shield-zone flags; --shield-tenant opens fields up to a value', () => {
    assert.deepEqual(shieldPolicyOf({}), { maxZones: 1024, maxMetricsZones: 100 });
    assert.deepEqual(
      shieldPolicyOf({
        shieldZone: ['a.test:responses=5,metrics=on', 'b.test:min-nx=1000'],
        shieldTenant: 'min-nx=2000,responses=50,metrics=on',
      }),
      {
        maxZones: 1022,
        maxMetricsZones: 99,
        tenant: { minNxPerSecond: 2000, rrl: { responses: 50 }, metrics: true },
        tenantZones: 32,
        tenantMetricsZones: 5,
      },
    );
    // The per-account caps are the flag's own fields, anywhere in the list.
    const capped = shieldPolicyOf({ shieldTenant: 'zones=3,responses=20,metrics-zones=0' });
    assert.deepEqual(capped.tenant, { rrl: { responses: 20 } });
    assert.equal(capped.tenantZones, 3);
    assert.equal(capped.tenantMetricsZones, 0);
    assert.throws(
      () => shieldPolicyOf({ shieldTenant: 'zones=2000' }),
      /--shield-tenant: zones must be 0\.\.1024/,
    );
    assert.throws(
      () => shieldPolicyOf({ shieldTenant: 'metrics-zones=x' }),
      /--shield-tenant: metrics-zones must be 0\.\.100/,
    );
    assert.equal(shieldPolicyOf({ shieldTenant: 'off' }).tenant, undefined);
    const config = buildStartConfig({ shield: 'on', shieldTenant: 'budget=100' });
    assert.deepEqual(config.shieldPolicy?.tenant, { budgetFloor: 100 });
  });

  test('a bad --shield-tenant is refused naming the flag and the field', () => {
    assert.throws(
      () => shieldPolicyOf({ shieldTenant: 'bogus=1' }),
      (e: Error) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /^--shield-tenant: unknown field 'bogus'/);
        return true;
      },
    );
    assert.throws(
      () => shieldPolicyOf({ shieldTenant: 'min-nx=0' }),
      /--shield-tenant: min-nx must be 1\.\.10000000/,
    );
  });
});
