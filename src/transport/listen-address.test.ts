import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TransportError } from './errors.js';
import {
  DEFAULT_DNS_PORT,
  formatListenAddress,
  parseListenAddress,
  parseListenAddresses,
} from './listen-address.js';

describe('parseListenAddress', () => {
  const cases: [string, string, number, 4 | 6][] = [
    ['127.0.0.1:5300', '127.0.0.1', 5300, 4],
    ['127.0.0.1', '127.0.0.1', DEFAULT_DNS_PORT, 4],
    ['0.0.0.0:53', '0.0.0.0', 53, 4],
    ['[::1]:5300', '::1', 5300, 6],
    ['[::1]', '::1', DEFAULT_DNS_PORT, 6],
    ['::1', '::1', DEFAULT_DNS_PORT, 6],
    ['::', '::', DEFAULT_DNS_PORT, 6],
    ['[::]:53', '::', 53, 6],
    ['2001:db8::53', '2001:db8::53', DEFAULT_DNS_PORT, 6],
    ['[2001:db8::53]:8053', '2001:db8::53', 8053, 6],
    [' 127.0.0.2:0 ', '127.0.0.2', 0, 4],
    ['127.0.0.1:65535', '127.0.0.1', 65535, 4],
  ];
  for (const [text, host, port, family] of cases) {
    test(`'${text}'`, () => {
      assert.deepEqual(parseListenAddress(text), { host, port, family });
    });
  }

  test('takes the given default port', () => {
    assert.equal(parseListenAddress('127.0.0.1', 53).port, 53);
  });

  const bad = [
    '',
    'localhost:5300',
    'example.com',
    '127.0.0.1:',
    '127.0.0.1:65536',
    '127.0.0.1:-1',
    '127.0.0.1:53a',
    '256.0.0.1:53',
    '[::1',
    '[::1]5300',
    '[127.0.0.1]:53',
    '::1::2',
    ':5300',
  ];
  for (const text of bad) {
    test(`rejects '${text}'`, () => {
      assert.throws(
        () => parseListenAddress(text),
        (err: unknown) => err instanceof TransportError && err.code === 'TRANSPORT_ERR_LISTEN_ADDRESS',
      );
    });
  }
});

describe('formatListenAddress', () => {
  test('brackets IPv6 and round-trips', () => {
    for (const text of ['127.0.0.1:5300', '[::1]:53', '[2001:db8::1]:8053']) {
      assert.equal(formatListenAddress(parseListenAddress(text)), text);
    }
  });
});

describe('parseListenAddresses', () => {
  test('keeps order and drops exact duplicates', () => {
    const got = parseListenAddresses(['127.0.0.1:53', '[::1]:53', '127.0.0.1:53', '::1']);
    assert.deepEqual(got.map(formatListenAddress), ['127.0.0.1:53', '[::1]:53', `[::1]:${DEFAULT_DNS_PORT}`]);
  });
});
