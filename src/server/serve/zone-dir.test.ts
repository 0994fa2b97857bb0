import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { formatZoneProblem, isZoneFileName, loadZoneDir } from './zone-dir.js';
import { loadZoneFileForServer } from './zone-loader.js';

function zoneText(origin: string | null, serial: number, extra = ''): string {
  return [
    origin ? `$ORIGIN ${origin}` : '',
    '$TTL 300',
    `@ IN SOA ns1.example.net. hostmaster.example.net. ${serial} 7200 900 1209600 300`,
    '  IN NS ns1.example.net.',
    'www IN A 192.0.2.1',
    extra,
    '',
  ].join('\n');
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-zonedir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('isZoneFileName', () => {
  test('takes *.zone files that are not hidden', () => {
    assert.equal(isZoneFileName('example.com.zone'), true);
    assert.equal(isZoneFileName('example.com'), false);
    assert.equal(isZoneFileName('.zone'), false);
    assert.equal(isZoneFileName('.example.com.zone'), false);
    assert.equal(isZoneFileName('example.com.zone.swp'), false);
  });
});

describe('formatZoneProblem', () => {
  test('locates diagnostics at FILE:LINE', () => {
    assert.equal(
      formatZoneProblem('/z/a.zone', { file: '/z/a.zone', line: 3, message: 'bad' }),
      '/z/a.zone:3: bad',
    );
    assert.equal(
      formatZoneProblem('/z/a.zone', { file: '/z/a.zone', line: 0, message: 'bad' }),
      '/z/a.zone: bad',
    );
    assert.equal(formatZoneProblem('/z/a.zone', new Error('/z/a.zone:4: x')), '/z/a.zone:4: x');
    assert.equal(formatZoneProblem('/z/a.zone', 'oops'), '/z/a.zone: oops');
  });
});

describe('loadZoneDir', () => {
  test('loads every *.zone file; origin from $ORIGIN or the file name', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'a.example.zone'), zoneText('a.example.', 1));
    writeFileSync(join(dir, 'b.example.zone'), zoneText(null, 2));
    writeFileSync(join(dir, 'renamed.zone'), zoneText('c.example.', 3));
    writeFileSync(join(dir, 'notes.txt'), 'not a zone');
    writeFileSync(join(dir, '.hidden.zone'), 'garbage');
    mkdirSync(join(dir, 'sub.zone'));
    const { zones, report } = await loadZoneDir(dir, loadZoneFileForServer);
    assert.deepEqual(
      [...zones.values()].map((z) => [z.file, z.zone.origin.toString(), z.zone.serial]),
      [
        ['a.example.zone', 'a.example.', 1],
        ['b.example.zone', 'b.example.', 2],
        ['renamed.zone', 'c.example.', 3],
      ],
    );
    assert.deepEqual(
      report.files.map((f) => f.status),
      ['loaded', 'loaded', 'loaded'],
    );
    assert.deepEqual(report.removed, []);
  });

  test('a broken file is reported at FILE:LINE and left out; the others load', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'good.example.zone'), zoneText(null, 1));
    writeFileSync(join(dir, 'bad.example.zone'), zoneText(null, 1, 'oops IN A not-an-address'));
    const { zones, report } = await loadZoneDir(dir, loadZoneFileForServer);
    assert.deepEqual([...zones.keys()], ['good.example.zone']);
    const bad = report.files.find((f) => f.file === 'bad.example.zone')!;
    assert.equal(bad.status, 'failed');
    assert.ok(bad.errors.length > 0);
    assert.match(bad.errors[0], new RegExp(`^${join(dir, 'bad.example.zone')}:6: `));
  });

  test('reload: changed files replace, broken ones keep their old zone, removed ones go, new ones come', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'a.example.zone'), zoneText(null, 1));
    writeFileSync(join(dir, 'b.example.zone'), zoneText(null, 1));
    writeFileSync(join(dir, 'c.example.zone'), zoneText(null, 1));
    const first = await loadZoneDir(dir, loadZoneFileForServer);
    assert.equal(first.zones.size, 3);

    writeFileSync(join(dir, 'a.example.zone'), zoneText(null, 2, 'new IN A 192.0.2.2'));
    writeFileSync(join(dir, 'b.example.zone'), zoneText(null, 2, 'broken IN MX'));
    unlinkSync(join(dir, 'c.example.zone'));
    writeFileSync(join(dir, 'd.example.zone'), zoneText(null, 7));
    const { zones, report } = await loadZoneDir(dir, loadZoneFileForServer, first.zones);

    assert.deepEqual(
      [...zones.values()].map((z) => [z.file, z.zone.serial]),
      [
        ['a.example.zone', 2],
        ['b.example.zone', 1],
        ['d.example.zone', 7],
      ],
    );
    assert.equal(zones.get('b.example.zone')!.zone, first.zones.get('b.example.zone')!.zone);
    assert.deepEqual(
      report.files.map((f) => [f.file, f.status]),
      [
        ['a.example.zone', 'loaded'],
        ['b.example.zone', 'kept'],
        ['d.example.zone', 'loaded'],
      ],
    );
    assert.match(report.files[1].errors[0], /b\.example\.zone:6: /);
    assert.deepEqual(report.removed, ['c.example.zone']);
  });

  test('two files with the same origin: the first by name wins', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'one.zone'), zoneText('same.example.', 1));
    writeFileSync(join(dir, 'two.zone'), zoneText('same.example.', 2));
    const { zones, report } = await loadZoneDir(dir, loadZoneFileForServer);
    assert.deepEqual([...zones.keys()], ['one.zone']);
    assert.equal(report.files[1].status, 'failed');
    assert.match(report.files[1].errors[0], /already served from one\.zone/);
  });

  test('an unreadable folder changes nothing and says why', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'a.example.zone'), zoneText(null, 1));
    const first = await loadZoneDir(dir, loadZoneFileForServer);
    const { zones, report } = await loadZoneDir(join(dir, 'missing'), loadZoneFileForServer, first.zones);
    assert.equal(zones, first.zones);
    assert.match(report.dirError ?? '', /cannot read zone folder/);
  });
});
