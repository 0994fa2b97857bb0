import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkSeededApiKey, isLoopbackHost, metricsAccessOf, parseLimitFlags } from './limits.js';

test('--limit sets API limits and retention by name; 0 is allowed', () => {
  const l = parseLimitFlags(
    ['token-rate=5', 'ZONES-PER-HOUR = 0', 'deleted-zone-days=7', 'versions-per-zone=10'],
    ['10.0.0.0/8, ::1', '192.0.2.1'],
  );
  assert.deepEqual(l.api, {
    tokenRate: 5,
    zonesPerHour: 0,
    trustedProxies: ['10.0.0.0/8', '::1', '192.0.2.1'],
  });
  assert.deepEqual(l.retention, { deletedZoneDays: 7, versionsPerZone: 10 });
});

test('bad --limit and --trusted-proxy values are refused with the flag named', () => {
  assert.throws(() => parseLimitFlags(['token-rate']), /--limit 'token-rate': want NAME=N/);
  assert.throws(() => parseLimitFlags(['token-rate=-1']), /--limit token-rate: '-1' is not a whole number/);
  assert.throws(() => parseLimitFlags(['token-rate=1.5']), /not a whole number/);
  assert.throws(() => parseLimitFlags(['tokens=5']), /unknown limit 'tokens' \(known: account-rate, /);
  assert.throws(() => parseLimitFlags([], ['proxy.example']), /--trusted-proxy 'proxy\.example'/);
  assert.throws(() => parseLimitFlags([], ['10.0.0.0/40']), /--trusted-proxy '10\.0\.0\.0\/40'/);
});

test('/metrics is open on loopback and needs a key elsewhere, unless --metrics says', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'])
    assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['0.0.0.0', '::', '192.0.2.1', '2001:db8::1']) assert.equal(isLoopbackHost(h), false, h);
  assert.equal(metricsAccessOf(undefined, '127.0.0.1'), 'open');
  assert.equal(metricsAccessOf(undefined, '0.0.0.0'), 'key');
  assert.equal(metricsAccessOf('open', '0.0.0.0'), 'open');
  assert.equal(metricsAccessOf('KEY', '127.0.0.1'), 'key');
  assert.throws(() => metricsAccessOf('closed', '127.0.0.1'), /--metrics 'closed': want open .* or key/);
});

test('an operator-chosen API key shorter than 32 characters is refused, without echoing it', () => {
  assert.throws(
    () => checkSeededApiKey('hunter2', 'SWITCHBOARD_API_KEY'),
    (err: Error) =>
      /SWITCHBOARD_API_KEY is 7 characters long; use at least 32/.test(err.message) &&
      !err.message.includes('hunter2'),
  );
  assert.doesNotThrow(() => checkSeededApiKey('x'.repeat(32), 'SWITCHBOARD_API_KEY'));
});
