import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatMetricsAddress, parseMetricsAddress } from './metrics-address.js';

describe('parseMetricsAddress', () => {
  test('IPv4 and bracketed IPv6 with a port', () => {
    assert.deepEqual(parseMetricsAddress('127.0.0.1:9153'), { host: '127.0.0.1', port: 9153 });
    assert.deepEqual(parseMetricsAddress('0.0.0.0:80'), { host: '0.0.0.0', port: 80 });
    assert.deepEqual(parseMetricsAddress('[::1]:9153'), { host: '::1', port: 9153 });
    assert.equal(formatMetricsAddress({ host: '::1', port: 9153 }), '[::1]:9153');
    assert.equal(formatMetricsAddress({ host: '127.0.0.1', port: 1 }), '127.0.0.1:1');
  });
  test('refuses what is not ADDR:PORT, naming the flag', () => {
    for (const [text, want] of [
      ['127.0.0.1', /--metrics: '127\.0\.0\.1': a port is required/],
      ['[::1]', /a port is required/],
      ['[::1:9153', /missing '\]'/],
      ['::1:9153', /put brackets around an IPv6 address/],
      ['example.com:9153', /'example\.com' is not an IP address/],
      ['127.0.0.1:0', /port 0 is out of range/],
      ['127.0.0.1:65536', /port 65536 is out of range/],
      ['127.0.0.1:http', /'http' is not a port number/],
      ['', /a port is required/],
    ] as const)
      assert.throws(() => parseMetricsAddress(text), want, text);
  });
});
