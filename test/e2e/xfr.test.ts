/**
 * Zone transfers out of `switchboard serve` (docs/TRANSFERS.md), end to end with kdig and dig:
 * AXFR refused unless allowed (`--allow-axfr-from`, `--transfer-key`), NOTAUTH with BADKEY or
 * BADSIG for bad keys, NOTIMP over UDP, several transfers and queries on one connection
 * (RFC 7766), and a 100,000-record zone in many messages, every one signed and checked by the
 * peer — with images (the workers' path) and without (`--images off --workers 0`).
 * @module
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeMessage } from '../../src/wire/decode.js';
import { buildQuery, queryUdp, readHeader } from '../helpers/dns-client.js';
import { skipUnlessCommands } from '../helpers/peers.js';
import { FramedClient, frame, freePort, type ServeProcess, startServe } from './support.js';

const skip = skipUnlessCommands('dig', 'kdig');
const AXFR = 252;
const SOA = 6;
const A = 1;
const NOTIMP = 4;
const REFUSED = 5;

const SECRET = Buffer.from('edge-key-secret-for-the-xfr-e2e-test!!').toString('base64');
const WRONG = Buffer.from('not-the-edge-key-secret-of-this-test!!').toString('base64');
const BIG = 100_000;

const small = [
  '$ORIGIN small.test.',
  '$TTL 300',
  '@ IN SOA ns1 hostmaster 2024010101 3600 600 86400 300',
  '@ NS ns1',
  'ns1 A 127.0.0.1',
  'www A 192.0.2.1',
  'www AAAA 2001:db8::1',
  'mail MX 10 www',
  'txt TXT "hello" "world"',
  '',
].join('\n');

function bigZone(): string {
  const lines = [
    '$ORIGIN big.test.',
    '$TTL 300',
    '@ IN SOA ns1 hostmaster 7 3600 600 86400 300',
    '@ NS ns1',
    'ns1 A 127.0.0.1',
  ];
  // BIG records in all: the SOA, the NS and ns1 above, and BIG − 3 more.
  for (let i = 0; i < BIG - 3; i++)
    lines.push(
      i % 10 === 0 ? `h${i} TXT "record ${i}"` : `h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    );
  return `${lines.join('\n')}\n`;
}

/** Runs kdig or dig with a large output buffer; resolves with stdout + stderr. */
function run(tool: 'dig' | 'kdig', args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(tool, args, { timeout: 60_000, maxBuffer: 256 * 1024 * 1024 }, (_e, out, err) =>
      resolve(`${out}${err}`),
    );
  });
}

/** The answer records of an AXFR printed by kdig/dig (comments and TSIG left out). */
function records(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith(';') && !/\sTSIG\s/.test(l))
    .map((l) => l.trim().split(/\s+/).join(' '));
}

const modes = [
  { name: 'images (1 worker)', args: ['--workers', '1'] },
  { name: 'no images, one process', args: ['--images', 'off', '--workers', '0'] },
];

