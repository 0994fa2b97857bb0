import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRrlSpec, parseShieldMode, shieldSettings } from './config.js';
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
