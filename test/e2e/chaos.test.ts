/**
 * RFC 4892 server identity end to end: `dig CH TXT id.server` (and `hostname.bind`,
 * `version.server`, `version.bind`) against the real `switchboard serve` and
 * `switchboard start`, with `--identity` (per-worker `{worker}`), its host-name default, an
 * empty identity, and `--hide-version`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { exampleZones } from '../helpers/paths.js';
import { skipUnlessCommands } from '../helpers/peers.js';
import { makeDataDir, type Platform, removeDataDir, startPlatform } from '../helpers/platform.js';
import { type DigResult, dig, freePort, kdig, type ServeProcess, startServe } from './support.js';

const skip = skipUnlessCommands('dig', 'kdig');
/** What `version.server` answers: the name and package.json's version. */
const VERSION = `Switchboard ${(JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version}`;

/** `dig @127.0.0.1 -p PORT CH TXT NAME`. */
function chaos(port: number, name: string, ...extra: string[]): Promise<DigResult> {
  return dig('127.0.0.1', port, name, 'TXT', '-c', 'CH', ...extra);
}

/** Checks a positive CH answer (NOERROR, AA clear, TTL 0, one TXT) and returns its text. */
function txtOf(r: DigResult, name: string): string {
  assert.equal(r.status, 'NOERROR', r.text);
  // NSD and Knot leave AA clear on these answers: the data belongs to no zone.
  assert.ok(!r.flags.includes('aa'), r.text);
  assert.equal(r.answers.length, 1, r.text);
  assert.match(r.text, new RegExp(`^${name.replaceAll('.', '\\.')}\\s+0\\s+CH\\s+TXT\\s`, 'm'), r.text);
  const m = /^\S+ TXT "(.*)"$/.exec(r.answers[0]);
  assert.ok(m, r.text);
  return m[1];
}

describe('serve: CH TXT id.server with --identity per worker', { skip }, () => {
  let server: ServeProcess;
  let port: number;

  before(async () => {
    port = await freePort();
    server = await startServe([
      '--zone-dir',
      exampleZones,
      '--listen',
      `127.0.0.1:${port}`,
      '--workers',
      '2',
      '--identity',
      'e2e-{worker}',
      '--nsid',
      'n{worker}',
    ]);
    assert.ok(server.startLine, `no start line:\n${server.stderr()}`);
  });
  after(() => server?.stop());

  for (const transport of ['udp', 'tcp'] as const) {
    const extra = transport === 'tcp' ? ['+tcp'] : [];

    test(`${transport}: id.server. and hostname.bind. name the worker that answered`, async () => {
      for (const name of ['id.server.', 'hostname.bind.', 'ID.Server.'])
        assert.match(txtOf(await chaos(port, name, ...extra), name), /^e2e-[01]$/);
    });

    test(`${transport}: version.server. and version.bind. give the package version`, async () => {
      for (const name of ['version.server.', 'version.bind.'])
        assert.equal(txtOf(await chaos(port, name, ...extra), name), VERSION);
    });

    test(`${transport}: other CH names and types are REFUSED (EDE 21, as NSD)`, async () => {
      for (const r of [
        await chaos(port, 'authors.bind.', ...extra),
        await dig('127.0.0.1', port, 'id.server.', 'A', '-c', 'CH', ...extra),
      ]) {
        assert.equal(r.status, 'REFUSED', r.text);
        assert.match(r.text, /EDE: 21/, r.text);
      }
    });
  }

  test('the identity and the NSID come from the same worker', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await kdig('127.0.0.1', port, 'id.server.', 'TXT', '-c', 'CH', '+nsid');
      assert.equal(r.status, 'NOERROR', r.text);
      const nsid = /NSID: .*"n(\d+)"/.exec(r.text)?.[1];
      assert.ok(nsid !== undefined, r.text);
      assert.ok(
        r.answers.some((a) => a.endsWith(`"e2e-${nsid}"`)),
        r.text,
      );
    }
  });

  test('the zones are still served (IN class)', async () => {
    const r = await dig('127.0.0.1', port, 'www.example.com', 'A');
    assert.equal(r.status, 'NOERROR', r.text);
  });
});

