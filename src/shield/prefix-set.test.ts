import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressOctets, PrefixSet, parsePrefix } from './prefix-set.js';

describe('prefix sets', () => {
  test('address text to octets: IPv4, IPv6 in every spelling, v4-mapped', () => {
    assert.deepEqual([...addressOctets('192.0.2.7')], [192, 0, 2, 7]);
    assert.deepEqual([...addressOctets('::ffff:192.0.2.7')], [192, 0, 2, 7]);
    const full = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    assert.deepEqual([...addressOctets('2001:db8::1')], full);
    assert.deepEqual([...addressOctets('2001:0db8:0:0:0:0:0:1')], full);
    assert.deepEqual([...addressOctets('::')], new Array(16).fill(0));
    assert.deepEqual([...addressOctets('::1')], [...new Array(15).fill(0), 1]);
    assert.deepEqual([...addressOctets('64:ff9b::192.0.2.33')].slice(12), [192, 0, 2, 33]);
    assert.throws(() => addressOctets('example.com'), /not an IP address/);
  });

  test('membership by prefix, per family; hosts; /0', () => {
    const s = new PrefixSet(['192.0.2.0/24', '10.0.0.0/8', '2001:db8:100::/40', '198.51.100.7']);
    assert.equal(s.size, 4);
    assert.equal(s.has(addressOctets('192.0.2.200')), true);
    assert.equal(s.has(addressOctets('192.0.3.1')), false);
    assert.equal(s.has(addressOctets('10.255.0.1')), true);
    assert.equal(s.has(addressOctets('198.51.100.7')), true);
    assert.equal(s.has(addressOctets('198.51.100.8')), false);
    assert.equal(s.has(addressOctets('2001:db8:1ff::1')), true);
    assert.equal(s.has(addressOctets('2001:db8:200::1')), false);
    assert.equal(s.has(new Uint8Array(5)), false);
    assert.equal(new PrefixSet(['0.0.0.0/0']).has(addressOctets('203.0.113.9')), true);
    assert.equal(new PrefixSet(['0.0.0.0/0']).has(addressOctets('::1')), false);
    const odd = new PrefixSet(['172.16.0.0/12']);
    assert.equal(odd.has(addressOctets('172.31.255.255')), true);
    assert.equal(odd.has(addressOctets('172.32.0.0')), false);
  });

  test('bad prefixes are refused with the entry named', () => {
    assert.throws(() => parsePrefix('192.0.2.0/33'), /'192.0.2.0\/33': prefix length must be 0..32/);
    assert.throws(() => parsePrefix('2001:db8::/129'), /0..128/);
    assert.throws(() => parsePrefix('host/24'), /'host' is not an IP address/);
    assert.throws(() => parsePrefix('1.2.3.4/8/9'), /not a prefix/);
    assert.throws(() => parsePrefix('1.2.3.4/x'), /prefix length/);
  });
});
