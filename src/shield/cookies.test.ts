import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CookieSecrets,
  CookieStatus,
  checkCookie,
  cookieStillFresh,
  parseCookieSecret,
  randomCookieSecret,
  writeCookie,
} from './cookies.js';
import { sipHash24 } from './siphash.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

describe('SipHash-2-4', () => {
  // The reference implementation's vectors: key 00..0f, message 00..(n-1).
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  const msg = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i);

  test('matches the reference vectors (0, 1 and 15 octets: the last word partial, alone or not)', () => {
    assert.equal(hex(sipHash24(key, msg(0))), '310e0edd47db6f72');
    assert.equal(hex(sipHash24(key, msg(1))), 'fd67dc93c539f874');
    assert.equal(hex(sipHash24(key, msg(15))), 'e545be4961ca29a1');
  });

  test('hashes a range of a buffer into a place of another, allocating nothing', () => {
    const data = new Uint8Array(40);
    data.set(msg(15), 7);
    const out = new Uint8Array(20);
    sipHash24(key, data, 7, 22, out, 5);
    assert.equal(hex(out.subarray(5, 13)), 'e545be4961ca29a1');
    assert.equal(out[4], 0);
    assert.equal(out[13], 0);
  });

  test('every length 0..64 hashes differently, and a different key changes every result', () => {
    const seen = new Set<string>();
    const other = Uint8Array.from({ length: 16 }, (_, i) => 15 - i);
    for (let n = 0; n <= 64; n++) {
      seen.add(hex(sipHash24(key, msg(n))));
      seen.add(hex(sipHash24(other, msg(n))));
    }
    assert.equal(seen.size, 130);
  });

  test('refuses a key of another length and a range outside the data', () => {
    assert.throws(() => sipHash24(new Uint8Array(15), msg(1)), RangeError);
    assert.throws(() => sipHash24(key, msg(4), 2, 5), RangeError);
    assert.throws(() => sipHash24(key, msg(4), 0, 4, new Uint8Array(7)), RangeError);
  });
});

