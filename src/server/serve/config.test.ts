import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildResponderOptions, ConfigError } from '../shared/options.js';
import { buildServeConfig, decodeServeConfig, encodeServeConfig, rereadSecondaries } from './config.js';

const isConfigError = (err: unknown) => err instanceof ConfigError && err.code === 'SERVER_ERR_CONFIG';

describe('buildServeConfig', () => {
  test('fills in the defaults', () => {
    const c = buildServeConfig({ zoneDir: 'zones' }, '/srv');
    assert.equal(c.zoneDir, '/srv/zones');
    assert.deepEqual(c.listen, [{ host: '127.0.0.1', port: 5300, family: 4 }]);
    assert.equal(c.workers, availableParallelism());
    assert.equal(c.tcpIdleTimeoutMs, 10_000);
    assert.equal(c.nsid, undefined);
    assert.equal(c.ednsSize, undefined);
    // RFC 4892: the host name and the software version are answered, as NSD and Knot do.
    assert.equal(c.identity, hostname());
    assert.equal(c.version, 'Switchboard');
  });

  test('takes every option', () => {
    const c = buildServeConfig({
      zoneDir: '/z',
      listen: ['127.0.0.1:53', '[::1]:53', '::1'],
      workers: '0',
      nsid: 'ns1',
      ednsSize: '4096',
      tcpIdleTimeout: '2500',
      tcpMaxConnections: '10',
      tcpMaxPerClient: '2',
      io: 'node',
    });
    assert.deepEqual(
      c.listen.map((a) => [a.host, a.port]),
      [
        ['127.0.0.1', 53],
        ['::1', 53],
        ['::1', 5300],
      ],
    );
    assert.equal(c.workers, 0);
    assert.equal(c.nsid, 'ns1');
    assert.equal(c.ednsSize, 4096);
    assert.equal(c.tcpIdleTimeoutMs, 2500);
    assert.equal(c.tcpMaxConnections, 10);
    assert.equal(c.tcpMaxConnectionsPerClient, 2);
    assert.equal(c.io, 'node');
  });

  test('rejects bad values with SERVER_ERR_CONFIG', () => {
    for (const bad of [
      {},
      { zoneDir: 'z', listen: ['localhost:53'] },
      { zoneDir: 'z', workers: '-1' },
      { zoneDir: 'z', workers: 'two' },
      { zoneDir: 'z', workers: '1000' },
      { zoneDir: 'z', ednsSize: '100' },
      { zoneDir: 'z', ednsSize: '70000' },
      { zoneDir: 'z', nsid: '' },
      { zoneDir: 'z', tcpIdleTimeout: '0' },
      { zoneDir: 'z', identity: 'x'.repeat(256) },
      { zoneDir: 'z', identity: 'é'.repeat(128) },
      { zoneDir: 'z', io: 'fast' },
    ])
      assert.throws(() => buildServeConfig(bad), isConfigError, JSON.stringify(bad));
  });

  test('round-trips through the worker environment encoding', () => {
    const c = buildServeConfig({ zoneDir: '/z', listen: ['[::1]:5353'], nsid: 'x', workers: 2 });
    assert.deepEqual(decodeServeConfig(encodeServeConfig(c)), c);
    assert.throws(() => decodeServeConfig(undefined), isConfigError);
    assert.throws(() => decodeServeConfig('{'), isConfigError);
  });

  test('--identity, --hide-version and the package version (CH TXT id.server / version.server)', () => {
    const c = buildServeConfig({ zoneDir: 'z', identity: 'ns1-{worker}', serverVersion: '0.1.0' });
    assert.equal(c.identity, 'ns1-{worker}');
    assert.equal(c.version, 'Switchboard 0.1.0');
    const off = buildServeConfig({ zoneDir: 'z', identity: '', hideVersion: true, serverVersion: '0.1.0' });
    assert.equal(off.identity, undefined);
    assert.equal(off.version, undefined);
    assert.equal(buildServeConfig({ zoneDir: 'z', identity: 'é'.repeat(127) }).identity, 'é'.repeat(127));
  });
});