for (const mode of modes) {
  describe(`serve AXFR: ${mode.name}`, { skip }, () => {
    let dir: string;
    let server: ServeProcess;
    let port: number;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sb-xfr-'));
      writeFileSync(join(dir, 'small.test.zone'), small);
      writeFileSync(join(dir, 'big.test.zone'), bigZone());
      port = await freePort();
      server = await startServe(
        [
          '--zone-dir',
          dir,
          '--listen',
          `127.0.0.1:${port}`,
          ...mode.args,
          '--transfer-key',
          `edge1.:hmac-sha256:${SECRET}`,
          '--allow-axfr-from',
          '127.0.0.2',
          '--allow-axfr-from',
          '127.0.1.0/24',
        ],
        60_000,
      );
      assert.ok(server.startLine, `no start line:\n${server.stderr()}`);
    });
    after(async () => {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    const at = () => ['@127.0.0.1', '-p', String(port)];

    test('unsigned from an address not allowed: REFUSED; from an allowed address or prefix: the zone, SOA first and last', async () => {
      assert.match(await run('kdig', [...at(), 'AXFR', 'small.test']), /REFUSED/);
      for (const source of ['127.0.0.2', '127.0.1.77']) {
        const text = await run('kdig', [...at(), '-b', source, 'AXFR', 'small.test']);
        const rr = records(text);
        assert.equal(rr.length, 8, text);
        assert.match(
          rr[0],
          /^small\.test\. 300 IN SOA ns1\.small\.test\. hostmaster\.small\.test\. 2024010101 /,
        );
        assert.equal(rr[rr.length - 1], rr[0]);
        assert.ok(rr.includes('txt.small.test. 300 IN TXT "hello" "world"'), text);
      }
    });

    test('signed with the edge key: the zone, its TSIG checked by kdig and dig; bad keys: NOTAUTH BADKEY / BADSIG', async () => {
      const text = await run('kdig', [...at(), '-y', `hmac-sha256:edge1:${SECRET}`, 'AXFR', 'small.test']);
      assert.equal(records(text).length, 8, text);
      assert.doesNotMatch(text, /WARNING|failed/i);
      const d = await run('dig', [...at(), '-y', `hmac-sha256:edge1:${SECRET}`, 'AXFR', 'small.test']);
      assert.match(d, /XFR size: 8 records/, d);
      assert.doesNotMatch(d, /Couldn't verify|failed/i);
      assert.match(
        await run('kdig', [...at(), '-y', `hmac-sha256:edge1:${WRONG}`, 'AXFR', 'small.test']),
        /BADSIG/,
      );
      assert.match(
        await run('kdig', [...at(), '-y', `hmac-sha256:stranger:${SECRET}`, 'AXFR', 'small.test']),
        /BADKEY/,
      );
      // A zone we do not serve: REFUSED, signed.
      const other = await run('kdig', [
        ...at(),
        '-y',
        `hmac-sha256:edge1:${SECRET}`,
        'AXFR',
        'elsewhere.test',
      ]);
      assert.match(other, /REFUSED/);
    });

    test('a signed SOA query (a secondary refreshing) gets a signed answer, over UDP and TCP', async () => {
      for (const t of ['+notcp', '+tcp']) {
        const text = await run('kdig', [
          ...at(),
          '-y',
          `hmac-sha256:edge1:${SECRET}`,
          'SOA',
          'small.test',
          t,
        ]);
        assert.match(text, /status: NOERROR/);
        assert.match(text, /TSIG PSEUDOSECTION/);
        assert.doesNotMatch(text, /WARNING|failed/i, text);
      }
    });

    test('AXFR over UDP: NOTIMP (RFC 5936 §4.2)', async () => {
      const r = await queryUdp(buildQuery({ id: 9, name: 'small.test.', type: AXFR }), { port });
      assert.equal(readHeader(r).rcode, NOTIMP);
    });

    test('one connection: AXFR, a query, AXFR again, a refused AXFR (RFC 7766 pipelining, answered in order)', async () => {
      const c = await FramedClient.connect('127.0.0.1', port);
      try {
        c.sock.write(
          Buffer.concat([
            frame(buildQuery({ id: 1, name: 'small.test.', type: AXFR })),
            frame(buildQuery({ id: 2, name: 'www.small.test.', type: A })),
            frame(buildQuery({ id: 3, name: 'small.test.', type: AXFR })),
            frame(buildQuery({ id: 4, name: 'big.test.', type: AXFR })),
          ]),
        );
        // From 127.0.0.1 nothing is allowed: four REFUSED... unless the listener mixes them up.
        const ids: number[] = [];
        for (let i = 0; i < 4; i++) {
          const m = await c.next();
          assert.ok(m);
          const h = readHeader(m);
          ids.push(h.id);
          assert.equal(h.rcode, h.id === 2 ? 0 : REFUSED);
        }
        assert.deepEqual(ids, [1, 2, 3, 4]);
      } finally {
        c.sock.destroy();
      }
      // From an allowed address: two transfers and a query on one connection.
      const sock = await connectFrom('127.0.0.2', port);
      try {
        sock.write(
          Buffer.concat([
            frame(buildQuery({ id: 11, name: 'small.test.', type: AXFR })),
            frame(buildQuery({ id: 12, name: 'www.small.test.', type: A })),
            frame(buildQuery({ id: 13, name: 'small.test.', type: AXFR })),
          ]),
        );
        const got: { id: number; answers: number; soa: number }[] = [];
        for await (const m of messages(sock, 3)) {
          const d = decodeMessage(m);
          got.push({
            id: d.id,
            answers: d.answers.length,
            soa: d.answers.filter((r) => r.type === SOA).length,
          });
        }
        assert.deepEqual(got, [
          { id: 11, answers: 8, soa: 2 },
          { id: 12, answers: 1, soa: 0 },
          { id: 13, answers: 8, soa: 2 },
        ]);
      } finally {
        sock.destroy();
      }
    });

    test(`${BIG.toLocaleString('en')} records: many messages, each signed, every record once, SOA first and last`, async () => {
      const text = await run('kdig', [...at(), '-y', `hmac-sha256:edge1:${SECRET}`, 'AXFR', 'big.test']);
      assert.doesNotMatch(text, /WARNING|failed|;; ERROR/i, text.slice(-2000));
      const rr = records(text);
      // BIG records plus the closing SOA.
      assert.equal(rr.length, BIG + 1);
      assert.equal(new Set(rr.slice(0, -1)).size, BIG);
      assert.match(rr[0], / SOA /);
      assert.equal(rr[rr.length - 1], rr[0]);
      const m = /Received (\d+) B \((\d+) messages, (\d+) records\)/.exec(text);
      assert.ok(m, text.slice(-500));
      assert.ok(Number(m[2]) > 20, `${m[2]} messages`);
      // dig checks every message's TSIG too (RFC 8945 §5.3.1).
      const d = await run('dig', [
        ...at(),
        '-y',
        `hmac-sha256:edge1:${SECRET}`,
        'AXFR',
        'big.test',
        '+noall',
        '+stats',
      ]);
      assert.match(d, new RegExp(`XFR size: ${BIG + 1} records`), d);
      assert.doesNotMatch(d, /Couldn't verify|failed/i);
    });

    test('a transfer to a client that does not read holds neither the worker nor other clients; it completes when read', async () => {
      const sock = await connectFrom('127.0.0.2', port);
      try {
        sock.pause();
        sock.write(frame(buildQuery({ id: 21, name: 'big.test.', type: AXFR })));
        // The worker is writing into a full socket: other clients are answered meanwhile.
        await new Promise((r) => setTimeout(r, 300));
        for (let i = 0; i < 5; i++) {
          const r = await queryUdp(buildQuery({ id: 100 + i, name: `h${i * 7 + 1}.big.test.`, type: A }), {
            port,
          });
          assert.equal(readHeader(r).rcode, 0);
        }
        const other = await FramedClient.connect('127.0.0.1', port);
        other.sock.write(frame(buildQuery({ id: 31, name: 'www.small.test.', type: A })));
        const m = await other.next();
        other.sock.destroy();
        assert.ok(m && readHeader(m).id === 31);
        // Now read: every record arrives.
        let records = 0;
        let soas = 0;
        let buf = Buffer.alloc(0);
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`stalled at ${records} records`)), 30_000);
          sock.on('data', (d: Buffer) => {
            buf = Buffer.concat([buf, d]);
            while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
              const msg = decodeMessage(buf.subarray(2, 2 + buf.readUInt16BE(0)));
              buf = buf.subarray(2 + buf.readUInt16BE(0));
              records += msg.answers.length;
              soas += msg.answers.filter((r) => r.type === SOA).length;
            }
            if (soas >= 2) {
              clearTimeout(timer);
              resolve();
            }
          });
          sock.resume();
        });
        assert.equal(records, BIG + 1);
      } finally {
        sock.destroy();
      }
    });
  });
}