describe('serve --workers 0: the host name by default; --hide-version', { skip }, () => {
  let server: ServeProcess;
  let port: number;

  before(async () => {
    port = await freePort();
    server = await startServe([
      '--zone-dir',
      exampleZones,
      '--listen',
      `127.0.0.1:${port}`,
      '--workers',
      '0',
      '--hide-version',
    ]);
    assert.ok(server.startLine, `no start line:\n${server.stderr()}`);
  });
  after(() => server?.stop());

  test('id.server. answers the host name, as NSD and Knot do', async () => {
    assert.equal(txtOf(await chaos(port, 'id.server.'), 'id.server.'), hostname());
  });

  test('version.server. and version.bind. are REFUSED with EDE 18 (NSD hide-version)', async () => {
    for (const name of ['version.server.', 'version.bind.']) {
      const r = await chaos(port, name);
      assert.equal(r.status, 'REFUSED', r.text);
      assert.match(r.text, /EDE: 18/, r.text);
    }
  });
});

describe("serve --identity '': id.server. is REFUSED", { skip }, () => {
  let server: ServeProcess;
  let port: number;

  before(async () => {
    port = await freePort();
    server = await startServe([
      '--zone-dir',
      exampleZones,
      '--listen',
      `127.0.0.1:${port}`,
      '--workers',
      '0',
      '--identity',
      '',
    ]);
    assert.ok(server.startLine, `no start line:\n${server.stderr()}`);
  });
  after(() => server?.stop());

  test('identity names refused, version still answered', async () => {
    for (const name of ['id.server.', 'hostname.bind.']) {
      const r = await chaos(port, name);
      assert.equal(r.status, 'REFUSED', r.text);
      assert.match(r.text, /EDE: 18/, r.text);
    }
    assert.equal(txtOf(await chaos(port, 'version.bind.'), 'version.bind.'), VERSION);
  });

  test('an identity over 255 octets is an invalid option (exit 1)', async () => {
    const bad = await startServe(['--zone-dir', exampleZones, '--identity', 'x'.repeat(256)]);
    assert.equal(await bad.exited, 1);
    assert.match(bad.stderr(), /--identity is longer than 255 octets/);
  });
});

describe('start: CH TXT id.server per DNS worker, --hide-version', { skip }, () => {
  let platform: Platform;
  let dataDir: string;

  before(async () => {
    dataDir = makeDataDir();
    // startPlatform passes --nsid w{worker}: the identity must name the same worker.
    platform = await startPlatform({
      dataDir,
      workers: 2,
      extraArgs: ['--identity', 'sb-{worker}', '--hide-version'],
    });
  });
  after(async () => {
    await platform?.stop();
    if (dataDir) removeDataDir(dataDir);
  });

  test('id.server. names the worker that answered (the same one as the NSID)', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await kdig('127.0.0.1', platform.dnsPort, 'id.server.', 'TXT', '-c', 'CH', '+nsid');
      assert.equal(r.status, 'NOERROR', r.text);
      const nsid = /NSID: .*"w(\d+)"/.exec(r.text)?.[1];
      assert.ok(nsid !== undefined, r.text);
      assert.ok(
        r.answers.some((a) => a.endsWith(`"sb-${nsid}"`)),
        r.text,
      );
    }
    assert.match(
      txtOf(await chaos(platform.dnsPort, 'hostname.bind.', '+tcp'), 'hostname.bind.'),
      /^sb-[01]$/,
    );
  });

  test('version.bind. is REFUSED with EDE 18', async () => {
    const r = await chaos(platform.dnsPort, 'version.bind.');
    assert.equal(r.status, 'REFUSED', r.text);
    assert.match(r.text, /EDE: 18/, r.text);
  });
});
