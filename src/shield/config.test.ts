import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MAX_METRICS_ZONES,
  MAX_SHIELD_ZONES,
  parseRrlSpec,
  parseShieldMode,
  parseShieldZone,
  parseShieldZones,
  shieldSettings,
  zoneRrlRates,
} from './config.js';
import { addressOctets } from './prefix-set.js';
import { ResponseRateLimiter } from './rrl.js';

describe('shield settings', () => {
  test('--rrl in BIND-like fields; off; the rate limiter accepts what the parser gives', () => {
    assert.equal(parseRrlSpec('off'), null);
    const c = parseRrlSpec('responses=5, nxdomains=10,slip=0,window=5,ipv4=16,ipv6=48,table=4096,all=100');
    assert.deepEqual(c, {
      responsesPerSecond: 5,
      nxdomainsPerSecond: 10,
      slip: 0,
      window: 5,
      ipv4PrefixLength: 16,
      ipv6PrefixLength: 48,
      tableSize: 4096,
      allPerSecond: 100,
    });
    assert.equal(new ResponseRateLimiter(c!).tableSize, 4096);
    assert.deepEqual(parseRrlSpec('responses=2.5'), { responsesPerSecond: 2.5 });
  });

  test('bad --rrl values name the field', () => {
    assert.throws(() => parseRrlSpec('nxdomains=5'), /responses=N is required/);
    assert.throws(() => parseRrlSpec('responses=5,bogus=1'), /unknown field 'bogus'/);
    assert.throws(() => parseRrlSpec('responses=five'), /responses must be a number/);
    assert.throws(() => parseRrlSpec('responses=5,slip'), /slip must be a number/);
    assert.throws(() => parseRrlSpec('responses=5,responses=6'), /given twice/);
    assert.throws(() => parseRrlSpec('responses=-1'), /must be a number/);
  });

  test('mode, secrets and allow-list', () => {
    assert.equal(parseShieldMode('dry-run'), 'dry-run');
    assert.throws(() => parseShieldMode('yes'), /off, on or dry-run/);
    const s = shieldSettings({
      shield: 'on',
      rrl: 'responses=5',
      cookieSecret: ['0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'ffeeddccbbaa99887766554433221100'],
      shieldAllow: ['8.8.8.0/24', '2001:4860::/32'],
    });
    assert.equal(s.mode, 'on');
    assert.equal(s.cookieSecrets.length, 2);
    assert.equal(s.allow.has(addressOctets('8.8.8.8')), true);
    assert.equal(s.allow.has(addressOctets('2001:4860:4860::8888')), true);
    assert.equal(s.allow.has(addressOctets('9.9.9.9')), false);
    assert.deepEqual(shieldSettings({}).mode, 'off');
    assert.throws(
      () => shieldSettings({ cookieSecret: ['abc'] }),
      /--cookie-secret #1: a cookie secret is 32 hexadecimal digits/,
    );
    assert.throws(() => shieldSettings({ shieldAllow: ['8.8.8.0/40'] }), /--shield-allow: '8.8.8.0\/40'/);
  });
});

describe('--shield-zone', () => {
  test('a zone name and its own fields; the name absolute and lower case', () => {
    assert.deepEqual(
      parseShieldZone('Example.COM:min-nx=1000,budget=200,responses=20,nxdomains=5,metrics=on'),
      {
        name: 'example.com.',
        minNxPerSecond: 1000,
        budgetFloor: 200,
        rrl: { responses: 20, nxdomains: 5 },
        metrics: true,
      },
    );
    assert.deepEqual(parseShieldZone('example.org.:metrics=off'), { name: 'example.org.', metrics: false });
  });

  test('bad specs name the zone and the field', () => {
    for (const [text, want] of [
      ['example.com', /expected NAME:key=value/],
      [':budget=1', /expected NAME:key=value/],
      ['a..b:budget=1', /is not a domain name/],
      ['example.com:bogus=1', /unknown field 'bogus'/],
      ['example.com:budget=x', /budget must be a number/],
      ['example.com:min-nx=0', /min-nx must be 1\.\.10000000/],
      ['example.com:metrics=yes', /metrics must be on or off/],
      ['example.com:budget=1,budget=2', /budget given twice/],
    ] as const)
      assert.throws(() => parseShieldZone(text), want, text);
    assert.throws(() => parseShieldZones(['a.:budget=1', 'A.:budget=2']), /a\. given twice/);
    assert.throws(
      () => parseShieldZones(Array.from({ length: MAX_SHIELD_ZONES + 1 }, (_, i) => `z${i}.:budget=1`)),
      /at most 1024 zones/,
    );
    assert.throws(
      () => parseShieldZones(Array.from({ length: MAX_METRICS_ZONES + 1 }, (_, i) => `z${i}.:metrics=on`)),
      /at most 100 zones with metrics=on/,
    );
    assert.equal(
      parseShieldZones(Array.from({ length: MAX_SHIELD_ZONES }, (_, i) => `z${i}.:budget=1`)).length,
      1024,
    );
  });

  test("a zone's RRL rates: its own, else its responses, else the server's", () => {
    const server = parseRrlSpec('responses=10,nxdomains=4');
    assert.equal(zoneRrlRates(parseShieldZone('a.:budget=1'), server), undefined);
    assert.deepEqual(zoneRrlRates(parseShieldZone('a.:nodata=2'), server), [10, 4, 2, 10, 10]);
    assert.deepEqual(zoneRrlRates(parseShieldZone('a.:responses=3,errors=1'), server), [3, 3, 3, 3, 1]);
    assert.deepEqual(zoneRrlRates(parseShieldZone('a.:nxdomains=7'), null), [0, 7, 0, 0, 0]);
  });
});
