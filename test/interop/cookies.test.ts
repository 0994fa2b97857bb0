/**
 * Interoperable DNS server cookies (RFC 9018) against Knot's mod-cookies: with the same
 * server secret, a cookie Knot makes is one src/shield/cookies.ts accepts, and a cookie we
 * make is one Knot accepts (it answers NOERROR instead of BADCOOKIE) — what lets Switchboard
 * workers, edges and another vendor's servers share one anycast address.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CookieSecrets,
  CookieStatus,
  checkCookie,
  cookieClock,
  randomCookieSecret,
  writeCookie,
} from '../../src/shield/cookies.js';
import { nativeUdpStatus } from '../../src/transport/native-udp.js';
import { EdnsOption, RRType } from '../../src/wire/constants.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { findEdnsOption } from '../../src/wire/edns.js';
import { fullRcode } from '../../src/wire/message.js';
import { buildQuery, queryUdp } from '../helpers/dns-client.js';
import { type Peer, skipUnlessCommands, startKnot, startSwitchboard } from '../helpers/peers.js';

const SECRET_HEX = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const secret = Uint8Array.from(Buffer.from(SECRET_HEX, 'hex'));
const LOOPBACK = Uint8Array.of(127, 0, 0, 1);
const BADCOOKIE = 23;

const skip = skipUnlessCommands('knotd');

describe('DNS cookies: Knot mod-cookies and src/shield agree (RFC 9018)', { skip }, () => {
  let knot: Peer;
  let sb: Peer | undefined;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-cookie-zone-'));
    const file = join(dir, 'example.zone');
    writeFileSync(
      file,
      '$ORIGIN example.\n$TTL 300\n@ SOA ns1 h 1 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.1\n',
    );
    knot = await startKnot([{ origin: 'example.', file }], {
      moduleSections: ['mod-cookies:', '  - id: default', `    secret: 0x${SECRET_HEX}`],
      globalModule: 'mod-cookies/default',
    });
    // Switchboard with the same secret, when its native path (where the shield runs) is here.
    if (nativeUdpStatus().ok)
      sb = await startSwitchboard(dir, {
        workers: 0,
        io: 'native',
        args: ['--native-answers', '--shield', 'on', '--cookie-secret', SECRET_HEX],
      });
  });
  after(async () => {
    await knot?.stop();
    await sb?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function ask(cookie: Uint8Array, peer: Peer = knot): Promise<{ rcode: number; cookie?: Uint8Array }> {
    const q = buildQuery({
      name: 'www.example.',
      type: RRType.A,
      edns: { udpSize: 1232, options: [{ code: EdnsOption.COOKIE, data: cookie }] },
    });
    const r = decodeMessage(
      await queryUdp(q, { host: peer.host, port: peer.port, timeoutMs: 2000, retries: 2 }),
    );
    return { rcode: fullRcode(r), cookie: findEdnsOption(r.edns, EdnsOption.COOKIE)?.data };
  }

  test('a server cookie Knot makes is valid for us, and for no other secret', async () => {
    const client = Uint8Array.from(Buffer.from('a1b2c3d4e5f60718', 'hex'));
    const r = await ask(client);
    assert.ok(r.cookie, 'Knot answered with a COOKIE option');
    assert.equal(r.cookie.length, 24);
    assert.deepEqual(r.cookie.subarray(0, 8), client, 'our client cookie echoed');
    assert.equal(r.cookie[8], 1, 'a version-1 (RFC 9018) server cookie');
    assert.equal(
      checkCookie(r.cookie, 0, 24, LOOPBACK, cookieClock(), new CookieSecrets(secret)),
      CookieStatus.valid,
    );
    assert.equal(
      checkCookie(r.cookie, 0, 24, LOOPBACK, cookieClock(), new CookieSecrets(randomCookieSecret())),
      CookieStatus.invalid,
    );
    assert.equal(
      checkCookie(r.cookie, 0, 24, Uint8Array.of(127, 0, 0, 2), cookieClock(), new CookieSecrets(secret)),
      CookieStatus.invalid,
    );
  });

  test('a server cookie we make is accepted by Knot; a forged one gets BADCOOKIE', async () => {
    const mine = new Uint8Array(24);
    mine.set(Buffer.from('0102030405060708', 'hex'));
    writeCookie(mine, 0, mine, 0, LOOPBACK, cookieClock(), secret);
    const ok = await ask(mine);
    assert.equal(ok.rcode, 0, 'NOERROR: Knot verified our cookie');
    const forged = mine.slice();
    forged[23] ^= 0x80;
    const bad = await ask(forged);
    assert.equal(bad.rcode, BADCOOKIE);
    // Made for another address: Knot must not accept it from 127.0.0.1.
    const elsewhere = mine.slice();
    writeCookie(elsewhere, 0, elsewhere, 0, Uint8Array.of(127, 0, 0, 9), cookieClock(), secret);
    assert.equal((await ask(elsewhere)).rcode, BADCOOKIE);
  });

  test("Switchboard answers with a server cookie Knot accepts, and takes Knot's as its own (one secret, two servers)", async (t) => {
    if (sb === undefined) {
      t.skip('the native UDP path (where the shield runs) is not available');
      return;
    }
    const client = Uint8Array.from(Buffer.from('1122334455667788', 'hex'));
    const first = await ask(client, sb);
    assert.equal(first.rcode, 0);
    assert.ok(first.cookie && first.cookie.length === 24, 'Switchboard sent a server cookie');
    assert.deepEqual(first.cookie.subarray(0, 8), client);
    assert.equal(
      checkCookie(first.cookie, 0, 24, LOOPBACK, cookieClock(), new CookieSecrets(secret)),
      CookieStatus.valid,
    );
    // Knot, with the same secret, accepts the cookie Switchboard made.
    assert.equal((await ask(first.cookie)).rcode, 0);
    // Switchboard takes the cookie Knot made as valid: it answers and sends it back unchanged
    // (a valid cookie under half an hour old is kept).
    const fromKnot = (await ask(client)).cookie!;
    const again = await ask(fromKnot, sb);
    assert.equal(again.rcode, 0);
    assert.deepEqual(again.cookie, fromKnot);
    // A forged server cookie gets a fresh one (no BADCOOKIE: the answer is given).
    const forged = fromKnot.slice();
    forged[20] ^= 0xff;
    const fresh = await ask(forged, sb);
    assert.equal(fresh.rcode, 0);
    assert.notDeepEqual(fresh.cookie, forged);
    assert.equal(
      checkCookie(fresh.cookie!, 0, 24, LOOPBACK, cookieClock(), new CookieSecrets(secret)),
      CookieStatus.valid,
    );
  });
});
