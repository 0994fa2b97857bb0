/**
 * The `switchboard` command line itself: sub-commands, exit codes, usage errors.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { exampleZones } from '../helpers/paths.js';
import { switchboardBin } from '../helpers/peers.js';

function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [switchboardBin(), ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, out: stdout, err: stderr });
    });
  });
}

describe('switchboard CLI', () => {
  test('--help lists serve and check-zone', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /serve/);
    assert.match(r.out, /check-zone/);
  });

  test('serve --help documents the flags', async () => {
    const r = await run(['serve', '--help']);
    assert.equal(r.code, 0);
    for (const flag of ['--zone-dir', '--listen', '--workers', '--nsid', '--edns-size'])
      assert.ok(r.out.includes(flag), flag);
  });

  test('serve without --zone-dir is a usage error', async () => {
    const r = await run(['serve']);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /--zone-dir/);
  });

  test('serve with an invalid --workers exits 1 with a message', async () => {
    const r = await run(['serve', '--zone-dir', exampleZones, '--workers', 'many']);
    assert.equal(r.code, 1);
    assert.match(r.err, /--workers must be a whole number/);
  });

  test('check-zone exits 0 for a good zone and 1 for a broken one, naming FILE:LINE', async (t) => {
    const good = await run(['check-zone', join(exampleZones, 'example.com.zone')]);
    assert.equal(good.code, 0, good.err);
    const dir = mkdtempSync(join(tmpdir(), 'sb-cli-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const bad = join(dir, 'bad.example.zone');
    writeFileSync(bad, '$TTL 60\n@ IN SOA ns h 1 60 60 600 60\n  IN NS ns\nns IN A 300.1.1.1\n');
    const r = await run(['check-zone', bad]);
    assert.equal(r.code, 1);
    assert.ok(`${r.out}${r.err}`.includes(`${bad}:4:`), `${r.out}${r.err}`);
  });

  test('check-zone --origin --print prints the zone', async () => {
    const r = await run([
      'check-zone',
      '--origin',
      'example.org.',
      '--print',
      join(exampleZones, 'example.org.zone'),
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /example\.org\.\s+300\s+IN\s+A\s+192\.0\.2\.20/);
  });
});