describe('interoperable server cookies (RFC 9018)', () => {
  // RFC 9018 Appendix A.1: a resolver at 198.51.100.100 learns a new server cookie.
  const secret = bytes('e5e973e5a6b2a43f48e7dc849e37bfcf');
  const client = bytes('2464c4abcf10c957');
  const address = Uint8Array.of(198, 51, 100, 100);
  const made = 1559731985;

  function option(at = 0, total = 24): { query: Uint8Array; at: number } {
    const query = new Uint8Array(at + total);
    query.set(client, at);
    writeCookie(query, at, query, at, address, made, secret);
    return { query, at };
  }

  test('makes the cookie of RFC 9018 Appendix A.1', () => {
    const { query } = option();
    assert.equal(hex(query), '2464c4abcf10c957010000005cf79f111f8130c3eee29480');
  });

  test('accepts it for the same client cookie and address within its lifetime, and only then', () => {
    const secrets = new CookieSecrets(secret);
    const { query } = option();
    const check = (q: Uint8Array, addr: Uint8Array, now: number) => checkCookie(q, 0, 24, addr, now, secrets);
    assert.equal(check(query, address, made), CookieStatus.valid);
    assert.equal(check(query, address, made + 3600), CookieStatus.valid);
    assert.equal(check(query, address, made + 3601), CookieStatus.invalid, 'older than an hour');
    assert.equal(check(query, address, made - 300), CookieStatus.valid, 'five minutes ahead');
    assert.equal(check(query, address, made - 301), CookieStatus.invalid, 'too far ahead');
    assert.equal(check(query, Uint8Array.of(198, 51, 100, 101), made), CookieStatus.invalid, 'other address');
    for (let i = 0; i < 24; i++) {
      const bad = query.slice();
      bad[i] ^= 0x01;
      assert.equal(check(bad, address, made), CookieStatus.invalid, `octet ${i} changed`);
    }
    assert.equal(
      checkCookie(query, 0, 24, address, made, new CookieSecrets(randomCookieSecret())),
      CookieStatus.invalid,
    );
  });

  test('classifies absent, client-only, malformed and foreign cookies', () => {
    const secrets = new CookieSecrets(secret);
    const q = new Uint8Array(60);
    assert.equal(checkCookie(q, -1, 0, address, made, secrets), CookieStatus.none);
    assert.equal(checkCookie(q, 0, 8, address, made, secrets), CookieStatus.clientOnly);
    for (const n of [0, 1, 7, 9, 15, 41])
      assert.equal(checkCookie(q, 0, n, address, made, secrets), CookieStatus.malformed, `${n}`);
    for (const n of [16, 23, 25, 40])
      assert.equal(checkCookie(q, 0, n, address, made, secrets), CookieStatus.invalid, `${n}`);
    assert.equal(
      checkCookie(q, 50, 24, address, made, secrets),
      CookieStatus.malformed,
      'runs past the message',
    );
  });

  test('IPv6 clients: the 16-octet address is hashed', () => {
    const secrets = new CookieSecrets(secret);
    const v6 = bytes('20010db8022000015 9ded0f4876982b8'.replace(/ /g, ''));
    const q = new Uint8Array(24);
    q.set(client);
    writeCookie(q, 0, q, 0, v6, made, secret);
    assert.equal(checkCookie(q, 0, 24, v6, made, secrets), CookieStatus.valid);
    assert.equal(checkCookie(q, 0, 24, address, made, secrets), CookieStatus.invalid);
    assert.throws(() => checkCookie(q, 0, 24, new Uint8Array(5), made, secrets), RangeError);
  });

  test('serial arithmetic: a cookie made just before the 32-bit clock wraps is valid just after', () => {
    const secrets = new CookieSecrets(secret);
    const q = new Uint8Array(24);
    q.set(client);
    writeCookie(q, 0, q, 0, address, 0xfffffff0, secret);
    assert.equal(checkCookie(q, 0, 24, address, 0x00000100, secrets), CookieStatus.valid);
    assert.equal(cookieStillFresh(q, 0, 0x00000100), true);
    assert.equal(cookieStillFresh(q, 0, (0xfffffff0 + 1801) >>> 0), false);
  });

  test('a valid cookie is sent back until it is half an hour old', () => {
    const { query } = option();
    assert.equal(cookieStillFresh(query, 0, made + 1800), true);
    assert.equal(cookieStillFresh(query, 0, made + 1801), false);
  });

  test('rollover: cookies of the previous secret stay valid until it is retired', () => {
    const secrets = new CookieSecrets(secret);
    const { query } = option();
    const next = randomCookieSecret();
    secrets.rotate(next);
    assert.equal(secrets.current, next);
    assert.equal(checkCookie(query, 0, 24, address, made, secrets), CookieStatus.valid);
    secrets.retire();
    assert.equal(checkCookie(query, 0, 24, address, made, secrets), CookieStatus.invalid);
    // A secret announced before it is used (accepted first, made later).
    const staged = new CookieSecrets(randomCookieSecret(), [secret]);
    assert.equal(checkCookie(query, 0, 24, address, made, staged), CookieStatus.valid);
  });

  test('secrets: 32 hex digits, 16 octets, at most two more accepted', () => {
    assert.equal(
      hex(parseCookieSecret('E5E973E5A6B2A43F48E7DC849E37BFCF')),
      'e5e973e5a6b2a43f48e7dc849e37bfcf',
    );
    for (const bad of [
      '',
      'e5e9',
      'g5e973e5a6b2a43f48e7dc849e37bfcf',
      'e5e973e5a6b2a43f48e7dc849e37bfcf00',
    ]) {
      assert.throws(() => parseCookieSecret(bad), /32 hexadecimal digits/);
    }
    assert.throws(() => new CookieSecrets(new Uint8Array(8)), RangeError);
    assert.throws(() => new CookieSecrets(secret, [secret, secret, secret]), RangeError);
  });

  test('writeCookie refuses to write outside its buffer', () => {
    const q = new Uint8Array(24);
    assert.throws(() => writeCookie(q, 1, q, 0, address, made, secret), RangeError);
    assert.throws(() => writeCookie(q, 0, q, 17, address, made, secret), RangeError);
    assert.throws(() => writeCookie(q, 0, q, 0, new Uint8Array(3), made, secret), RangeError);
  });
});