describe('buildResponderOptions', () => {
  test("'{worker}' in the NSID and the identity becomes the worker's slot", () => {
    const o = buildResponderOptions(
      { nsid: 'n{worker}', identity: 'ns1-{worker}.fra', version: 'Switchboard 0.1.0', ednsSize: 1400 },
      '3',
    );
    assert.deepEqual(o.nsid, new Uint8Array(Buffer.from('n3')));
    assert.equal(o.identity, 'ns1-3.fra');
    assert.equal(o.version, 'Switchboard 0.1.0');
    assert.equal(o.ednsSize, 1400);
  });

  test('switched-off settings stay off', () => {
    const o = buildResponderOptions({}, '0');
    assert.equal(o.nsid, undefined);
    assert.equal(o.identity, undefined);
    assert.equal(o.version, undefined);
  });

  test('the slot defaults to the one the cluster gave this process, else 0', () => {
    const saved = process.env.SWITCHBOARD_WORKER_SLOT;
    try {
      delete process.env.SWITCHBOARD_WORKER_SLOT;
      assert.equal(buildResponderOptions({ identity: 'w{worker}' }).identity, 'w0');
      process.env.SWITCHBOARD_WORKER_SLOT = '7';
      assert.equal(buildResponderOptions({ identity: 'w{worker}' }).identity, 'w7');
    } finally {
      if (saved === undefined) delete process.env.SWITCHBOARD_WORKER_SLOT;
      else process.env.SWITCHBOARD_WORKER_SLOT = saved;
    }
  });
});

test('--shield: off leaves no shield in the config; on carries the flags and one cookie secret for every worker', () => {
  assert.equal('shield' in buildServeConfig({ zoneDir: '/tmp' }), false);
  const c = buildServeConfig({
    zoneDir: '/tmp',
    shield: 'on',
    rrl: 'responses=5',
    shieldAllow: ['10.0.0.0/8'],
  });
  assert.equal(c.shield?.mode, 'on');
  assert.equal(c.shield?.rrl, 'responses=5');
  assert.deepEqual(c.shield?.allow, ['10.0.0.0/8']);
  assert.match(c.shield?.cookieSecrets[0] ?? '', /^[0-9a-f]{32}$/);
  assert.throws(() => buildServeConfig({ zoneDir: '/tmp', rrl: 'responses=5' }), /need --shield on/);
});

test('--secondary: zones followed from primaries, with --secondary-dir; bad values refused', () => {
  const secret = Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
  const c = buildServeConfig(
    {
      zoneDir: 'zones',
      workers: 1,
      secondary: [
        'Example.COM=192.0.2.1,[2001:db8::1]:5353',
        `b.test.=127.0.0.1:5301/xfr:hmac-sha256:${secret}`,
      ],
      secondaryDir: 'state',
    },
    '/srv',
  );
  assert.equal(c.secondaryDir, '/srv/state');
  assert.deepEqual(c.secondaries, [
    { name: 'example.com.', primaries: ['192.0.2.1:53', '[2001:db8::1]:5353'] },
    {
      name: 'b.test.',
      primaries: ['127.0.0.1:5301'],
      key: { name: 'xfr.', algorithm: 'hmac-sha256', secret },
    },
  ]);
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ secondary: ['a.test.=127.0.0.1'] }, /needs --secondary-dir/],
    [{ secondaryDir: 'state' }, /without --secondary/],
    [{ secondary: ['a.test.'], secondaryDir: 's' }, /expected NAME=/],
    [{ secondary: ['a.test.=not-an-address'], secondaryDir: 's' }, /primary 'not-an-address'/],
    [{ secondary: ['a.test.=127.0.0.1/xfr:hmac-sha999:AAAA'], secondaryDir: 's' }, /key:/],
    [{ secondary: ['a.test.=127.0.0.1', 'A.test=127.0.0.2'], secondaryDir: 's' }, /given twice/],
    [{ secondary: ['a.test.=127.0.0.1'], secondaryDir: 's', images: 'off' }, /needs --images on/],
    [{ secondary: ['a.test.=127.0.0.1'], secondaryDir: 'zones' }, /another folder/],
  ];
  for (const [input, re] of refused)
    assert.throws(
      () => buildServeConfig({ zoneDir: 'zones', workers: 1, ...input }, '/srv'),
      (err: unknown) => isConfigError(err) && re.test((err as Error).message),
      JSON.stringify(input),
    );
});

