/**
 * `switchboard serve` end to end: the real CLI as a child process, queried with dig, kdig and
 * a raw TCP client over UDP and TCP, IPv4 and IPv6, with several workers.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildQuery, queryTcp, queryUdp, readHeader } from '../helpers/dns-client.js';
import { exampleZones } from '../helpers/paths.js';
import { listChildren, skipUnlessCommands } from '../helpers/peers.js';
import {
  dig,
  FramedClient,
  frame,
  freePort,
  hasIpv6Loopback,
  kdig,
  type ServeProcess,
  startServe,
} from './support.js';

const skip = skipUnlessCommands('dig', 'kdig');
const A = 1;
const MX = 15;
const NXDOMAIN = 3;
const REFUSED = 5;

describe('serve: examples/zones, 2 workers, IPv4 and IPv6, two --listen', { skip }, () => {
  let server: ServeProcess;
  let port: number;
  let v6: boolean;

  before(async () => {
    port = await freePort();
    v6 = await hasIpv6Loopback();
    const listen = ['--listen', `127.0.0.1:${port}`];
    if (v6) listen.push('--listen', `[::1]:${port}`);
    server = await startServe(['--zone-dir', exampleZones, ...listen, '--workers', '2', '--nsid', 'e2e-ns']);
    assert.ok(server.startLine, `no start line:\n${server.stderr()}`);
  });
  after(() => server?.stop());

  test('prints one start line: zones with serials, addresses, workers', () => {
    assert.match(server.startLine, /2 zones/);
    assert.match(server.startLine, /example\.com\. serial 2026112201/);
    assert.match(server.startLine, /example\.org\. serial 1\b/);
    assert.match(server.startLine, new RegExp(`127\\.0\\.0\\.1:${port}`));
    if (v6) assert.match(server.startLine, new RegExp(`\\[::1\\]:${port}`));
    assert.match(server.startLine, /2 workers/);
    assert.equal(server.stdout().trim().split('\n').length, 1);
  });

  test('runs two worker processes', () => {
    assert.equal(listChildren(server.pid).length, 2);
  });

  for (const transport of ['udp', 'tcp'] as const) {
    const extra = transport === 'tcp' ? ['+tcp'] : [];
    test(`dig A, AAAA, MX over ${transport}`, async () => {
      const a = await dig('127.0.0.1', port, 'www.example.com', 'A', ...extra);
      assert.equal(a.status, 'NOERROR', a.text);
      assert.ok(a.flags.includes('aa'), a.text);
      assert.deepEqual(a.answers, ['www.example.com. A 192.0.2.10']);
      const aaaa = await dig('127.0.0.1', port, 'www.example.com', 'AAAA', ...extra);
      assert.deepEqual(aaaa.answers, ['www.example.com. AAAA 2001:db8::10']);
      const mx = await dig('127.0.0.1', port, 'example.com', 'MX', ...extra);
      assert.deepEqual(mx.answers, ['example.com. MX 10 mail.example.com.']);
    });

    test(`dig NXDOMAIN and REFUSED over ${transport}`, async () => {
      const nx = await dig('127.0.0.1', port, 'nothing.example.com', 'A', ...extra);
      assert.equal(nx.status, 'NXDOMAIN', nx.text);
      assert.deepEqual(nx.answers, []);
      const refused = await dig('127.0.0.1', port, 'www.example.net', 'A', ...extra);
      assert.equal(refused.status, 'REFUSED', refused.text);
    });
  }

  test('kdig with +bufsize and +nsid, over UDP and TCP', async () => {
    for (const extra of [['+bufsize=4096'], ['+bufsize=512'], ['+tcp', '+bufsize=1232']]) {
      const r = await kdig('127.0.0.1', port, 'example.com', 'MX', ...extra);
      assert.equal(r.status, 'NOERROR', r.text);
      assert.ok(r.answers.includes('example.com. MX 10 mail.example.com.'), r.text);
    }
    const n = await kdig('127.0.0.1', port, 'example.com', 'SOA', '+nsid');
    assert.equal(n.status, 'NOERROR', n.text);
    assert.match(n.text, /e2e-ns/);
  });

  test('answers on ::1 over UDP and TCP', async (t) => {
    if (!v6) return t.skip('no IPv6 loopback here');
    for (const extra of [[], ['+tcp']]) {
      const r = await dig('::1', port, 'www.example.com', 'AAAA', ...extra);
      assert.deepEqual(r.answers, ['www.example.com. AAAA 2001:db8::10'], r.text);
    }
  });

  test('pipelined TCP: several frames in one write, answered on one connection', async () => {
    const c = await FramedClient.connect('127.0.0.1', port);
    try {
      const ids = [101, 102, 103, 104];
      const names = ['www.example.com', 'mail.example.com', 'nothing.example.com', 'example.org'];
      await c.write(Buffer.concat(ids.map((id, i) => frame(buildQuery({ id, name: names[i], type: A })))));
      const got = new Map<number, number>();
      for (let i = 0; i < ids.length; i++) {
        const r = await c.next();
        assert.ok(r, 'connection closed early');
        const h = readHeader(r);
        got.set(h.id, h.rcode);
      }
      assert.deepEqual([...got.keys()].sort(), ids);
      assert.equal(got.get(103), NXDOMAIN);
      assert.equal(got.get(101), 0);
    } finally {
      c.close();
    }
  });

  test('pipelined TCP: a frame split across writes, then another query on the same connection', async () => {
    const c = await FramedClient.connect('127.0.0.1', port);
    try {
      const f = frame(buildQuery({ id: 201, name: 'www.example.com', type: A }));
      for (const [a, b] of [
        [0, 1],
        [1, 7],
        [7, f.length],
      ]) {
        await c.write(f.subarray(a, b));
        await new Promise((r) => setTimeout(r, 30));
      }
      const r1 = await c.next();
      assert.ok(r1);
      assert.equal(readHeader(r1).id, 201);
      assert.equal(readHeader(r1).ancount, 1);
      await c.write(frame(buildQuery({ id: 202, name: 'www.example.net', type: A })));
      const r2 = await c.next();
      assert.ok(r2);
      assert.deepEqual([readHeader(r2).id, readHeader(r2).rcode], [202, REFUSED]);
    } finally {
      c.close();
    }
  });

  test('garbage on TCP and UDP does not stop the server', async () => {
    const c = await FramedClient.connect('127.0.0.1', port);
    await c.write(Buffer.from([0, 5, 1, 2, 3, 4, 5, 0xff, 0xff, 9, 9]));
    await c.next(); // closed (or a FORMERR): either way, the server lives on
    c.close();
    const junk = await queryUdp(new Uint8Array(20).fill(0x41), { port, timeoutMs: 300, retries: 0 }).catch(
      () => null,
    );
    if (junk) assert.equal(readHeader(junk).qr, true);
    const r = await queryUdp(buildQuery({ name: 'www.example.com', type: A }), { port });
    assert.equal(readHeader(r).ancount, 1);
  });

  test('many queries, UDP and TCP at once, are all answered by the workers', async () => {
    const queries: Promise<Uint8Array>[] = [];
    for (let i = 0; i < 200; i++) {
      const q = buildQuery({ id: i, name: i % 2 ? 'www.example.com' : 'example.com', type: i % 2 ? A : MX });
      queries.push(i % 4 === 0 ? queryTcp(q, { port }) : queryUdp(q, { port }));
      if (queries.length % 20 === 0) await Promise.all(queries.slice(-20));
    }
    const answers = await Promise.all(queries);
    assert.equal(answers.length, 200);
    for (const [i, r] of answers.entries()) {
      const h = readHeader(r);
      assert.equal(h.id, i);
      assert.equal(h.rcode, 0);
      assert.equal(h.ancount, 1);
    }
  });
});

describe('serve: start-up outcomes', { skip }, () => {
  test('--workers 0 serves from one process; SIGTERM exits 0', async (t) => {
    const port = await freePort();
    const s = await startServe([
      '--zone-dir',
      exampleZones,
      '--listen',
      `127.0.0.1:${port}`,
      '--workers',
      '0',
    ]);
    t.after(() => s.stop());
    assert.match(s.startLine, /in 1 process/);
    assert.deepEqual(listChildren(s.pid), []);
    const r = await dig('127.0.0.1', port, 'example.org', 'A');
    assert.deepEqual(r.answers, ['example.org. A 192.0.2.20']);
    assert.equal(await s.stop(), 0);
  });

  test('SIGTERM stops every worker and exits 0', async () => {
    const port = await freePort();
    const s = await startServe([
      '--zone-dir',
      exampleZones,
      '--listen',
      `127.0.0.1:${port}`,
      '--workers',
      '2',
    ]);
    const workers = listChildren(s.pid);
    assert.equal(workers.length, 2);
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0);
    for (const w of workers) assert.throws(() => process.kill(w, 0), 'worker still running');
    await s.stop();
  });

  test('a zone file with errors is reported and skipped; the other zones serve', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-startup-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(exampleZones, dir, { recursive: true });
    const broken = join(dir, 'broken.example.zone');
    writeFileSync(broken, '$TTL 60\n@ IN SOA ns h 1 60 60 600 60\n  IN NS ns\nns IN AAAA 192.0.2.1\n');
    const port = await freePort();
    const s = await startServe(['--zone-dir', dir, '--listen', `127.0.0.1:${port}`, '--workers', '1']);
    t.after(() => s.stop());
    assert.match(s.startLine, /2 zones/);
    // Logged on stderr before the start line on stdout: this process may read the pipes in any order.
    await s.waitForStderr(/broken\.example\.zone: zone not loaded/, 1, 15_000);
    assert.ok(s.stderr().includes(`${broken}:4:`), s.stderr());
    assert.equal((await dig('127.0.0.1', port, 'ns.broken.example', 'AAAA')).status, 'REFUSED');
    assert.equal((await dig('127.0.0.1', port, 'www.example.com', 'A')).status, 'NOERROR');
  });

  test('a folder without zones starts (as NSD does) and answers REFUSED', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-empty-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const s = await startServe(['--zone-dir', dir, '--listen', `127.0.0.1:${port}`, '--workers', '1']);
    t.after(() => s.stop());
    assert.match(s.startLine, /serving 0 zones/);
    await s.waitForStderr(/no zone loaded/, 1, 15_000);
    assert.equal((await dig('127.0.0.1', port, 'www.example.com', 'A')).status, 'REFUSED');
  });

  test('a missing zone folder is fatal', async (t) => {
    const s = await startServe([
      '--zone-dir',
      '/nonexistent/zones',
      '--listen',
      `127.0.0.1:${await freePort()}`,
    ]);
    t.after(() => s.stop());
    assert.equal(s.startLine, '');
    assert.notEqual(await s.exited, 0);
    assert.match(s.stderr(), /nonexistent/);
  });

  test('a bad --listen is refused with a message', async (t) => {
    const s = await startServe(['--zone-dir', exampleZones, '--listen', 'localhost:53']);
    t.after(() => s.stop());
    assert.equal(await s.exited, 1);
    assert.match(s.stderr(), /invalid listen address 'localhost:53'/);
  });

  test('a port already in use is fatal', async (t) => {
    const port = await freePort();
    const first = await startServe([
      '--zone-dir',
      exampleZones,
      '--listen',
      `127.0.0.1:${port}`,
      '--workers',
      '1',
    ]);
    t.after(() => first.stop());
    assert.ok(first.startLine);
    const second = await startServe([
      '--zone-dir',
      exampleZones,
      '--listen',
      `127.0.0.1:${port}`,
      '--workers',
      '1',
    ]);
    t.after(() => second.stop());
    assert.equal(await second.exited, 1);
    assert.match(second.stderr(), /cannot (bind|listen)/);
  });

  test('a killed worker is restarted and the others keep answering', async (t) => {
    const port = await freePort();
    const s = await startServe([
      '--zone-dir',
      exampleZones,
      '--listen',
      `127.0.0.1:${port}`,
      '--workers',
      '2',
    ]);
    t.after(() => s.stop());
    const [victim] = listChildren(s.pid);
    process.kill(victim, 'SIGKILL');
    await s.waitForStderr(/worker \d restarted/);
    const now = listChildren(s.pid);
    assert.equal(now.length, 2);
    assert.ok(!now.includes(victim));
    for (let i = 0; i < 20; i++) {
      const r = await queryUdp(buildQuery({ name: 'www.example.com', type: A }), { port });
      assert.equal(readHeader(r).ancount, 1);
    }
  });
});
