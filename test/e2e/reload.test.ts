/**
 * SIGHUP reload end to end: changed zones are swapped in by every worker, a broken zone file
 * keeps its old version serving (the error names FILE:LINE), removed files are dropped and new
 * ones added, and queries sent during reloads are all answered.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildQuery, queryTcp, queryUdp, readHeader } from '../helpers/dns-client.js';
import { exampleZones } from '../helpers/paths.js';
import { skipUnlessCommands } from '../helpers/peers.js';
import { dig, freePort, type ServeProcess, startServe } from './support.js';

const skip = skipUnlessCommands('dig');
const A = 1;
const RELOADED = /reload: serving .*workers reloaded/;

describe('serve: SIGHUP reload with 2 workers', { skip }, () => {
  let server: ServeProcess;
  let port: number;
  let dir: string;
  let reloads = 0;
  const orgFile = () => join(dir, 'example.org.zone');

  /** Sends SIGHUP and waits until every worker has reloaded. */
  const reload = async () => {
    reloads++;
    server.child.kill('SIGHUP');
    await server.waitForStderr(RELOADED, reloads);
  };

  /** Asks `n` times (so every worker is asked) and returns the distinct answers. */
  const answersOf = async (name: string, type: string, n = 10): Promise<Set<string>> => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const r = await dig('127.0.0.1', port, name, type);
      seen.add(`${r.status} ${r.answers.join(' | ')}`);
    }
    return seen;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-reload-'));
    cpSync(exampleZones, dir, { recursive: true });
    port = await freePort();
    server = await startServe(['--zone-dir', dir, '--listen', `127.0.0.1:${port}`, '--workers', '2']);
    assert.ok(server.startLine, server.stderr());
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a changed zone (serial bumped, record added) answers in every worker', async () => {
    const text = readFileSync(orgFile(), 'latin1').replace(' 1 7200 ', ' 2 7200 ');
    writeFileSync(orgFile(), `${text}new     IN A   192.0.2.77\n`);
    await reload();
    assert.deepEqual(
      await answersOf('new.example.org', 'A'),
      new Set(['NOERROR new.example.org. A 192.0.2.77']),
    );
    const soa = await dig('127.0.0.1', port, 'example.org', 'SOA', '+short');
    assert.match(soa.text, / 2 7200 /);
  });

  test('a broken zone file keeps the old version serving; the error names FILE:LINE', async () => {
    const good = readFileSync(orgFile(), 'latin1');
    writeFileSync(orgFile(), `${good}broken  IN A   not-an-address\n`);
    const line = `${good}broken`.split('\n').length;
    await reload();
    assert.ok(server.stderr().includes(`${orgFile()}:${line}:`), server.stderr());
    assert.match(server.stderr(), /example\.org\.zone: not reloaded; still serving example\.org\. serial 2/);
    assert.deepEqual(
      await answersOf('new.example.org', 'A'),
      new Set(['NOERROR new.example.org. A 192.0.2.77']),
    );
    writeFileSync(orgFile(), good);
  });

  test('a removed file drops its zone; a new file adds one', async () => {
    unlinkSync(orgFile());
    writeFileSync(
      join(dir, 'added.example.zone'),
      '$TTL 60\n@ IN SOA ns.added.example. h.added.example. 5 60 60 600 60\n  IN NS ns\nns IN A 192.0.2.5\n',
    );
    await reload();
    assert.deepEqual(await answersOf('example.org', 'A', 4), new Set(['REFUSED ']));
    assert.deepEqual(
      await answersOf('ns.added.example', 'A', 4),
      new Set(['NOERROR ns.added.example. A 192.0.2.5']),
    );
  });

  test('queries sent during reloads are all answered (UDP and TCP)', async (t) => {
    let stop = false;
    let sent = 0;
    const failures: string[] = [];
    const loop = async (tcp: boolean) => {
      while (!stop) {
        const id = sent++ & 0xffff;
        const q = buildQuery({ id, name: 'www.example.com', type: A });
        try {
          // No retries: a query that gets no answer counts as lost.
          const r = tcp
            ? await queryTcp(q, { port, timeoutMs: 5000 })
            : await queryUdp(q, { port, timeoutMs: 5000, retries: 0 });
          const h = readHeader(r);
          if (h.id !== id || h.rcode !== 0 || h.ancount !== 1)
            failures.push(`bad answer ${JSON.stringify(h)}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    // A zone big enough that re-reading it keeps a worker busy for a noticeable time.
    const big = [
      '$TTL 60',
      '@ IN SOA ns.big.example. h.big.example. 1 60 60 600 60',
      '  IN NS ns',
      'ns IN A 192.0.2.5',
    ];
    for (let i = 0; i < 50_000; i++)
      big.push(`h${i} IN A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    writeFileSync(join(dir, 'big.example.zone'), `${big.join('\n')}\n`);
    await reload();
    assert.deepEqual(
      await answersOf('h49999.big.example', 'A', 2),
      new Set(['NOERROR h49999.big.example. A 10.0.195.79']),
    );

    const loops = [loop(false), loop(false), loop(true)];
    for (let i = 0; i < 3; i++) {
      writeFileSync(
        join(dir, 'added.example.zone'),
        `$TTL 60\n@ IN SOA ns.added.example. h.added.example. ${10 + i} 60 60 600 60\n  IN NS ns\nns IN A 192.0.2.5\n`,
      );
      await reload();
    }
    stop = true;
    await Promise.all(loops);
    assert.deepEqual(failures, []);
    assert.ok(sent > 0);
    t.diagnostic(`${sent} queries during 3 reloads, none lost`);
    const soa = await dig('127.0.0.1', port, 'added.example', 'SOA', '+short');
    assert.match(soa.text, / 12 60 /);
  });
});
