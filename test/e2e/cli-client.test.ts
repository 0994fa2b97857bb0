/**
 * The CLI client (`switchboard zone|record|token …`) against a running `switchboard start`:
 * tables and --json, server and key from flags, environment and config file, the API's
 * errors with their field (exit 1), usage errors (exit 2), and changes served over DNS.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type Platform,
  queryPlatform,
  removeDataDir,
  runCli,
  startPlatform,
  waitForEveryWorker,
} from '../helpers/platform.js';

describe('switchboard zone|record|token (CLI client)', () => {
  const key = `sb_${randomBytes(32).toString('base64url')}`;
  let p: Platform;
  let tmp: string;
  /** Runs the CLI with the server and key in the environment (and no config file). */
  let cli: (
    args: string[],
    extraEnv?: Record<string, string | undefined>,
    input?: string,
  ) => ReturnType<typeof runCli>;

  before(async () => {
    p = await startPlatform({ apiKey: key, workers: 1 });
    tmp = mkdtempSync(join(tmpdir(), 'sb-cli-client-'));
    cli = (args, extraEnv = {}, input) =>
      runCli(
        args,
        { SWITCHBOARD_URL: p.api, SWITCHBOARD_API_KEY: key, XDG_CONFIG_HOME: tmp, ...extraEnv },
        input,
      );
  });
  after(async () => {
    await p?.stop();
    if (p) removeDataDir(p.dataDir);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('zone list: a table for people, JSON for scripts', async () => {
    const table = await cli(['zone', 'list']);
    assert.equal(table.code, 0, table.err);
    assert.match(table.out, /^NAME\s+SERIAL\s+VERSION\s+RECORDS\s+ACCOUNT\s+UPDATED$/m);
    assert.match(table.out, /^example\.com\.\s+2026112201\s+1\s+/m);
    const json = await cli(['zone', 'list', '--json']);
    assert.equal(json.code, 0, json.err);
    const names = (JSON.parse(json.out) as { name: string }[]).map((z) => z.name).sort();
    assert.deepEqual(names, ['example.com.', 'example.org.']);
  });

  test('zone create, record set/list/rm, zone show: changes are served over DNS', async () => {
    const created = await cli(['zone', 'create', 'cli.test', '--nameserver', 'ns1.example.net.']);
    assert.equal(created.code, 0, created.err);
    assert.match(created.out, /created zone cli\.test\./);

    const set = await cli([
      'record',
      'set',
      'www',
      'A',
      '192.0.2.1',
      '192.0.2.2',
      '--zone',
      'cli.test',
      '--ttl',
      '120',
    ]);
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /set www\.cli\.test\. 120 A \(2 records\)/);
    await waitForEveryWorker(p.dnsPort, 'www.cli.test', 1, 1, (a) => a.answers.length === 2, 1000);
    assert.deepEqual((await queryPlatform(p.dnsPort, 'www.cli.test', 1)).answers.sort(), [
      '192.0.2.1',
      '192.0.2.2',
    ]);

    const txt = await cli(['record', 'set', '@', 'TXT', '"v=spf1 -all"', '--zone', 'cli.test.']);
    assert.equal(txt.code, 0, txt.err);
    assert.match(txt.out, /set cli\.test\. 3600 TXT/);

    const list = await cli(['record', 'list', '--zone', 'cli.test', '--type', 'A', '--json']);
    assert.equal(list.code, 0, list.err);
    assert.deepEqual(JSON.parse(list.out), [
      {
        name: 'www.cli.test.',
        type: 'A',
        ttl: 120,
        records: [
          { content: '192.0.2.1', disabled: false },
          { content: '192.0.2.2', disabled: false },
        ],
      },
    ]);
    // A relative owner ending with the zone's name is refused (it would be www.cli.test.cli.test.).
    const ambiguous = await cli(['record', 'set', 'www.cli.test', 'A', '192.0.2.9', '--zone', 'cli.test']);
    assert.equal(ambiguous.code, 2, ambiguous.err);
    assert.match(ambiguous.err, /'www\.cli\.test' ends with the zone's name but has no final dot/);
    // Without --ttl, set keeps the RRset's TTL (the owner absolute this time).
    const keep = await cli([
      'record',
      'set',
      'www.cli.test.',
      'A',
      '192.0.2.1',
      '192.0.2.3',
      '--zone',
      'cli.test',
    ]);
    assert.equal(keep.code, 0, keep.err);
    assert.match(keep.out, / 120 A /);

    const rmOne = await cli(['record', 'rm', 'www', 'A', '192.0.2.1', '--zone', 'cli.test']);
    assert.equal(rmOne.code, 0, rmOne.err);
    await waitForEveryWorker(p.dnsPort, 'www.cli.test', 1, 1, (a) => a.answers.join() === '192.0.2.3', 1000);

    const show = await cli(['zone', 'show', 'cli.test']);
    assert.equal(show.code, 0, show.err);
    assert.match(show.out, /^zone\s+cli\.test\.$/m);
    assert.match(show.out, /^NAME\s+TTL\s+TYPE\s+CONTENT$/m);
    assert.match(show.out, /^www\.cli\.test\.\s+120\s+A\s+192\.0\.2\.3$/m);
    assert.match(show.out, /^cli\.test\.\s+\d+\s+NS\s+ns1\.example\.net\.$/m);

    const rmAll = await cli(['record', 'rm', 'www', 'A', '--zone', 'cli.test']);
    assert.equal(rmAll.code, 0, rmAll.err);
    await waitForEveryWorker(
      p.dnsPort,
      'www.cli.test',
      1,
      1,
      (a) => a.rcode === 3 || a.answers.length === 0,
      1000,
    );
  });

  test('zone export and import (master file, one new version)', async () => {
    const exported = await cli(['zone', 'export', 'example.org']);
    assert.equal(exported.code, 0, exported.err);
    assert.match(exported.out, /SOA/);
    const file = join(tmp, 'example.org.zone');
    writeFileSync(file, `${exported.out}extra.example.org. 300 IN A 192.0.2.44\n`);
    const imported = await cli(['zone', 'import', file, '--zone', 'example.org']);
    assert.equal(imported.code, 0, imported.err);
    assert.match(imported.out, /imported example\.org\.: version 2/);
    await waitForEveryWorker(
      p.dnsPort,
      'extra.example.org',
      1,
      1,
      (a) => a.answers.join() === '192.0.2.44',
      1000,
    );

    // From stdin, creating a zone that does not exist yet.
    const text =
      'new.test. 300 IN SOA ns1.new.test. h.new.test. 5 60 60 600 60\nnew.test. 300 IN NS ns1.example.net.\n';
    const fromStdin = await cli(['zone', 'import', '-', '--zone', 'new.test', '--create'], {}, text);
    assert.equal(fromStdin.code, 0, fromStdin.err);
    const out = join(tmp, 'new.zone');
    const toFile = await cli(['zone', 'export', 'new.test', '--output', out]);
    assert.equal(toFile.code, 0, toFile.err);

    // If-Match with a stale version: 412, nothing changed.
    const stale = await cli(['zone', 'import', file, '--zone', 'example.org', '--if-match', '1']);
    assert.equal(stale.code, 1);
    assert.match(stale.err, /412/);
  });

  test("errors print the API's message and field (exit 1); usage errors exit 2", async () => {
    const bad = await cli(['record', 'set', 'www', 'A', 'not-an-address', '--zone', 'example.com']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^switchboard: error: .+\(field: [^)]+\) \[HTTP 422 CTL_ERR_VALIDATION\]$/m);

    const missing = await cli(['zone', 'show', 'nope.test']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /HTTP 404/);

    const noKey = await cli(['zone', 'list'], { SWITCHBOARD_API_KEY: undefined });
    assert.equal(noKey.code, 2);
    assert.match(noKey.err, /no API key/);

    const wrongKey = await cli(['zone', 'list', '--api-key', 'sb_wrong']);
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.err, /HTTP 401/);

    const usage = await cli(['record', 'set', 'www', 'A']);
    assert.equal(usage.code, 2);
    const unknown = await cli(['zone', 'list', '--nope']);
    assert.equal(unknown.code, 2);
    const badTtl = await cli([
      'record',
      'set',
      'www',
      'A',
      '192.0.2.1',
      '--zone',
      'example.com',
      '--ttl',
      'soon',
    ]);
    assert.equal(badTtl.code, 2);
    assert.match(badTtl.err, /--ttl must be a whole number/);

    const down = await cli(['zone', 'list', '--server', 'http://127.0.0.1:1']);
    assert.equal(down.code, 1);
    assert.match(down.err, /cannot reach http:\/\/127\.0\.0\.1:1/);
  });

  test('token create|list|revoke, and a config file as the key source', async () => {
    const created = await cli([
      'token',
      'create',
      'ci',
      '--access',
      'write',
      '--zone',
      'example.com',
      '--json',
    ]);
    assert.equal(created.code, 0, created.err);
    const token = JSON.parse(created.out) as { id: string; secret: string; prefix: string };
    assert.match(token.secret, /^sb_/);

    // The new token, from a config file only (no environment).
    const config = join(tmp, 'config.json');
    writeFileSync(config, JSON.stringify({ server: p.api, apiKey: token.secret }));
    const viaFile = await runCli(['zone', 'list', '--config', config, '--json'], {
      SWITCHBOARD_URL: undefined,
      SWITCHBOARD_API_KEY: undefined,
    });
    assert.equal(viaFile.code, 0, viaFile.err);
    assert.deepEqual(
      (JSON.parse(viaFile.out) as { name: string }[]).map((z) => z.name),
      ['example.com.'],
      'a token scoped to one zone sees that zone only',
    );
    // A flag beats the config file.
    const flagWins = await runCli(['zone', 'list', '--config', config, '--api-key', 'sb_wrong'], {
      SWITCHBOARD_URL: undefined,
      SWITCHBOARD_API_KEY: undefined,
    });
    assert.equal(flagWins.code, 1);

    const listed = await cli(['token', 'list']);
    assert.equal(listed.code, 0, listed.err);
    assert.match(listed.out, /^ID\s+NAME\s+PREFIX\s+SCOPE/m);
    assert.ok(listed.out.includes(token.prefix));
    assert.ok(!listed.out.includes(token.secret), 'secrets are never listed');
    assert.match(listed.out, /write on example\.com\./);

    const revoked = await cli(['token', 'revoke', token.id]);
    assert.equal(revoked.code, 0, revoked.err);
    const after = await runCli(['zone', 'list', '--config', config], {
      SWITCHBOARD_URL: undefined,
      SWITCHBOARD_API_KEY: undefined,
    });
    assert.equal(after.code, 1);
    assert.match(after.err, /HTTP 401/);
  });

  test('zone rm: the zone stops being served', async () => {
    const rm = await cli(['zone', 'rm', 'new.test', '--yes']);
    assert.equal(rm.code, 0, rm.err);
    await waitForEveryWorker(p.dnsPort, 'new.test', 6, 1, (a) => a.rcode === 5, 1000);
    const list = await cli(['zone', 'list', '--json']);
    assert.ok(!(JSON.parse(list.out) as { name: string }[]).some((z) => z.name === 'new.test.'));
  });
});
