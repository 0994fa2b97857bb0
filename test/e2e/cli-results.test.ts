/**
 * What the CLI reports about changes (issue 6 item 2), against a real `switchboard start`
 * with an operator TTL limit: `record rm` that matches nothing fails, dry runs print the diff
 * and apply nothing, the server's TTL rule is the only one, disabled records survive
 * `zone export` → `zone import`, and an identical import changes nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Platform, removeDataDir, runCli, startPlatform } from '../helpers/platform.js';

describe('what the CLI reports about changes', () => {
  const key = `sb_${randomBytes(32).toString('base64url')}`;
  let p: Platform;
  let tmp: string;
  let cli: (args: string[], input?: string) => ReturnType<typeof runCli>;

  /** The zone's version and serial as the API has them. */
  async function state(zone: string): Promise<{ version: number; serial: number }> {
    const r = await cli(['zone', 'show', zone, '--json']);
    assert.equal(r.code, 0, r.err);
    const z = JSON.parse(r.out) as { version: number; serial: number };
    return { version: z.version, serial: z.serial };
  }

  before(async () => {
    p = await startPlatform({ apiKey: key, workers: 1, extraArgs: ['--max-ttl', '86400'] });
    tmp = mkdtempSync(join(tmpdir(), 'sb-cli-results-'));
    cli = (args, input) =>
      runCli(args, { SWITCHBOARD_URL: p.api, SWITCHBOARD_API_KEY: key, XDG_CONFIG_HOME: tmp }, input);
    const c = await cli(['zone', 'create', 'res.test', '--nameserver', 'ns1.example.net.']);
    assert.equal(c.code, 0, c.err);
    const s = await cli([
      'record',
      'set',
      'www',
      'A',
      '192.0.2.1',
      '192.0.2.2',
      '--zone',
      'res.test',
      '--ttl',
      '300',
    ]);
    assert.equal(s.code, 0, s.err);
  });
  after(async () => {
    await p?.stop();
    if (p) removeDataDir(p.dataDir);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('record rm of a value that is not there says nothing matched and exits 1; the serial stays', async () => {
    const before = await state('res.test');
    const miss = await cli(['record', 'rm', 'www', 'A', '192.0.2.99', '--zone', 'res.test']);
    assert.equal(miss.code, 1, miss.out);
    assert.equal(miss.out, '');
    assert.match(
      miss.err,
      /^switchboard: error: nothing matched: www\.res\.test\. A has no record '192\.0\.2\.99'; nothing was removed \(res\.test\. stays at serial \d+\)$/m,
    );
    const noSet = await cli(['record', 'rm', 'nothing', 'AAAA', '--zone', 'res.test']);
    assert.equal(noSet.code, 1);
    assert.match(noSet.err, /nothing matched: there is no RRset nothing\.res\.test\. AAAA/);
    assert.deepEqual(await state('res.test'), before);
    // One value there, one not: the one there goes, and the output says the other matched nothing.
    const half = await cli(['record', 'rm', 'www', 'A', '192.0.2.2', '192.0.2.98', '--zone', 'res.test']);
    assert.equal(half.code, 0, half.err);
    assert.match(
      half.out,
      /^removed 1 record from www\.res\.test\. A \(1 of the values given matched nothing\); /,
    );
    const back = await cli(['record', 'set', 'www', 'A', '192.0.2.1', '192.0.2.2', '--zone', 'res.test']);
    assert.equal(back.code, 0, back.err);
  });

  test('record set of what is there already is no change', async () => {
    const before = await state('res.test');
    const same = await cli(['record', 'set', 'www', 'A', '192.0.2.2', '192.0.2.1', '--zone', 'res.test']);
    assert.equal(same.code, 0, same.err);
    assert.match(same.out, /^no change: www\.res\.test\. A already holds exactly these records/);
    assert.deepEqual(await state('res.test'), before);
  });

  test('record set/rm --dry-run print the diff and apply nothing', async () => {
    const before = await state('res.test');
    const set = await cli([
      'record',
      'set',
      'mail',
      'A',
      '192.0.2.25',
      '--zone',
      'res.test',
      '--ttl',
      '60',
      '--dry-run',
    ]);
    assert.equal(set.code, 0, set.err);
    assert.match(
      set.out,
      new RegExp(`^dry run, nothing applied: res\\.test\\. is at version ${before.version}, `),
    );
    assert.match(set.out, /^- res\.test\.\t3600\tIN\tSOA\t/m);
    assert.match(set.out, /^\+ mail\.res\.test\.\t60\tIN\tA\t192\.0\.2\.25$/m);
    assert.match(set.out, new RegExp(`apply it with --if-match ${before.version}`));
    const rm = await cli(['record', 'rm', 'www', 'A', '192.0.2.1', '--zone', 'res.test', '--dry-run']);
    assert.equal(rm.code, 0, rm.err);
    assert.match(rm.out, /^- www\.res\.test\.\t300\tIN\tA\t192\.0\.2\.1$/m);
    const rmMiss = await cli(['record', 'rm', 'www', 'A', '192.0.2.77', '--zone', 'res.test', '--dry-run']);
    assert.equal(rmMiss.code, 1);
    assert.match(rmMiss.err, /nothing matched/);
    const json = await cli([
      'record',
      'set',
      'mail',
      'A',
      '192.0.2.25',
      '--zone',
      'res.test',
      '--dry-run',
      '--json',
    ]);
    assert.equal(json.code, 0, json.err);
    assert.equal(JSON.parse(json.out).dryRun, true);
    assert.deepEqual(await state('res.test'), before);
    // Applying the plan with its version.
    const apply = await cli([
      'record',
      'set',
      'mail',
      'A',
      '192.0.2.25',
      '--zone',
      'res.test',
      '--ttl',
      '60',
      '--if-match',
      String(before.version),
    ]);
    assert.equal(apply.code, 0, apply.err);
    assert.equal((await state('res.test')).version, before.version + 1);
  });

  test("the TTL limit is the server's (--max-ttl), and the CLI does not second-guess it", async () => {
    const over = await cli([
      'record',
      'set',
      'ttl',
      'A',
      '192.0.2.3',
      '--zone',
      'res.test',
      '--ttl',
      '86401',
    ]);
    assert.equal(over.code, 1);
    assert.match(
      over.err,
      /TTL 86401 is over this server's limit of 86400 seconds \(switchboard start --max-ttl\) \(field: changes\[0\]\.ttl\) \[HTTP 422 CTL_ERR_VALIDATION\]/,
    );
    // Above 2^31-1 the CLI used to refuse by itself with its own bound: the server's rule speaks.
    const huge = await cli([
      'record',
      'set',
      'ttl',
      'A',
      '192.0.2.3',
      '--zone',
      'res.test',
      '--ttl',
      '4294967296',
    ]);
    assert.equal(huge.code, 1);
    assert.match(huge.err, /over this server's limit of 86400 seconds/);
    const file =
      'res.test. 86400 IN SOA ns1.example.net. h.res.test. 9 60 60 600 60\nres.test. 90000 IN NS ns1.example.net.\n';
    const imp = await cli(['zone', 'import', '-', '--zone', 'res.test'], file);
    assert.equal(imp.code, 1);
    assert.match(imp.err, /zonefile line 2: TTL 90000 is over this server's limit of 86400 seconds/);
    const ok = await cli(['record', 'set', 'ttl', 'A', '192.0.2.3', '--zone', 'res.test', '--ttl', '86400']);
    assert.equal(ok.code, 0, ok.err);
  });

  test('zone import --dry-run prints the diff and applies nothing; zone rollback to the current content is no change', async () => {
    const before = await state('res.test');
    const exported = (await cli(['zone', 'export', 'res.test'])).out;
    const plan = await cli(
      ['zone', 'import', '-', '--zone', 'res.test', '--dry-run'],
      `${exported}plan.res.test. 60 IN A 192.0.2.60\n`,
    );
    assert.equal(plan.code, 0, plan.err);
    assert.match(plan.out, /^dry run, nothing applied: /);
    assert.match(plan.out, /^\+ plan\.res\.test\.\t60\tIN\tA\t192\.0\.2\.60$/m);
    const same = await cli(['zone', 'import', '-', '--zone', 'res.test', '--dry-run'], exported);
    assert.equal(same.code, 0, same.err);
    assert.match(same.out, /the change would change nothing/);
    const noop = await cli(['zone', 'import', '-', '--zone', 'res.test'], exported);
    assert.equal(noop.code, 0, noop.err);
    assert.match(noop.out, /^no change: the file holds res\.test\.'s current content/);
    const rb = await cli(['zone', 'rollback', 'res.test', String(before.version)]);
    assert.equal(rb.code, 0, rb.err);
    assert.match(rb.out, /^no change: res\.test\. already holds the content of version/);
    assert.deepEqual(await state('res.test'), before);
    const missing = await cli(
      ['zone', 'import', '-', '--zone', 'absent.test', '--create', '--dry-run'],
      exported,
    );
    assert.equal(missing.code, 1);
    assert.match(missing.err, /a dry run plans changes of existing zones/);
  });

  test('zone create warns about an in-zone name server without an address', async () => {
    const c = await cli(['zone', 'create', 'warn.test', '--nameserver', 'ns1.warn.test']);
    assert.equal(c.code, 0, c.err);
    assert.match(
      c.err,
      /^switchboard: warning: warn\.test\. NS: NS 'ns1\.warn\.test\.' has no address records/m,
    );
    const bad = await cli(['zone', 'create', 'bad.test', '--nameserver', 'bad name!']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /'bad name!' is not a host name.*\(field: nameservers\[0\]\) \[HTTP 422/);
  });

  test('disabled records survive zone export → zone import; an identical import changes nothing', async () => {
    const api = `${p.api}/api/v1/zones/res.test/rrsets`;
    const r = await fetch(api, {
      method: 'PATCH',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({
        changes: [
          {
            op: 'replace',
            name: 'old.res.test.',
            type: 'A',
            ttl: 300,
            records: [{ content: '192.0.2.8', disabled: true }],
          },
        ],
      }),
    });
    assert.equal(r.status, 200, await r.text());
    const exported = await cli(['zone', 'export', 'res.test']);
    assert.equal(exported.code, 0, exported.err);
    assert.match(exported.out, /^;disabled; old\.res\.test\.\t300\tIN\tA\t192\.0\.2\.8$/m);
    const before = await state('res.test');
    const file = join(tmp, 'res.zone');
    writeFileSync(file, exported.out);
    const same = await cli(['zone', 'import', file, '--zone', 'res.test']);
    assert.equal(same.code, 0, same.err);
    assert.deepEqual(await state('res.test'), before);
    // Without the disabled record, then with it again: it comes back disabled.
    const without = exported.out.replace(/^;disabled;.*\n/m, '');
    const dropped = await cli(['zone', 'import', '-', '--zone', 'res.test'], without);
    assert.equal(dropped.code, 0, dropped.err);
    const again = await cli(['zone', 'import', file, '--zone', 'res.test']);
    assert.equal(again.code, 0, again.err);
    const list = await cli(['record', 'list', '--zone', 'res.test', '--name', 'old', '--json']);
    assert.deepEqual(JSON.parse(list.out)[0].records, [{ content: '192.0.2.8', disabled: true }]);
  });
});