/** A TCP connection from `local` (a loopback address) to the server. */
async function connectFrom(local: string, port: number): Promise<import('node:net').Socket> {
  const { Socket } = await import('node:net');
  const s = new Socket();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.connect({ host: '127.0.0.1', port, localAddress: local }, () => resolve());
  });
  return s;
}

/**
 * The responses on `sock`, grouped: an AXFR's messages until its closing SOA count as one,
 * `count` responses in all (each yielded as its messages' records merged into one message).
 */
async function* messages(sock: import('node:net').Socket, count: number): AsyncGenerator<Uint8Array> {
  let buf = Buffer.alloc(0);
  const queue: Buffer[] = [];
  let wake: (() => void) | undefined;
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      queue.push(Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      buf = buf.subarray(2 + buf.readUInt16BE(0));
    }
    wake?.();
  });
  const next = async (): Promise<Buffer> => {
    const deadline = Date.now() + 10_000;
    while (queue.length === 0) {
      if (Date.now() > deadline) throw new Error('no response');
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200);
      });
    }
    return queue.shift()!;
  };
  for (let n = 0; n < count; n++) {
    const first = await next();
    const d = decodeMessage(first);
    if (d.questions[0]?.type !== AXFR) {
      yield first;
      continue;
    }
    // Gather until the second SOA, then hand back the first message with every record.
    const all = [...d.answers];
    while (all.filter((r) => r.type === SOA).length < 2) all.push(...decodeMessage(await next()).answers);
    const { encodeMessage } = await import('../../src/wire/encode.js');
    yield encodeMessage({ ...d, answers: all });
  }
}
