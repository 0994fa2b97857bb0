/**
 * A full transfer written straight from an image's octets carries the same records, in the same
 * order, as the object path over the same image (every node made into objects, every record
 * through `MessageWriter`): for every zone in ../shared/testdata, with message sizes small
 * enough to split every zone into many messages and large enough that compression pointers
 * would pass their 16 KiB reach. kdig and dig read the image path's messages in
 * test/e2e/xfr.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { sharedTestdata } from '../../test/helpers/paths.js';
import { loadZoneFiles } from '../../test/helpers/zone-files.js';
import { compileZone } from '../image/compile.js';
import { openImage } from '../image/reader.js';
import { ImageZone } from '../image/zone-view.js';
import { RRType } from '../wire/constants.js';
import { decodeMessage } from '../wire/decode.js';
import { loadZoneText } from '../zone/load.js';
import { fullTransfer, objectTransfer, type TransferHeader, transferFlags } from './axfr.js';

/**
 * Every record of a transfer, as text with the RDATA in hex, and per-message checks. `fold`:
 * owners and RDATA with A–Z folded — the object path compresses names against earlier names
 * case-insensitively, so it can lose the zone's spelling of an owner or a name in RDATA; the
 * image path writes owners and copies RDATA as the zone spelled them (checked apart below).
 */
function records(messages: Iterable<Uint8Array>, max: number, fold = true): string[] {
  const out: string[] = [];
  let first = true;
  for (const m of messages) {
    assert.ok(m.length <= max, `a message of ${m.length} octets over ${max}`);
    const d = decodeMessage(m);
    assert.equal(d.id, 4242);
    assert.equal(d.questions.length, first ? 1 : 0);
    first = false;
    for (const rr of d.answers)
      out.push(
        `${fold ? rr.name.toString().toLowerCase() : rr.name.toString()} ${rr.type} ${rr.class} ${rr.ttl} ${Buffer.from(fold ? rr.rdata.map((c) => (c >= 65 && c <= 90 ? c + 32 : c)) : rr.rdata).toString('hex')}`,
      );
  }
  return out;
}

function header(zone: ImageZone, maxSize?: number): TransferHeader {
  return {
    id: 4242,
    flags: transferFlags(0),
    question: { name: zone.origin, type: RRType.AXFR, class: 1 },
    opt: { udpSize: 1232, extendedRcode: 0, version: 0, flags: 0, options: [] },
    maxSize,
  };
}

/** The records of a transfer, or its error (a record too big for the message size). */
function attempt(messages: Iterable<Uint8Array>, max: number): string[] | RangeError {
  try {
    return records(messages, max);
  } catch (e) {
    if (e instanceof RangeError) return e;
    throw e;
  }
}

function compare(zone: ImageZone, maxSize: number): void {
  const got = attempt(fullTransfer(zone, header(zone, maxSize)), maxSize);
  const want = attempt(objectTransfer(zone, header(zone, maxSize)), maxSize);
  if (got instanceof RangeError || want instanceof RangeError) {
    // Both paths refuse a zone with a record that cannot fit the message size.
    assert.ok(got instanceof RangeError && want instanceof RangeError, `${zone.origin}: ${got} vs ${want}`);
    return;
  }
  assert.equal(got.length, want.length, `${zone.origin}: ${got.length} records vs ${want.length}`);
  for (let i = 0; i < got.length; i++) assert.equal(got[i], want[i], `${zone.origin}: record ${i}`);
  assert.equal(got.length, zone.recordCount + 1, `${zone.origin}: SOA twice and every other record once`);
}

describe('AXFR from image octets', () => {
  test('mixed-case owners, the apex, deep names, several messages', () => {
    const text = [
      '$ORIGIN Ex.Test.',
      '$TTL 60',
      '@ SOA ns hostmaster 5 60 60 600 60',
      '@ NS ns',
      '@ MX 10 mail',
      'ns A 127.0.0.1',
      'WWW A 192.0.2.1',
      'www.deep.sub AAAA 2001:db8::1',
      '* TXT "wild"',
      ...Array.from({ length: 300 }, (_, i) => `h${i} A 10.0.${i >> 8}.${i & 255}`),
      '',
    ].join('\n');
    const zone = new ImageZone(openImage(compileZone(loadZoneText(text).zone)));
    for (const max of [512, 4096, 65_535]) compare(zone, max);
    const exact = records(fullTransfer(zone, header(zone)), 65_535, false);
    assert.ok(exact.some((r) => r.startsWith('WWW.Ex.Test. 1 ')));
    const mx = exact.find((r) => r.startsWith('Ex.Test. 15 '));
    // 10 Mail.Ex.Test. (the MX target spelled by the zone: $ORIGIN's case)
    assert.equal(
      mx,
      `Ex.Test. 15 1 60 000a${Buffer.from('\x04mail\x02Ex\x04Test\x00', 'latin1').toString('hex')}`,
    );
  });

  test('every testdata zone, at 700 and 65,535 octets a message', (t) => {
    if (!existsSync(sharedTestdata))
      return t.skip('../shared/testdata is not present (only in the team workspace)');
    const { zones } = loadZoneFiles(sharedTestdata);
    let compared = 0;
    for (const { zone } of zones) {
      let image: ImageZone;
      try {
        image = new ImageZone(openImage(compileZone(zone)));
      } catch {
        continue; // zones the compiler refuses are served from objects
      }
      compare(image, 700);
      compare(image, 65_535);
      compared++;
    }
    assert.ok(compared > 100, `only ${compared} zones compared`);
  });
});