test('--secondaries-file: one --secondary value a line, merged with the flags; errors name the line, not its secret', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-secfile-'));
  try {
    const secret = Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
    const file = join(dir, 'secondaries');
    writeFileSync(
      file,
      [
        '# zones we follow',
        '',
        `b.test.=127.0.0.1:5301/xfr:hmac-sha256:${secret}   # Knot`,
        '  c.test=192.0.2.7',
      ].join('\n'),
    );
    const c = buildServeConfig(
      {
        zoneDir: 'zones',
        workers: 1,
        secondary: ['a.test.=192.0.2.1'],
        secondariesFile: file,
        secondaryDir: 'state',
      },
      '/srv',
    );
    assert.deepEqual(
      c.secondaries?.map((s) => [s.name, s.primaries, s.key?.name]),
      [
        ['a.test.', ['192.0.2.1:53'], undefined],
        ['b.test.', ['127.0.0.1:5301'], 'xfr.'],
        ['c.test.', ['192.0.2.7:53'], undefined],
      ],
    );
    // A file alone is enough; the same zone in the flags and the file is refused.
    const alone = buildServeConfig(
      { zoneDir: 'zones', workers: 1, secondariesFile: file, secondaryDir: 's' },
      '/srv',
    );
    assert.equal(alone.secondaries?.length, 2);
    const twice = (): unknown =>
      buildServeConfig(
        {
          zoneDir: 'zones',
          workers: 1,
          secondary: ['c.test.=127.0.0.1'],
          secondariesFile: file,
          secondaryDir: 's',
        },
        '/srv',
      );
    assert.throws(twice, /given twice/);
    // SIGHUP reads the file again (the flags' zones first); an empty file is a valid set.
    writeFileSync(file, '# none yet\nd.test.=192.0.2.9:5300\n');
    const withFlag = buildServeConfig(
      {
        zoneDir: 'zones',
        workers: 1,
        secondary: ['a.test.=192.0.2.1'],
        secondariesFile: file,
        secondaryDir: 's',
      },
      '/srv',
    );
    writeFileSync(file, 'e.test.=192.0.2.10\nd.test.=192.0.2.9:5301\n');
    assert.deepEqual(
      rereadSecondaries(withFlag).map((z) => [z.name, z.primaries]),
      [
        ['a.test.', ['192.0.2.1:53']],
        ['e.test.', ['192.0.2.10:53']],
        ['d.test.', ['192.0.2.9:5301']],
      ],
    );
    writeFileSync(file, 'a.test.=192.0.2.3\n');
    assert.throws(() => rereadSecondaries(withFlag), /given twice/);
    writeFileSync(file, '');
    assert.deepEqual(
      buildServeConfig({ zoneDir: 'zones', workers: 1, secondariesFile: file, secondaryDir: 's' }, '/srv')
        .secondaries,
      [],
    );
    // A bad line: the file and line named, the line's text (a secret) not echoed.
    writeFileSync(file, `ok.test.=127.0.0.1\nbad.test.=127.0.0.1/xfr:hmac-sha999:${secret}\n`);
    assert.throws(
      () =>
        buildServeConfig({ zoneDir: 'zones', workers: 1, secondariesFile: file, secondaryDir: 's' }, '/srv'),
      (err: unknown) =>
        isConfigError(err) &&
        (err as Error).message.startsWith(`${file}:2: `) &&
        !(err as Error).message.includes(secret),
    );
    assert.throws(
      () =>
        buildServeConfig(
          { zoneDir: 'zones', workers: 1, secondariesFile: join(dir, 'none'), secondaryDir: 's' },
          '/srv',
        ),
      /--secondaries-file/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
