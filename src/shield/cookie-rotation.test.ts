import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CookieRotation, parseCookieRotate, rolloverDelay } from './cookie-rotation.js';
import { CookieSecrets, CookieStatus, checkCookie, cookieClock, writeCookie } from './cookies.js';

const ADDRESS = Uint8Array.of(192, 0, 2, 7);
const CLIENT = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);

/** A server cookie made with `secret` now (client cookie | server cookie: 24 octets). */
function cookieWith(secret: Uint8Array, now: number): Uint8Array {
  const out = new Uint8Array(24);
  writeCookie(out, 0, CLIENT, 0, ADDRESS, now, secret);
  return out;
}

function verdict(cookie: Uint8Array, set: Uint8Array[], now: number): CookieStatus {
  return checkCookie(cookie, 0, cookie.length, ADDRESS, now, new CookieSecrets(set[0], set.slice(1)));
}

let n = 0;
const counter = () => Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? ++n : 0xa0 + i));

describe('CookieRotation (RFC 9018 rollover)', () => {
  test('a cookie made with the previous secret verifies after a rotation; two rotations old it does not', () => {
    const now = cookieClock(Date.UTC(2026, 11, 4));
    const r = new CookieRotation(counter(), counter);
    const c0 = cookieWith(r.secrets()[0], now);
    assert.equal(verdict(c0, r.secrets(), now), CookieStatus.valid);
    // Announced: the next secret is accepted but cookies are still made with the current one.
    const announced = r.announce();
    assert.equal(announced.length, 2);
    assert.equal(verdict(c0, announced, now), CookieStatus.valid);
    const early = cookieWith(announced[1], now); // a worker that already makes with it
    assert.equal(verdict(early, announced, now), CookieStatus.valid, 'accepted before it is made');
    // One rotation: made with the new secret, the old one still accepted.
    const one = r.promote();
    assert.equal(one.length, 2);
    assert.equal(verdict(c0, one, now), CookieStatus.valid, 'previous secret still accepted');
    const c1 = cookieWith(one[0], now);
    assert.equal(verdict(c1, one, now), CookieStatus.valid);
    // During the next announce, the previous secret is still accepted (three secrets at most).
    const a2 = r.announce();
    assert.equal(a2.length, 3);
    assert.equal(verdict(c0, a2, now), CookieStatus.valid);
    // Two rotations: c0's secret is gone, c1's still accepted.
    const two = r.promote();
    assert.equal(two.length, 2);
    assert.equal(verdict(c0, two, now), CookieStatus.invalid, 'two rotations old');
    assert.equal(verdict(c1, two, now), CookieStatus.valid);
    assert.equal(r.rotations, 2);
    // promote without announce still makes a new secret.
    const three = r.promote();
    assert.notDeepEqual(three[0], two[0]);
    assert.equal(verdict(c1, three, now), CookieStatus.invalid);
  });

  test('each new secret is fresh (random by default)', () => {
    const r = new CookieRotation(new Uint8Array(16));
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(Buffer.from(r.promote()[0]).toString('hex'));
    assert.equal(seen.size, 20);
    assert.throws(() => new CookieRotation(new Uint8Array(8)), /16 octets/);
  });

  test('--cookie-rotate values', () => {
    assert.equal(parseCookieRotate('off'), 0);
    assert.equal(parseCookieRotate('1d'), 86_400_000);
    assert.equal(parseCookieRotate('12h'), 43_200_000);
    assert.equal(parseCookieRotate('30m'), 1_800_000);
    assert.equal(parseCookieRotate('90s'), 90_000);
    assert.equal(parseCookieRotate('5'), 5000);
    for (const bad of ['', 'daily', '1w', '-1h', '0s', '400d', '1.5h'])
      assert.throws(() => parseCookieRotate(bad), /--cookie-rotate/, bad);
    assert.equal(rolloverDelay(86_400_000), 5000);
    assert.equal(rolloverDelay(3000), 300);
  });
});
