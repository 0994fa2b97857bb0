/**
 * The secondary role's client-side TSIG check of a multi-message answer (`TsigVerifier`,
 * RFC 8945 §5.3.1) against the server-side signer.
 * NSD and Knot as real primaries: test/e2e/secondary.test.ts.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RRType } from '../../wire/constants.js';
import { Name } from '../../wire/name.js';
import { findTsig, makeTsigKey, type TsigRecord, TsigSigner, TsigVerifier } from '../tsig.js';
import { buildQuery } from './client.js';

const SECRET = Buffer.from('secondary-unit-test-secret-0123456789').toString('base64');
const OTHER = Buffer.from('another-secret-for-the-unit-test-0000').toString('base64');

/** A response body (header only, QR set, the query's ID) numbered `n` in its last octet of padding. */
function response(query: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(12);
  out[0] = query[0];
  out[1] = query[1];
  out[2] = 0x84;
  out[3] = n & 0x0f;
  return out;
}

describe('TsigVerifier: a signed transfer checked message by message', () => {
  const key = makeTsigKey('xfr', 'hmac-sha256', SECRET);
  const zone = Name.parse('example.test.');

  test('every message signed: all pass; the chain breaks on a tampered message', () => {
    const query = buildQuery(zone, RRType.AXFR, key);
    const mac = (findTsig(query) as TsigRecord).mac;
    const signer = new TsigSigner(key, mac);
    const msgs = [0, 1, 2].map((n) => signer.sign(response(query, n)));
    const v = new TsigVerifier(key, query);
    for (const m of msgs) assert.equal(v.verify(m), undefined);
    assert.ok(v.endsSigned);

    const signer2 = new TsigSigner(key, mac);
    const again = [0, 1, 2].map((n) => signer2.sign(response(query, n)));
    const bad = new Uint8Array(again[1]);
    bad[3] ^= 0x01;
    const v2 = new TsigVerifier(key, query);
    assert.equal(v2.verify(again[0]), undefined);
    assert.match(v2.verify(bad) ?? '', /bad MAC/);
  });

  test('another key, an unsigned first message, an unsigned last message: refused', () => {
    const query = buildQuery(zone, RRType.AXFR, key);
    const mac = (findTsig(query) as TsigRecord).mac;
    const wrong = new TsigSigner(makeTsigKey('xfr', 'hmac-sha256', OTHER), mac);
    assert.match(new TsigVerifier(key, query).verify(wrong.sign(response(query, 0))) ?? '', /bad MAC/);
    const otherName = new TsigSigner(makeTsigKey('other', 'hmac-sha256', SECRET), mac);
    assert.match(
      new TsigVerifier(key, query).verify(otherName.sign(response(query, 0))) ?? '',
      /another key/,
    );
    assert.match(new TsigVerifier(key, query).verify(response(query, 0)) ?? '', /not signed/);
    // Signed, then unsigned: taken for now (RFC 8945 §5.3.1), but the exchange does not end signed.
    const signer = new TsigSigner(key, mac);
    const v = new TsigVerifier(key, query);
    assert.equal(v.verify(signer.sign(response(query, 0))), undefined);
    assert.equal(v.verify(response(query, 1)), undefined);
    assert.equal(v.endsSigned, false);
  });

  test('a signed message after unsigned ones covers them: a signer that skipped them fails', () => {
    const query = buildQuery(zone, RRType.AXFR, key);
    const mac = (findTsig(query) as TsigRecord).mac;
    const signer = new TsigSigner(key, mac);
    const v = new TsigVerifier(key, query);
    assert.equal(v.verify(signer.sign(response(query, 0))), undefined);
    assert.equal(v.verify(response(query, 1)), undefined);
    // Our server signs every message (its MAC covers only its own): not a valid MAC over two.
    assert.match(v.verify(signer.sign(response(query, 2))) ?? '', /bad MAC/);
  });
});
