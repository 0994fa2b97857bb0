/**
 * The CLI an operator expects (issue 6 §3), against a running `switchboard start`: record
 * values relative to the zone, accounts by name, versions, diff and rollback, audit filters,
 * record enable/disable, several changes as one version, `zone rm` confirmation, `zone
 * import` errors and progress, config keys and a server URL ending in /api/v1.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findCommand, switchboardBin } from '../helpers/peers.js';
import {
  callApi,
  type Platform,
  queryPlatform,
  removeDataDir,
  runCli,
  startPlatform,
  waitForEveryWorker,
} from '../helpers/platform.js';

const MX = 15;
const A = 1;
const CNAME = 5;

describe('switchboard CLI: what an operator expects', () => {
  const key = `sb_${randomBytes(32).toString('base64url')}`;
  let p: Platform;
  let tmp: string;
  let cli: (
    args: string[],
    extraEnv?: Record<string, string | undefined>,
    input?: string,
  ) => ReturnType<typeof runCli>;
  /** The CLI's exit code and output, with stdin and stderr on a terminal (util-linux `script`). */
  let onTerminal: ((args: string[], input: string) => Promise<{ code: number; out: string }>) | undefined;

  before(async () => {
    p = await startPlatform({ apiKey: key, workers: 1 });
    tmp = mkdtempSync(join(tmpdir(), 'sb-cli-operator-'));
    const env = { SWITCHBOARD_URL: p.api, SWITCHBOARD_API_KEY: key, XDG_CONFIG_HOME: tmp };
    cli = (args, extraEnv = {}, input) => runCli(args, { ...env, ...extraEnv }, input);
    const script = findCommand('script');
    if (script)
      onTerminal = (args, input) =>
        new Promise((resolve) => {
          const quoted = [process.execPath, switchboardBin(), ...args].map(
            (a) => `'${a.replace(/'/g, "'\\''")}'`,
          );
          const child = execFile(
            script,
            ['-qec', quoted.join(' '), '/dev/null'],
            { timeout: 30_000, env: { ...process.env, ...env } },
            (error, stdout) =>
              resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: stdout }),
          );
          child.stdin?.end(input);
        });
  });
  after(async () => {
    await p?.stop();
    if (p) removeDataDir(p.dataDir);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test("record values are relative to the zone: record set @ MX '10 mail' --zone shop.test", async () => {
    const created = await cli(['zone', 'create', 'shop.test', '--nameserver', 'ns1.example.net.']);
    assert.equal(created.code, 0, created.err);
    const mx = await cli(['record', 'set', '@', 'MX', '10 mail', '--zone', 'shop.test']);
    assert.equal(mx.code, 0, mx.err);
    assert.equal(mx.err, '');
    const a = await cli(['record', 'set', 'mail', 'A', '192.0.2.25', '--zone', 'shop.test']);
    assert.equal(a.code, 0, a.err);
    const cname = await cli(['record', 'set', 'www', 'CNAME', '@', '--zone', 'shop.test']);
    assert.equal(cname.code, 0, cname.err);
    const ext = await cli(['record', 'set', 'docs', 'CNAME', 'pages.example.net.', '--zone', 'shop.test']);
    assert.equal(ext.code, 0, ext.err);

    const list = await cli(['record', 'list', '--zone', 'shop.test', '--json']);
    const byType = new Map(
      (JSON.parse(list.out) as { name: string; type: string; records: { content: string }[] }[]).map((r) => [
        `${r.name} ${r.type}`,
        r.records.map((x) => x.content),
      ]),
    );
    assert.deepEqual(byType.get('shop.test. MX'), ['10 mail.shop.test.']);
    assert.deepEqual(byType.get('www.shop.test. CNAME'), ['shop.test.']);
    assert.deepEqual(byType.get('docs.shop.test. CNAME'), ['pages.example.net.']);
    await waitForEveryWorker(p.dnsPort, 'shop.test', MX, 1, (r) => r.answers.length === 1, 1000);
    assert.deepEqual((await queryPlatform(p.dnsPort, 'shop.test', MX)).answers, ['10 mail.shop.test.']);

    // A dotted name without its final dot is relative too (as in a zone file), with a note.
    const dotted = await cli(['record', 'set', 'api', 'CNAME', 'lb.example.net', '--zone', 'shop.test']);
    assert.equal(dotted.code, 0, dotted.err);
    assert.match(dotted.err, /note: 'lb\.example\.net' has no final dot.*'lb\.example\.net\.shop\.test\.'/);

    // rm matches a value written relative to the zone.
    const rm = await cli(['record', 'rm', '@', 'MX', '10 mail', '--zone', 'shop.test']);
    assert.equal(rm.code, 0, rm.err);
    const after = await cli(['record', 'list', '--zone', 'shop.test', '--type', 'MX', '--json']);
    assert.deepEqual(JSON.parse(after.out), []);

    // The help shows the example.
    const help = await cli(['record', 'set', '--help']);
    assert.match(help.out, /switchboard record set @ MX '10 mail' --zone shop\.test/);
  });

  test('account create|list|show by name; --account NAME; tables show names', async () => {
    const created = await cli(['account', 'create', 'acme', '--max-zones', '3']);
    assert.equal(created.code, 0, created.err);
    assert.match(created.out, /^created account acme \(3 zones/);
    const dup = await cli(['account', 'create', 'acme']);
    assert.equal(dup.code, 1);

    const list = await cli(['account', 'list']);
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /^NAME\s+MAX ZONES\s+MAX RECORDS\s+CREATED\s+ID$/m);
    assert.match(list.out, /^acme\s+3\s+100000\s+/m);

    const zone = await cli([
      'zone',
      'create',
      'acme.test',
      '--account',
      'acme',
      '--nameserver',
      'ns1.example.net.',
    ]);
    assert.equal(zone.code, 0, zone.err);
    const zones = await cli(['zone', 'list', '--account', 'acme']);
    assert.equal(zones.code, 0, zones.err);
    assert.match(zones.out, /^acme\.test\.\s+1\s+1\s+2\s+acme\s+/m);
    assert.doesNotMatch(zones.out, /example\.com/);
    const all = await cli(['zone', 'list']);
    assert.match(all.out, /^example\.com\.\s+\d+\s+\d+\s+\d+\s+example\s+/m);
    assert.doesNotMatch(all.out, /[0-9a-f]{8}-[0-9a-f]{4}-/);
    const show = await cli(['zone', 'show', 'acme.test']);
    assert.match(show.out, /^account\s+acme$/m);

    const shown = await cli(['account', 'show', 'acme']);
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out, /^zones\s+1 of 3$/m);
    assert.match(shown.out, /^records\s+2 of 100000$/m);
    const missing = await cli(['account', 'show', 'nobody']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no account named 'nobody'/);

    const token = await cli([
      'token',
      'create',
      'acme-ci',
      '--account',
      'acme',
      '--access',
      'write',
      '--json',
    ]);
    assert.equal(token.code, 0, token.err);
    const tokens = await cli(['token', 'list', '--account', 'acme']);
    assert.match(tokens.out, /^\S+\s+acme-ci\s+\S+\s+write\s+acme\s+/m);

    // The API finds an account by name; a tenant's key sees only its own.
    const byName = await callApi(p.api, key, 'GET', '/api/v1/accounts?name=acme');
    assert.equal(byName.status, 200);
    assert.deepEqual(
      byName.body.items.map((a: { name: string }) => a.name),
      ['acme'],
    );
    const secret = JSON.parse(token.out).secret as string;
    const own = await callApi(p.api, secret, 'GET', '/api/v1/accounts?name=example');
    assert.deepEqual(own.body.items, []);
    const mine = await cli(['account', 'show', 'acme'], { SWITCHBOARD_API_KEY: secret });
    assert.equal(mine.code, 0, mine.err);

    // A token is revoked by its name too.
    const revoked = await cli(['token', 'revoke', 'acme-ci']);
    assert.equal(revoked.code, 0, revoked.err);
    assert.match(revoked.out, /^revoked token acme-ci \([0-9a-f-]{36}\)$/m);
    assert.equal((await callApi(p.api, secret, 'GET', '/api/v1/zones')).status, 401);
    const again = await cli(['token', 'revoke', 'acme-ci']);
    assert.equal(again.code, 1);
    assert.match(again.err, /no active token named 'acme-ci'/);
  });

  test('zone versions, diff and rollback', async () => {
    await cli(['zone', 'create', 'hist.test', '--nameserver', 'ns1.example.net.']);
    await cli(['record', 'set', 'www', 'A', '192.0.2.1', '--zone', 'hist.test', '--comment', 'first web']);
    await cli(['record', 'set', 'www', 'A', '192.0.2.2', '--zone', 'hist.test']);

    const versions = await cli(['zone', 'versions', 'hist.test']);
    assert.equal(versions.code, 0, versions.err);
    assert.match(versions.out, /^VERSION\s+SERIAL\s+TIME\s+KIND\s+CHANGE\s+BY\s+COMMENT$/m);
    assert.match(
      versions.out,
      /^2\s+2\s+\S+ \S+\s+change\s+\+2 -1\s+administrator \(SWITCHBOARD_API_KEY\)\s+first web$/m,
    );
    assert.match(versions.out, /^1\s+1\s+.*create/m);
    assert.equal(
      JSON.parse((await cli(['zone', 'versions', 'hist.test', '--json', '--limit', '1'])).out).length,
      1,
    );

    const diff = await cli(['zone', 'diff', 'hist.test', '3']);
    assert.equal(diff.code, 0, diff.err);
    assert.match(diff.out, /^- www\.hist\.test\.\t3600\tIN\tA\t192\.0\.2\.1$/m);
    assert.match(diff.out, /^\+ www\.hist\.test\.\t3600\tIN\tA\t192\.0\.2\.2$/m);
    const net = await cli(['zone', 'diff', 'hist.test', '1', '3']);
    assert.equal(net.code, 0, net.err);
    assert.match(net.out, /^\+ www\.hist\.test\.\t3600\tIN\tA\t192\.0\.2\.2$/m);
    assert.doesNotMatch(net.out, /192\.0\.2\.1/);

    const back = await cli(['zone', 'rollback', 'hist.test', '2', '--comment', 'undo']);
    assert.equal(back.code, 0, back.err);
    assert.match(back.out, /back to the content of version 2: now version 4/);
    await waitForEveryWorker(p.dnsPort, 'www.hist.test', A, 1, (r) => r.answers.join() === '192.0.2.1', 1000);
    const bad = await cli(['zone', 'rollback', 'hist.test', 'two']);
    assert.equal(bad.code, 2);
  });

  test('record disable|enable: kept but not served, then served again', async () => {
    await cli(['zone', 'create', 'flip.test', '--nameserver', 'ns1.example.net.']);
    await cli(['record', 'set', 'www', 'A', '192.0.2.1', '192.0.2.2', '--zone', 'flip.test']);
    await waitForEveryWorker(p.dnsPort, 'www.flip.test', A, 1, (r) => r.answers.length === 2, 1000);

    const off = await cli(['record', 'disable', 'www', 'A', '192.0.2.2', '--zone', 'flip.test']);
    assert.equal(off.code, 0, off.err);
    assert.match(off.out, /^disabled 1 record of www\.flip\.test\. A/);
    await waitForEveryWorker(p.dnsPort, 'www.flip.test', A, 1, (r) => r.answers.join() === '192.0.2.1', 1000);
    const list = await cli(['record', 'list', '--zone', 'flip.test', '--name', 'www']);
    assert.match(list.out, /192\.0\.2\.2 \(disabled\)/);

    const none = await cli(['record', 'disable', 'www', 'A', '192.0.2.9', '--zone', 'flip.test']);
    assert.equal(none.code, 1);
    assert.match(none.err, /has no record '192\.0\.2\.9'/);

    const on = await cli(['record', 'enable', 'www', 'A', '--zone', 'flip.test']);
    assert.equal(on.code, 0, on.err);
    assert.match(on.out, /^enabled 1 record/);
    await waitForEveryWorker(p.dnsPort, 'www.flip.test', A, 1, (r) => r.answers.length === 2, 1000);
    const again = await cli(['record', 'enable', 'www', 'A', '--zone', 'flip.test']);
    assert.equal(again.code, 0);
    assert.match(again.out, /^nothing to enable/);
  });

  test('record apply: several changes from a file as one version (lines or JSON)', async () => {
    await cli(['zone', 'create', 'batch.test', '--nameserver', 'ns1.example.net.']);
    await cli(['record', 'set', 'old', 'CNAME', 'www', '--zone', 'batch.test']);
    const before = JSON.parse((await cli(['zone', 'show', 'batch.test', '--json'])).out).version as number;
    const file = join(tmp, 'changes.txt');
    writeFileSync(
      file,
      '# the web\nset www 300 A 192.0.2.1\nset www 300 A 192.0.2.2\nset @ MX 10 mail\nadd mail A 192.0.2.25\nrm old CNAME\n',
    );
    const applied = await cli(['record', 'apply', file, '--zone', 'batch.test', '--comment', 'batch']);
    assert.equal(applied.code, 0, applied.err);
    assert.match(
      applied.out,
      new RegExp(`^applied 4 changes to batch\\.test\\. as one version: version ${before + 1},`),
    );
    const zone = JSON.parse((await cli(['zone', 'show', 'batch.test', '--json'])).out);
    assert.equal(zone.version, before + 1);
    const rr = new Map(
      (zone.rrsets as { name: string; type: string; ttl: number; records: { content: string }[] }[]).map(
        (r) => [`${r.name} ${r.type}`, r],
      ),
    );
    assert.deepEqual(
      rr.get('www.batch.test. A')?.records.map((r) => r.content),
      ['192.0.2.1', '192.0.2.2'],
    );
    assert.equal(rr.get('www.batch.test. A')?.ttl, 300);
    assert.deepEqual(
      rr.get('batch.test. MX')?.records.map((r) => r.content),
      ['10 mail.batch.test.'],
    );
    assert.equal(rr.has('old.batch.test. CNAME'), false);
    await waitForEveryWorker(p.dnsPort, 'old.batch.test', CNAME, 1, (r) => r.answers.length === 0, 1000);

    const json = JSON.stringify({
      comment: 'from json',
      changes: [{ op: 'replace', name: 'api', type: 'CNAME', records: [{ content: 'www' }] }],
    });
    const viaJson = await cli(['record', 'apply', '-', '--zone', 'batch.test'], {}, json);
    assert.equal(viaJson.code, 0, viaJson.err);
    const v = JSON.parse((await cli(['zone', 'versions', 'batch.test', '--json', '--limit', '1'])).out)[0];
    assert.equal(v.comment, 'from json');

    // All or nothing: one bad change, nothing applied.
    const bad = await cli(
      ['record', 'apply', '-', '--zone', 'batch.test'],
      {},
      'set x A 192.0.2.1\nset y A 300.0.0.1\n',
    );
    assert.equal(bad.code, 1);
    assert.match(bad.err, /changes\[1\]/);
    assert.equal(JSON.parse((await cli(['zone', 'show', 'batch.test', '--json'])).out).version, v.version);
    const usage = await cli(['record', 'apply', '-', '--zone', 'batch.test'], {}, 'set x A\n');
    assert.equal(usage.code, 2);
    assert.match(usage.err, /stdin:1: 'set' needs the record data/);
  });

  test('audit with filters: zone, action, since; names, not ids', async () => {
    const all = await cli(['audit', '--zone', 'hist.test']);
    assert.equal(all.code, 0, all.err);
    const rows = all.out.trimEnd().split('\n');
    assert.match(rows[0], /^TIME\s+ACCOUNT\s+ACTION\s+TARGET\s+BY\s+FROM\s+DETAIL$/);
    assert.ok(rows.length >= 5, all.out);
    for (const r of rows.slice(1)) assert.match(r, /\shist\.test\.\s/);

    const creates = await cli(['audit', '--action', 'zone.create', '--json', '--all']);
    const entries = JSON.parse(creates.out) as { action: string; target: string }[];
    assert.ok(entries.length >= 5);
    assert.ok(entries.every((e) => e.action === 'zone.create'));
    const prefixed = JSON.parse((await cli(['audit', '--action', 'account.', '--json'])).out) as {
      action: string;
    }[];
    assert.ok(prefixed.length >= 1 && prefixed.every((e) => e.action.startsWith('account.')));
    const accountRow = await cli(['audit', '--action', 'account.create']);
    assert.match(accountRow.out, /^\S+ \S+\s+acme\s+account\.create\s+acme\s+/m);

    const future = await cli(['audit', '--since', '2999-01-01', '--json']);
    assert.deepEqual(JSON.parse(future.out), []);
    const recent = JSON.parse((await cli(['audit', '--since', '1h', '--zone', 'hist.test', '--json'])).out);
    assert.ok(recent.length >= 4);
    const badSince = await callApi(p.api, key, 'GET', '/api/v1/audit?since=2026-99-99');
    assert.equal(badSince.status, 422);
    assert.equal(badSince.body.field, 'since');
    assert.equal((await cli(['audit', '--since', 'yesterday'])).code, 2);
  });

  test('zone rm asks unless --yes, and refuses without a terminal', async () => {
    await cli(['zone', 'create', 'gone.test', '--nameserver', 'ns1.example.net.']);
    const refused = await cli(['zone', 'rm', 'gone.test'], {}, 'y\n');
    assert.equal(refused.code, 2);
    assert.match(
      refused.err,
      /not deleting gone\.test\. without confirmation: stdin is not a terminal; pass --yes/,
    );
    assert.equal((await cli(['zone', 'show', 'gone.test'])).code, 0);

    if (onTerminal) {
      const no = await onTerminal(['zone', 'rm', 'gone.test'], 'n\n');
      assert.equal(no.code, 2, no.out);
      assert.match(no.out, /Delete zone gone\.test\. \(2 records, version 1\)\? .*\[y\/N\]/);
      assert.equal((await cli(['zone', 'show', 'gone.test'])).code, 0);
      const yes = await onTerminal(['zone', 'rm', 'gone.test'], 'y\n');
      assert.equal(yes.code, 0, yes.out);
      assert.match(yes.out, /deleted zone gone\.test\./);
      await cli(['zone', 'create', 'gone.test', '--nameserver', 'ns1.example.net.']);
    }
    const yes = await cli(['zone', 'rm', 'gone.test', '--yes']);
    assert.equal(yes.code, 0, yes.err);
    assert.equal((await cli(['zone', 'show', 'gone.test'])).code, 1);
  });

  test('zone import: every error listed, "use --create", progress on a terminal only', async () => {
    const file = join(tmp, 'imp.zone');
    writeFileSync(
      file,
      '$TTL 300\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\nbad A 1.2.3\nbad2 MX x\nout.example. A 192.0.2.1\n',
    );
    const missing = await cli(['zone', 'import', file, '--zone', 'new.test']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /zone new\.test\. does not exist: use --create to create it from the file/);

    await cli(['zone', 'create', 'imp.test', '--nameserver', 'ns1.example.net.']);
    for (const args of [
      ['zone', 'import', file, '--zone', 'imp.test'],
      ['zone', 'import', file, '--zone', 'new.test', '--create'],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 1);
      const lines = r.err.trimEnd().split('\n');
      assert.match(lines[0], /imp\.zone:5: A address: '1\.2\.3' is not an IPv4 address$/);
      assert.match(lines[1], /imp\.zone:6: MX preference: 'x'/);
      assert.match(lines[2], /imp\.zone:7: out\.example\. is not inside the zone (imp|new)\.test\.$/);
      assert.match(lines[3], /3 errors in .*imp\.zone; nothing was imported/);
    }
    assert.equal((await cli(['zone', 'show', 'new.test'])).code, 1);

    // A big file: progress on stderr only when it is a terminal.
    const big = join(tmp, 'big.zone');
    const lines = ['$TTL 300', '@ SOA ns1 host 1 2 3 4 5', '@ NS ns1', 'ns1 A 192.0.2.1'];
    for (let i = 0; i < 40_000; i++)
      lines.push(`host-${i}-padding-to-make-the-file-big A 10.${i >> 8}.${i & 255}.1`);
    writeFileSync(big, `${lines.join('\n')}\n`);
    const quiet = await cli(['zone', 'import', big, '--zone', 'big.test', '--create']);
    assert.equal(quiet.code, 0, quiet.err);
    assert.equal(quiet.err, '');
    if (onTerminal) {
      const shown = await onTerminal(['zone', 'import', big, '--zone', 'big.test'], '');
      assert.equal(shown.code, 0, shown.out);
      assert.match(shown.out, /sending .*big\.zone: \d+\.\d of \d+\.\d MiB \(\d+%\)/);
      // The same file again: an identical import changes nothing (issue 6, item 2).
      assert.match(shown.out, /no change: the file holds big\.test\.'s current content/);
    }
  });

  test('--server accepts a URL ending in /api/v1; config keys in any letter case; unknown keys reported', async () => {
    const viaApiUrl = await cli(['zone', 'list', '--server', `${p.api}/api/v1/`, '--json']);
    assert.equal(viaApiUrl.code, 0, viaApiUrl.err);
    const dir = join(tmp, 'cfg');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ Server: `${p.api}/api/v1`, API_KEY: key }));
    const viaFile = await cli(['zone', 'list', '--config', file, '--json'], {
      SWITCHBOARD_URL: undefined,
      SWITCHBOARD_API_KEY: undefined,
    });
    assert.equal(viaFile.code, 0, viaFile.err);
    writeFileSync(file, JSON.stringify({ server: p.api, apikey: key, timeout: 5 }));
    const unknown = await cli(['zone', 'list', '--config', file]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown key "timeout"/);
  });

  test('check-zone reads stdin and takes $ORIGIN', async () => {
    const text = '$ORIGIN std.test.\n$TTL 300\n@ SOA ns1 host 7 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n';
    const r = await cli(['check-zone', '-'], {}, text);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out, 'zone std.test/IN: loaded serial 7\nOK\n');
  });
});
