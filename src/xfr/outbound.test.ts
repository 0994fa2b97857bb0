/**
 * The outbound address policy: what tenants may name as masters and NOTIFY targets.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatOutboundTarget, OutboundPolicy, parseOutboundTarget } from './outbound.js';

describe('parseOutboundTarget', () => {
  test('reads ADDR, ADDR:PORT, [V6]:PORT, [V6] and a bare IPv6 address', () => {
    assert.deepEqual(parseOutboundTarget('192.0.2.1'), { address: '192.0.2.1', port: 53 });
    assert.deepEqual(parseOutboundTarget('192.0.2.1:5353'), { address: '192.0.2.1', port: 5353 });
    assert.deepEqual(parseOutboundTarget('[2001:db8::1]:54'), { address: '2001:db8::1', port: 54 });
    assert.deepEqual(parseOutboundTarget('[2001:db8::1]'), { address: '2001:db8::1', port: 53 });
    assert.deepEqual(parseOutboundTarget('2001:db8::1'), { address: '2001:db8::1', port: 53 });
    assert.equal(formatOutboundTarget({ address: '2001:db8::1', port: 54 }), '[2001:db8::1]:54');
    assert.equal(formatOutboundTarget({ address: '192.0.2.1', port: 53 }), '192.0.2.1:53');
  });

  test('refuses names, bad ports and junk with the reason', () => {
    for (const bad of [
      'ns1.example.',
      '192.0.2.1:0',
      '192.0.2.1:65536',
      '1.2.3.4:x',
      '[1.2.3.4]:53',
      '',
      '1.2.3:53',
    ])
      assert.throws(() => parseOutboundTarget(bad), RangeError, bad);
  });
});

describe('OutboundPolicy', () => {
  test('refuses special-purpose ranges by default and allows public addresses', () => {
    const p = new OutboundPolicy();
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.31.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
      '64:ff9b::a9fe:a9fe',
      '::127.0.0.1',
    ])
      assert.match(p.refusal(a) ?? '', /does not send to/, a);
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])
      assert.equal(p.refusal(a), undefined, a);
    assert.match(p.refusal('not-an-address') ?? '', /not an IP address/);
  });

  test('--outbound-allow opens a prefix, mapped addresses included, and nothing else', () => {
    const p = new OutboundPolicy(['127.0.0.0/8', 'fd00:1::/64']);
    assert.equal(p.refusal('127.0.0.1'), undefined);
    assert.equal(p.refusal('::ffff:127.0.0.2'), undefined);
    assert.equal(p.refusal('fd00:1::5'), undefined);
    assert.notEqual(p.refusal('fd00:2::5'), undefined);
    assert.notEqual(p.refusal('10.0.0.1'), undefined);
    assert.deepEqual(p.check('127.0.0.1:5300'), { address: '127.0.0.1', port: 5300 });
    assert.throws(() => p.check('10.0.0.1'), /RFC 1918/);
    assert.deepEqual(p.allowed, ['127.0.0.0/8', 'fd00:1::/64']);
  });

  test('a bad --outbound-allow prefix is refused when the policy is made', () => {
    assert.throws(() => new OutboundPolicy(['127.0.0.0/33']), RangeError);
    assert.throws(() => new OutboundPolicy(['nope']), RangeError);
  });
});
