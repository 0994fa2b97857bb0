/**
 * The secondary zones' refresher (`start`'s and `serve`'s, src/server/shared/secondary-refresher.ts)
 * transfers over persistent, pipelined TCP connections to each master (connection.ts, as the
 * edge's follower does), against NSD, Knot and BIND 9 as primaries, TSIG-signed:
 *
 * - 12 zones transferred whole (every record, the primary's serial), on at most 2 connections
 *   instead of one per transfer;
 * - the primary restarted on its port (the idle connection it held is gone): the next transfers
 *   of every zone open a new connection and succeed;
 * - with `connections: false`, a connection per transfer as before (no persistent one opened).
 *
 * The refresher runs over an in-memory keeper (the control plane's part: the transferred text
 * stored, read back for IXFR); the control plane's own transfer path: test/e2e/secondary.test.ts.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SecondaryRefresher } from '../../src/server/shared/secondary-refresher.js';
import { Name } from '../../src/wire/name.js';
import { OutboundPolicy } from '../../src/xfr/outbound.js';
import { querySoa } from '../../src/xfr/secondary/client.js';
import { recordLine } from '../../src/xfr/secondary/ixfr-in.js';
import { parseZoneText } from '../../src/zone/parser.js';
import { memoryKeeper } from '../helpers/memory-keeper.js';
import {
  type Peer,
  skipUnlessCommands,
  startBind,
  startKnot,
  startNsd,
  type ZoneSpec,
} from '../helpers/peers.js';
import { txtZoneText } from '../helpers/txt-zone.js';
import { waitFor } from '../helpers/wait-for.js';

const SECRET = Buffer.from('refresher-connections-test-secret-0001').toString('base64');
const KEY = { name: 'conns.', algorithm: 'hmac-sha256', secret: SECRET };
const ZONES = 12;
const nameOf = (i: number) => `c${i}.conns.test.`;

function zoneText(i: number): string {
  return txtZoneText(nameOf(i), i, 300);
}

/** A zone's records as sorted master-file lines (the order of a transfer is the primary's). */
function linesOf(text: string, origin: string): string[] {
  return parseZoneText(text, { origin })
    .map(recordLine)
    .map((l) => l.toLowerCase())
    .sort();
}

describe('secondary zones over persistent transfer connections', () => {
  let dir: string;
  let zones: ZoneSpec[];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-sec-conns-'));
    zones = Array.from({ length: ZONES }, (_, i) => {
      const file = join(dir, `${nameOf(i)}zone`);
      writeFileSync(file, zoneText(i));
      return { origin: nameOf(i), file };
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Every zone transferred whole: the primary's records, nothing else. */
  function checkAll(texts: Map<string, string>, what: string): void {
    for (let i = 0; i < ZONES; i++) {
      const got = texts.get(nameOf(i));
      assert.ok(got !== undefined, `${what}: ${nameOf(i)} transferred`);
      assert.deepEqual(linesOf(got, nameOf(i)), linesOf(zoneText(i), nameOf(i)), `${what}: ${nameOf(i)}`);
    }
  }

  async function follow(
    start: (port?: number) => Promise<Peer>,
    what: string,
    connections?: false,
  ): Promise<void> {
    let peer: Peer | undefined = await start();
    const { control, texts } = memoryKeeper(
      Array.from({ length: ZONES }, (_, i) => nameOf(i)),
      [`${peer.host}:${peer.port}`],
      KEY,
    );
    const errors: string[] = [];
    const refresher = new SecondaryRefresher({
      control,
      policy: new OutboundPolicy(['127.0.0.0/8']),
      log: { info() {}, error: (m: string) => errors.push(m) },
      ...(connections === false ? { connections } : {}),
    });
    try {
      await refresher.start();
      await waitFor(
        `${what}: every zone transferred`,
        async () => refresher.stats.transfersOk >= ZONES,
        30_000,
      ).catch((err) => assert.fail(`${(err as Error).message}: ${errors.join('; ')}`));
      assert.equal(refresher.stats.transfersFailed, 0, `${what}: ${errors.join('; ')}`);
      checkAll(texts, what);
      if (connections === false) {
        assert.equal(refresher.stats.connections, 0, `${what}: no persistent connection`);
        return;
      }
      const first = refresher.stats.connections;
      assert.ok(first >= 1 && first <= 2, `${what}: ${first} connections for ${ZONES} transfers`);

      // The primary restarted on its port: the connection it held is gone; the next transfers
      // (axfr-retrieve of every zone) open a new one and succeed.
      const port = peer.port;
      await peer.stop();
      peer = undefined;
      peer = await start(port);
      // Ready once its first zone answers: every zone loaded before they are asked for.
      const ready = peer;
      await waitFor(`${what}: every zone loaded again`, async () => {
        for (let i = 0; i < ZONES; i++)
          await querySoa({ address: ready.host, port: ready.port }, Name.parse(nameOf(i)), undefined, 1000);
        return true;
      });
      texts.clear();
      for (let i = 0; i < ZONES; i++) refresher.retrieve(nameOf(i));
      await waitFor(
        `${what}: every zone transferred again`,
        async () => refresher.stats.transfersOk >= 2 * ZONES,
        30_000,
      ).catch((err) => assert.fail(`${(err as Error).message}: ${errors.join('; ')}`));
      assert.equal(refresher.stats.transfersFailed, 0, `${what}: after the restart: ${errors.join('; ')}`);
      checkAll(texts, `${what}, after the restart`);
      const second = refresher.stats.connections - first;
      assert.ok(second >= 1 && second <= 2, `${what}: ${second} connections after the restart`);
    } finally {
      refresher.close();
      await peer?.stop();
    }
  }

  const to = { to: '127.0.0.1', key: KEY };
  test('NSD as primary', { skip: skipUnlessCommands('nsd') }, () =>
    follow((port) => startNsd(zones, { primaryTo: to, ...(port ? { port } : {}) }), 'NSD'),
  );
  test('Knot as primary', { skip: skipUnlessCommands('knotd') }, () =>
    follow((port) => startKnot(zones, { primaryTo: to, ...(port ? { port } : {}) }), 'Knot'),
  );
  test('BIND 9 as primary', { skip: skipUnlessCommands('named') }, () =>
    follow((port) => startBind(zones, { primaryTo: to, ...(port ? { port } : {}) }), 'BIND'),
  );
  test(
    'a connection per transfer when asked (connections: false), NSD',
    { skip: skipUnlessCommands('nsd') },
    () =>
      follow(
        (port) => startNsd(zones, { primaryTo: to, ...(port ? { port } : {}) }),
        'NSD, no pipelining',
        false,
      ),
  );
});
