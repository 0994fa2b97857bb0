import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadZoneFile, loadZoneText, originFromFileName } from './load.js';
import { ZoneParseError } from './parser.js';

const dir = mkdtempSync(join(tmpdir(), 'zone-load-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const BODY = `$TTL 300
@      SOA  ns hostmaster 2026112201 7200 3600 1209600 300
@      NS   ns
ns     A    192.0.2.53
`;

function thrown(fn: () => unknown): ZoneParseError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ZoneParseError) return err;
    throw err;
  }
  assert.fail('expected a ZoneParseError');
}

describe('loadZoneFile', () => {
  test('origin from the file name minus .zone', () => {
    const { zone, warnings, errors } = loadZoneFile(file('example.com.zone', BODY));
    assert.equal(zone.origin.toString(), 'example.com.');
    assert.equal(zone.serial, 2026112201);
    assert.equal(zone.recordCount, 3);
    assert.deepEqual(warnings, []);
    assert.deepEqual(errors, []);
  });

  test("origin from the file's $ORIGIN before the first record", () => {
    const { zone } = loadZoneFile(file('whatever.zone', `$ORIGIN example.net.\n${BODY}`));
    assert.equal(zone.origin.toString(), 'example.net.');
  });

  test('a given origin wins', () => {
    const { zone } = loadZoneFile(file('x.zone', BODY), { origin: 'example.org' });
    assert.equal(zone.origin.toString(), 'example.org.');
  });

  test('originFromFileName', () => {
    assert.equal(originFromFileName('/a/b/example.com.zone')?.toString(), 'example.com.');
    assert.equal(originFromFileName('example.com')?.toString(), 'example.com.');
    assert.equal(originFromFileName('x..y.zone'), undefined);
  });

  test('an unreadable file is ZONE_ERR_IO', () => {
    assert.equal(thrown(() => loadZoneFile(join(dir, 'missing.zone'))).code, 'ZONE_ERR_IO');
  });

  test('syntax errors are all reported with file:line and nothing loads', () => {
    const p = file('bad.zone', `${BODY}www A 1.2.3\nmail MX x y\n`);
    const err = thrown(() => loadZoneFile(p));
    assert.deepEqual(
      err.errors.map((e) => [e.file, e.line, e.code]),
      [
        [p, 5, 'ZONE_ERR_RDATA'],
        [p, 6, 'ZONE_ERR_RDATA'],
      ],
    );
    assert.ok(err.message.startsWith(`${p}:5: A address:`));
  });

  test('a zone without SOA does not build; the error is located', () => {
    const p = file('nosoa.zone', '$TTL 1\n@ NS ns\nns A 192.0.2.1\n');
    const err = thrown(() => loadZoneFile(p));
    assert.equal(err.code, 'ZONE_ERR_CHECK');
    assert.match(err.message, /no SOA record at the zone apex/);
  });

  test('check errors refuse the load with file:line; strict:false returns them', () => {
    const p = file('cname.zone', `${BODY}alias CNAME ns\nalias A 192.0.2.1\n`);
    const err = thrown(() => loadZoneFile(p));
    assert.equal(err.errors.length, 1);
    assert.equal(err.errors[0].code, 'ZONE_ERR_CHECK');
    assert.equal(err.errors[0].line, 5);
    assert.match(err.errors[0].message, /^alias\.cname\.\/CNAME: CNAME and other data \(A\)/);
    const loose = loadZoneFile(p, { strict: false });
    assert.equal(loose.errors.length, 1);
    assert.equal(loose.zone.recordCount, 5);
  });

  test('warnings are located too', () => {
    const { warnings } = loadZoneFile(file('warn.zone', `${BODY}www 300 A 192.0.2.1\nwww 600 A 192.0.2.2\n`));
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].line, 5);
  });

  test('duplicates are dropped in big RRsets too (one warning each)', () => {
    const text = `${BODY}$GENERATE 0-40 big TXT "$"\n$GENERATE 0-40 big TXT "$"\n`;
    const { zone, warnings } = loadZoneText(text, { origin: 'example.' });
    assert.equal(zone.recordCount, 3 + 41);
    assert.equal(warnings.length, 41);
    assert.ok(warnings.every((w) => w.line === 5 && /duplicate/.test(w.message)));
  });

  test('loadZoneText without a file needs an origin', () => {
    assert.equal(loadZoneText(BODY, { origin: 'example.' }).zone.recordCount, 3);
    assert.equal(thrown(() => loadZoneText(BODY)).code, 'ZONE_ERR_NAME');
  });
});
