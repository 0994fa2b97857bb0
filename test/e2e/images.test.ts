/**
 * `--images on` end to end (issue 7): the primary compiles each zone once and the DNS workers
 * serve the shared images. With `serve` and `start`, 2 workers: answers at the dig/kdig level
 * (the same as `--images off` gives), a zone change reaching every worker, a bad zone keeping
 * the old one, a killed worker restarted and answering, and no zone text parsed in any worker
 * (each worker reports its counters; the primary logs them); an image corrupted in its pack
 * found at its zone's first query (SERVFAIL, logged once).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  closeSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ENTRY_HEADER_SIZE, ENTRY_TAG, PACK_HEADER_SIZE, packMmapStatus } from '../../src/image/pack.js';
import { openImage } from '../../src/image/reader.js';
import { nativeUdpStatus } from '../../src/transport/native-udp.js';
import { exampleZones } from '../helpers/paths.js';
import { listChildren, skipUnlessCommands, switchboardBin } from '../helpers/peers.js';
import { callApi, type Platform, startPlatform, waitForEveryWorker } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait-for.js';
import { dig, freePort, kdig, type ServeProcess, startServe } from './support.js';

const skip = skipUnlessCommands('dig', 'kdig');
const A = 1;
const LOADS =
  /worker (\d+): (\d+) zone images mapped, \d+ opened(?: \(packs [a-z ]+\))?, (\d+) zone texts parsed/g;

/**
 * Every `worker N: X zone images mapped, Z opened, Y zone texts parsed` line, as [slot, mapped,
 * parsed] (mapped: refs taken; their images open on each zone's first query).
 */
function loadLines(stderr: string): [number, number, number][] {
  return [...stderr.matchAll(LOADS)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3])]);
}

/** Queries both tools answer identically with images on and off (kept small: the corpus runs elsewhere). */
const QUERIES: [string, string][] = [
  ['www.example.com', 'A'],
  ['www.example.com', 'AAAA'],
  ['example.com', 'MX'],
  ['example.com', 'NS'],
  ['ftp.example.com', 'A'],
  ['x.apps.example.com', 'A'],
  ['nope.example.com', 'A'],
  ['www.example.com', 'TXT'],
  ['host.lab.example.com', 'A'],
  ['_sip._udp.example.com', 'SRV'],
  ['example.org', 'SOA'],
  ['www.example.org', 'A'],
];

