/**
 * `switchboard edge` following Knot 3.2 as the producer (docs/EDGE.md): Knot generates the
 * catalog (`catalog-role: generate`, RFC 9432 v2, its own member IDs), keeps a journal of
 * changes (`zonefile-load: difference`) and NOTIFYs the edge (over TCP, signed); the edge
 * transfers the catalog and members with the key, and a change reloaded into Knot reaches the
 * edge as an incremental IXFR (the edge's log says so), applied as a difference to its store.
 * @module
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeMessage } from '../../src/wire/decode.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { buildQuery, queryUdp } from '../helpers/dns-client.js';
import {
  findCommand,
  findFreePort,
  knotServerSections,
  launch,
  type Peer,
  skipUnlessCommands,
} from '../helpers/peers.js';
import { type EdgeProcess, eventually, memberZone, startEdge } from './edge-support.js';
import { freePort } from './support.js';

const skip = skipUnlessCommands('knotd', 'knotc');
const SECRET = Buffer.from('knot-producer-edge-key-secret-000000').toString('base64');
const KEY = `pop-k.:hmac-sha256:${SECRET}`;

async function ask(edge: EdgeProcess, name: string): Promise<string> {
  try {
    const r = decodeMessage(
      await queryUdp(buildQuery({ name, type: 1 }), { host: edge.host, port: edge.port, timeoutMs: 1000 }),
    );
    return `${r.flags & 15} ${r.answers.map((a) => rdataToText(a.type, a.rdata)).join('|')}`;
  } catch (err) {
    return `error ${(err as Error).message}`;
  }
}

describe('switchboard edge following Knot (generated catalog, IXFR from its journal)', { skip }, () => {
  let dir: string;
  let knot: Peer | undefined;
  let edge: EdgeProcess | undefined;
  let conf: string;
  const zones = ['k1.test.', 'k2.test.'];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-edge-knot-'));
    const port = await findFreePort();
    const edgePort = await freePort('127.0.0.4');
    for (const z of zones) writeFileSync(join(dir, `${z}zone`), memberZone(z, 1, '192.0.2.41'));
    conf = join(dir, 'knot.conf');
    writeFileSync(
      conf,
      [
        ...knotServerSections(dir, `127.0.0.1@${port}`),
        'key:',
        '  - id: pop-k.',
        '    algorithm: hmac-sha256',
        `    secret: ${SECRET}`,
        'remote:',
        '  - id: edge',
        `    address: 127.0.0.4@${edgePort}`,
        '    key: pop-k.',
        'acl:',
        '  - id: edge-xfr',
        '    address: 127.0.0.0/8',
        '    key: pop-k.',
        '    action: transfer',
        'template:',
        '  - id: default',
        `    storage: "${dir}"`,
        '    semantic-checks: off',
        '    zonefile-sync: -1',
        '    zonefile-load: difference',
        '    journal-content: changes',
        '    acl: edge-xfr',
        '    notify: edge',
        'zone:',
        '  - domain: catalog.switchboard.invalid.',
        '    catalog-role: generate',
        ...zones.flatMap((z) => [
          `  - domain: ${z}`,
          `    file: "${join(dir, `${z}zone`)}"`,
          '    catalog-role: member',
          '    catalog-zone: catalog.switchboard.invalid.',
        ]),
        '',
      ].join('\n'),
    );
    knot = await launch(
      'knot',
      [findCommand('knotd') ?? 'knotd', '-c', conf],
      dir,
      '127.0.0.1',
      port,
      zones[0],
      {},
    );
    edge = await startEdge({ primary: `127.0.0.1:${port}`, key: KEY, host: '127.0.0.4', port: edgePort });
    assert.ok(edge.startLine, `edge did not start:\n${edge.stderr()}`);
  });
  after(async () => {
    await edge?.stop();
    await knot?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the members of Knot's catalog are served", async () => {
    for (const z of zones)
      await eventually(`${z} served`, async () => (await ask(edge!, `www.${z}`)) === '0 192.0.2.41').catch(
        (err: Error) => {
          throw new Error(`${err.message}\nedge: ${edge!.stderr()}\nknot: ${knot!.output()}`);
        },
      );
    assert.equal((await ask(edge!, 'www.nope.test.')).split(' ')[0], '5');
  });

  test('a change reloaded into Knot reaches the edge by NOTIFY and incremental IXFR', async () => {
    writeFileSync(join(dir, 'k1.test.zone'), memberZone('k1.test.', 2, '192.0.2.42'));
    execFileSync('knotc', ['-c', conf, 'zone-reload', 'k1.test.'], { timeout: 10_000 });
    const ms = await eventually(
      'the change on the edge',
      async () => (await ask(edge!, 'www.k1.test.')) === '0 192.0.2.42',
      10_000,
    );
    assert.ok(ms < 10_000);
    await edge!.waitForStderr(/zone k1\.test\.: serial 1 → 2 by IXFR \(1 difference, 4 records\)/, 1, 5000);
    assert.equal(await ask(edge!, 'www.k2.test.'), '0 192.0.2.41');
  });

  test("an IXFR's difference patches the zone's image (a delta image), a name added and one removed", async () => {
    // The difference of the change before was a patch too.
    await edge!.waitForStderr(/\d+ patched \([1-9]\d* of them delta images\), 0 compiled from text/, 1, 5000);
    writeFileSync(
      join(dir, 'k1.test.zone'),
      memberZone('k1.test.', 3, '192.0.2.42').replace('www A', 'new.sub A 192.0.2.77\nwww A'),
    );
    execFileSync('knotc', ['-c', conf, 'zone-reload', 'k1.test.'], { timeout: 10_000 });
    await eventually(
      'the added name on the edge',
      async () => (await ask(edge!, 'new.sub.k1.test.')) === '0 192.0.2.77',
      10_000,
    );
    // The empty non-terminal the name brought answers NODATA; a name never there NXDOMAIN.
    assert.equal(await ask(edge!, 'sub.k1.test.'), '0 ');
    assert.equal((await ask(edge!, 'nope.k1.test.')).split(' ')[0], '3');
    // The counts are logged at most every 10 s, after a change: the next one comes after that.
    await new Promise((r) => setTimeout(r, 10_500));
    writeFileSync(join(dir, 'k1.test.zone'), memberZone('k1.test.', 4, '192.0.2.42'));
    execFileSync('knotc', ['-c', conf, 'zone-reload', 'k1.test.'], { timeout: 10_000 });
    await eventually(
      'the removed name gone on the edge',
      async () => (await ask(edge!, 'new.sub.k1.test.')).split(' ')[0] === '3',
      10_000,
    );
    assert.equal((await ask(edge!, 'sub.k1.test.')).split(' ')[0], '3');
    assert.equal(await ask(edge!, 'www.k1.test.'), '0 192.0.2.42');
    // Three changes by IXFR, each a delta image; none compiled from text.
    await edge!.waitForStderr(/\d+ patched \(3 of them delta images\), 0 compiled from text/, 1, 5000);
  });
});