describe('serve --images on, 2 workers', { skip }, () => {
  let on: ServeProcess;
  let off: ServeProcess;
  let port: number;
  let offPort: number;
  let dir: string;
  let reloads = 0;
  const orgFile = () => join(dir, 'example.org.zone');
  const reload = async () => {
    reloads++;
    on.child.kill('SIGHUP');
    await on.waitForStderr(/reload: serving .*\(2 workers reloaded\)/, reloads);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-images-'));
    cpSync(exampleZones, dir, { recursive: true });
    port = await freePort();
    offPort = await freePort();
    const common = ['--zone-dir', dir, '--workers', '2', '--nsid', 'w{worker}'];
    on = await startServe([...common, '--listen', `127.0.0.1:${port}`, '--images', 'on']);
    assert.ok(on.startLine, on.stderr());
    off = await startServe([...common, '--listen', `127.0.0.1:${offPort}`, '--images', 'off']);
    assert.ok(off.startLine, off.stderr());
  });
  after(async () => {
    await on?.stop();
    await off?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('each worker opened the images and parsed no zone text', async () => {
    // The primary's stderr, read by this process beside the start line on stdout: wait for it.
    await on.waitForStderr(LOADS, 2, 15_000);
    await on.waitForStderr(/compiled 2 zone images in \d+ ms/, 1, 15_000);
    const lines = loadLines(on.stderr());
    assert.deepEqual(lines.map(([slot]) => slot).sort(), [0, 1], on.stderr());
    for (const [, opened, parsed] of lines) {
      assert.equal(opened, 2);
      assert.equal(parsed, 0);
    }
    assert.match(on.stderr(), /compiled 2 zone images in \d+ ms/);
    // Where the mmap addon loads (and SWITCHBOARD_PACK_MMAP is not 0, as in this process, whose
    // environment serve inherits) the packs are memory-mapped: one copy in the page cache for
    // every worker; else each worker reads copies.
    const how = packMmapStatus().mapped ? 'packs mapped' : 'packs read as copies';
    assert.match(on.stderr(), new RegExp(`zone images mapped, \\d+ opened \\(${how}\\)`), on.stderr());
  });

  test('dig and kdig get the same answers as with --images off', async () => {
    for (const [name, type] of QUERIES) {
      const a = await dig('127.0.0.1', port, name, type);
      const b = await dig('127.0.0.1', offPort, name, type);
      assert.equal(a.status, b.status, `${name} ${type}`);
      assert.deepEqual(a.answers, b.answers, `${name} ${type}`);
      const k = await kdig('127.0.0.1', port, name, type);
      assert.equal(k.status, a.status, `kdig ${name} ${type}`);
      assert.deepEqual(k.answers.sort(), [...a.answers].sort(), `kdig ${name} ${type}`);
    }
    const tcp = await dig('127.0.0.1', port, 'www.example.com', 'A', '+tcp');
    const udp = await dig('127.0.0.1', offPort, 'www.example.com', 'A');
    assert.deepEqual(tcp.answers, udp.answers);
    assert.equal(tcp.answers.length, 1);
  });

  test('a changed zone reaches every worker; a bad one keeps the old image', async () => {
    const good = readFileSync(orgFile(), 'latin1').replace(' 1 7200 ', ' 2 7200 ');
    writeFileSync(orgFile(), `${good}new     IN A   192.0.2.77\n`);
    await reload();
    await waitForEveryWorker(port, 'new.example.org', A, 2, (a) => a.answers.includes('192.0.2.77'), 10_000);

    const current = readFileSync(orgFile(), 'latin1');
    writeFileSync(orgFile(), `${current}broken  IN A   not-an-address\n`);
    const line = `${current}broken`.split('\n').length;
    await reload();
    assert.ok(on.stderr().includes(`${orgFile()}:${line}:`), on.stderr());
    assert.match(on.stderr(), /example\.org\.zone: not reloaded; still serving example\.org\. serial 2/);
    await waitForEveryWorker(port, 'new.example.org', A, 2, (a) => a.answers.includes('192.0.2.77'), 10_000);
    writeFileSync(orgFile(), current);
  });

  test('a killed worker is restarted with every current image and answers', async () => {
    const workers = listChildren(on.pid);
    assert.equal(workers.length, 2);
    const before = loadLines(on.stderr()).length;
    process.kill(workers[0], 'SIGKILL');
    await on.waitForStderr(/worker \d+ restarted, serving 2 zones/);
    // The restarted worker's load line may come after the restart line.
    await on.waitForStderr(LOADS, before + 1, 15_000);
    const lines = loadLines(on.stderr());
    assert.equal(lines.length, before + 1);
    assert.deepEqual(lines.at(-1)?.slice(1), [2, 0]);
    await waitForEveryWorker(port, 'new.example.org', A, 2, (a) => a.answers.includes('192.0.2.77'), 10_000);
  });
});

describe('start --images on, 2 workers', { skip }, () => {
  let platform: Platform;
  let key: string;

  before(async () => {
    platform = await startPlatform({ workers: 2, extraArgs: ['--images', 'on'] });
    key = platform.printedKey ?? '';
    assert.ok(key, platform.stderr());
  });
  after(async () => {
    await platform?.stop();
  });

  test('the example zones answer from every worker; no worker parsed zone text', async () => {
    await waitForEveryWorker(
      platform.dnsPort,
      'www.example.com',
      A,
      2,
      (a) => a.answers.includes('192.0.2.10'),
      10_000,
    );
    // The primary logs a worker's load line when the worker reports: perhaps after it answered.
    await waitFor('both load lines', async () => loadLines(platform.stderr()).length >= 2, 15_000);
    const lines = loadLines(platform.stderr());
    assert.equal(lines.length, 2, platform.stderr());
    for (const [, opened, parsed] of lines) {
      assert.ok(opened >= 2);
      assert.equal(parsed, 0);
    }
    const r = await kdig('127.0.0.1', platform.dnsPort, 'www.example.com', 'AAAA');
    assert.equal(r.status, 'NOERROR');
  });

  test('a record added through the API reaches every worker', async () => {
    const res = await callApi(platform.api, key, 'PATCH', '/api/v1/zones/example.com./rrsets', {
      changes: [
        {
          op: 'replace',
          name: 'fresh.example.com.',
          type: 'A',
          ttl: 60,
          records: [{ content: '192.0.2.123' }],
        },
      ],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await waitForEveryWorker(
      platform.dnsPort,
      'fresh.example.com',
      A,
      2,
      (a) => a.answers.includes('192.0.2.123'),
      10_000,
    );
  });

  test('a killed worker comes back with every current image and answers', async () => {
    const workers = listChildren(platform.pid);
    assert.equal(workers.length, 2);
    process.kill(workers[1], 'SIGKILL');
    const deadline = Date.now() + 20_000;
    while (loadLines(platform.stderr()).length < 3 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const lines = loadLines(platform.stderr());
    assert.equal(lines.length, 3, platform.stderr());
    assert.equal(lines[2][2], 0);
    await waitForEveryWorker(
      platform.dnsPort,
      'fresh.example.com',
      A,
      2,
      (a) => a.answers.includes('192.0.2.123'),
      10_000,
    );
  });

  test("a restarted worker opens the snapshot's big image without its CRC-32 (start's own images are trusted)", async () => {
    // 3,000 names: an image over EAGER_OPEN_BYTES (256 KiB), opened when the snapshot is applied.
    const lines = ['$TTL 300', '@ SOA ns1 hostmaster 1 3600 600 86400 300', '@ NS ns1', 'ns1 A 192.0.2.53'];
    for (let i = 0; i < 3000; i++) lines.push(`host${i} A 198.18.${i >> 8}.${i & 255}`);
    const made = await callApi(platform.api, key, 'POST', '/api/v1/zones', {
      name: 'trusted-big.test.',
      zonefile: `${lines.join('\n')}\n`,
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await waitForEveryWorker(
      platform.dnsPort,
      'host2999.trusted-big.test',
      A,
      2,
      (a) => a.answers.includes('198.18.11.183'),
      15_000,
    );
    const workers = listChildren(platform.pid);
    assert.equal(workers.length, 2);
    const before = loadLines(platform.stderr()).length;
    process.kill(workers[0], 'SIGKILL');
    await waitFor(
      "the restarted worker's load line",
      async () => loadLines(platform.stderr()).length > before,
      20_000,
    );
    const line = platform
      .stderr()
      .split('\n')
      .filter((l) => /DNS worker \d+: \d+ zone images mapped/.test(l))
      .at(-1);
    // Its snapshot's big image opened at apply (1 opened), trusted: neither a CRC-32 of its
    // octets nor the full validation (an image in a shared pack has no CRC: it would be validated).
    assert.match(
      line ?? '',
      /zone images mapped, 1 opened .*, 0 zone texts parsed, 0 images checked by CRC-32, 1 opened trusted/,
    );
    await waitForEveryWorker(
      platform.dnsPort,
      'host0.trusted-big.test',
      A,
      2,
      (a) => a.answers.includes('198.18.0.0'),
      10_000,
    );
  });
});

describe('serve --images on with its own TMPDIR: signals during the cold compile, a corrupted image', () => {
  /** Spawns serve over `files` zone files (then `prepare` on their folder), with its own TMPDIR (where its packs go). */
  async function spawnServe(files: number, prepare?: (zones: string) => void) {
    const dir = mkdtempSync(join(tmpdir(), 'sb-images-sig-'));
    const zones = join(dir, 'zones');
    const packs = join(dir, 'tmp');
    mkdirSync(zones);
    mkdirSync(packs);
    for (let i = 0; i < files; i++)
      writeFileSync(
        join(zones, `z${i}.test.zone`),
        `$ORIGIN z${i}.test.\n$TTL 300\n@ IN SOA ns1.example.net. h.example.net. 1 7200 900 1209600 300\n  IN NS ns1.example.net.\nwww IN A 192.0.2.1\n`,
      );
    prepare?.(zones);
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        switchboardBin(),
        'serve',
        '--zone-dir',
        zones,
        '--workers',
        '1',
        '--listen',
        `127.0.0.1:${port}`,
        '--images',
        'on',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: packs } },
    );
    let out = '';
    const waiters = new Set<() => void>();
    const feed = (d: Buffer) => {
      out += d.toString('utf8');
      for (const w of waiters) w();
    };
    child.stdout.on('data', feed);
    child.stderr.on('data', feed);
    const exited = new Promise<number | string | null>((r) =>
      child.once('exit', (code, signal) => r(code ?? signal)),
    );
    const until = (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (re.test(out)) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
        void exited.then(() => {
          if (!re.test(out)) reject(new Error(`exited before ${re}:\n${out}`));
        });
      });
    const cleanup = () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    };
    return { child, packs, port, exited, until, out: () => out, cleanup };
  }

  test('an image corrupted in its pack after the start: its zone answers SERVFAIL, logged once; the others answer', async (t) => {
    const s = await spawnServe(3);
    t.after(s.cleanup);
    await s.until(/switchboard: serving 3 zones/);
    // With the addon, C answers are on (the default with images over the native path): C must
    // not answer z1.test. from an image validated before the corruption. (The suite may be run
    // on the node path, or with C answers off, through the environment.)
    const cAnswers =
      nativeUdpStatus().ok &&
      process.env.SWITCHBOARD_IO !== 'node' &&
      !['off', '0'].includes(process.env.SWITCHBOARD_NATIVE_ANSWERS ?? '');
    if (cAnswers) await s.until(/native answers: 3 zones served in C/);
    // Find z1.test.'s image in the pack (entries: u32 length, u32 tag, the image) and break its
    // magic: the worker has not opened it (no query yet), so it finds it at the first query.
    const [packDir] = readdirSync(s.packs);
    const packFile = readdirSync(join(s.packs, packDir)).find((f) => f.endsWith('.sbpack'));
    assert.ok(packFile, s.out());
    const path = join(s.packs, packDir, packFile);
    const pack = readFileSync(path);
    const want = Buffer.from('\x02z1\x04test\x00', 'latin1');
    let at = -1;
    for (let o = PACK_HEADER_SIZE; o + ENTRY_HEADER_SIZE <= pack.length; ) {
      const len = pack.readUInt32LE(o);
      if (pack.readUInt32LE(o + 4) !== ENTRY_TAG) break;
      const image = openImage(pack.subarray(o + ENTRY_HEADER_SIZE, o + ENTRY_HEADER_SIZE + len));
      if (Buffer.from(image.origin).equals(want)) at = o + ENTRY_HEADER_SIZE;
      o += (ENTRY_HEADER_SIZE + len + 7) & ~7;
    }
    assert.ok(at > 0, 'z1.test. found in the pack');
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(4), 0, 4, at);
    closeSync(fd);
    for (let i = 0; i < 3; i++) {
      assert.equal((await dig('127.0.0.1', s.port, 'z1.test', 'SOA')).status, 'SERVFAIL');
      assert.equal((await dig('127.0.0.1', s.port, 'www.z0.test', 'A')).status, 'NOERROR');
      assert.equal((await dig('127.0.0.1', s.port, 'z2.test', 'SOA')).status, 'NOERROR');
    }
    const lines = s
      .out()
      .match(
        /zone image of z1\.test\. cannot be opened; its queries are answered SERVFAIL: zone image: bad magic/g,
      );
    assert.equal(lines?.length, 1, s.out());
  });

  test('1,500 files, read without their fstat at the start: a bad one refused by name, never served; the others answer; a SIGHUP serves an edit', async (t) => {
    const zoneOf = (i: number, serial: number, a: string) =>
      `$ORIGIN z${i}.test.\n$TTL 300\n@ IN SOA ns1.example.net. h.example.net. ${serial} 7200 900 1209600 300\n  IN NS ns1.example.net.\nwww IN A ${a}\n`;
    let zones = '';
    const s = await spawnServe(1500, (dir) => {
      zones = dir;
      writeFileSync(join(dir, 'z7.test.zone'), zoneOf(7, 1, 'not-an-address'));
    });
    t.after(s.cleanup);
    await s.until(/switchboard: serving 1499 zones/);
    assert.match(s.out(), /z7\.test\.zone:5: /);
    assert.equal((await dig('127.0.0.1', s.port, 'www.z7.test', 'A')).status, 'REFUSED');
    for (const i of [0, 6, 8, 1499]) {
      const r = await dig('127.0.0.1', s.port, `www.z${i}.test`, 'A');
      assert.equal(r.status, 'NOERROR', `z${i}`);
      assert.match(r.answers.join('\n'), /^www\.z\d+\.test\.\s+A\s+192\.0\.2\.1$/);
    }
    // Files changed within 2 s of the load's start keep no fingerprint: the reload reads every
    // file again, and serves the edit and the fixed file.
    writeFileSync(join(zones, 'z3.test.zone'), zoneOf(3, 2, '192.0.2.33'));
    writeFileSync(join(zones, 'z7.test.zone'), zoneOf(7, 2, '192.0.2.7'));
    s.child.kill('SIGHUP');
    await s.until(/reload: serving 1500 zones.*\(1 workers reloaded\)/);
    const a = async (i: number) => (await dig('127.0.0.1', s.port, `www.z${i}.test`, 'A')).answers.join('\n');
    assert.match(await a(3), /\s192\.0\.2\.33$/);
    assert.match(await a(7), /\s192\.0\.2\.7$/);
    assert.match(await a(9), /\s192\.0\.2\.1$/);
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0, s.out());
  });

  test('SIGTERM while compiling: exit 0, the packs removed', async (t) => {
    const s = await spawnServe(3000);
    t.after(s.cleanup);
    await s.until(/UDP path: /); // logged just before the compile starts
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0, s.out());
    assert.match(s.out(), /SIGTERM(:| while compiling:) stopping/);
    assert.deepEqual(readdirSync(s.packs), [], s.out());
  });

  test('SIGHUP while compiling: serve survives and reloads once it serves', async (t) => {
    const s = await spawnServe(3000);
    t.after(s.cleanup);
    await s.until(/UDP path: /);
    s.child.kill('SIGHUP');
    await s.until(/reload: serving .*\(1 workers reloaded\)/);
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0, s.out());
    assert.deepEqual(readdirSync(s.packs), [], s.out());
  });
});
