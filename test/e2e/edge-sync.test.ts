/**
 * A new edge's catalog sync, killed in the middle (docs/EDGE.md "The state store"): a `serve`
 * primary with 4,000 member zones; the edge is SIGKILLed (its primary process and its worker)
 * once part of them is stored. The store then holds only whole zones (every zone held has all
 * its records: the transfers are written in batches, one transaction each); the edge restarted
 * on the same state answers the zones it held, transfers the rest, and in the end holds and
 * answers every zone, each with its own records.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { EdgeStore } from '../../src/edge/store.js';
import { isAlive, listDescendants } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait-for.js';
import { askEdge, catalogZone, type EdgeProcess, startEdge } from './edge-support.js';
import { freePort, type ServeProcess, startServe } from './support.js';

const SECRET = Buffer.from('edge-sync-kill-test-secret-0000000001').toString('base64');
const KEY = `sync-pop.:hmac-sha256:${SECRET}`;
const ZONES = 4000;
const nameOf = (i: number) => `s${i}.sync.test.`;
const wwwOf = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.7`;
const zoneText = (i: number) =>
  `$ORIGIN ${nameOf(i)}\n$TTL 300\n@ IN SOA ns1 hostmaster ${1000 + i} 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\nwww A ${wwwOf(i)}\nmail A 192.0.2.3\n`;

/** Zones held in the edge's store now (read beside the running edge: WAL readers do not block). */
function heldNow(state: string): number {
  const db = new BetterSqlite3(join(state, 'edge.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT count(*) FROM zones WHERE is_catalog = 0').pluck().get() as number;
  } finally {
    db.close();
  }
}

/** Every member zone in the store is whole and its own: 5 records, its serial and `www`. */
function checkStore(state: string): number {
  const store = new EdgeStore(state);
  try {
    let held = 0;
    for (const z of store.zones()) {
      if (z.catalog) continue;
      held++;
      const i = Number(/^s(\d+)\./.exec(z.name)?.[1]);
      assert.equal(z.serial, 1000 + i, z.name);
      const text = store.text(z.name) ?? '';
      assert.equal(text.split('\n').filter((l) => l !== '').length, 5, `${z.name}: ${text}`);
      assert.match(
        text,
        new RegExp(`^www\\.${z.name.replace(/\./g, '\\.')} 300 IN A ${wwwOf(i).replace(/\./g, '\\.')}$`, 'm'),
      );
    }
    return held;
  } finally {
    store.close();
  }
}

describe('an edge killed mid-sync resumes', () => {
  let dir: string;
  let primary: ServeProcess | undefined;
  let edge: EdgeProcess | undefined;
  let state: string;
  let port: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-edge-sync-'));
    state = join(dir, 'state');
    const zones = join(dir, 'zones');
    mkdirSync(zones);
    for (let i = 0; i < ZONES; i++) writeFileSync(join(zones, `${nameOf(i)}zone`), zoneText(i));
    writeFileSync(
      join(zones, 'catalog.switchboard.invalid.zone'),
      catalogZone(
        Array.from({ length: ZONES }, (_, i) => [`m${i}`, nameOf(i)]),
        1,
      ),
    );
    port = await freePort();
    primary = await startServe(
      ['--zone-dir', zones, '--listen', `127.0.0.1:${port}`, '--workers', '1', '--transfer-key', KEY],
      120_000,
    );
    assert.ok(primary.startLine, `primary did not start:\n${primary.stderr()}`);
  });
  after(async () => {
    await edge?.stop();
    await primary?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('SIGKILL during the sync, then a restart on the same state', async () => {
    edge = await startEdge({ primary: `127.0.0.1:${port}`, key: KEY, state, minTimers: '3600,600' });
    await waitFor('part of the members stored', async () => heldNow(state) >= 200, 120_000, 10);
    const tree = [edge.pid, ...listDescendants(edge.pid)];
    for (const pid of tree) process.kill(pid, 'SIGKILL');
    await waitFor('the edge gone', async () => tree.every((p) => !isAlive(p)), 10_000);
    await edge.stop();
    const held = checkStore(state);
    assert.ok(held >= 200 && held < ZONES, `killed mid-sync: ${held} of ${ZONES} zones held`);

    edge = await startEdge({ primary: `127.0.0.1:${port}`, key: KEY, state, minTimers: '3600,600' });
    assert.match(edge.stdout(), new RegExp(`${held} zones from the store`));
    await edge.waitForStderr(/catalog sync: every new member transferred and stored/, 1, 120_000);
    for (let i = 0; i < ZONES; i += 97)
      assert.equal(await askEdge(edge, `www.${nameOf(i)}`), `0 ${wwwOf(i)}`, nameOf(i));
    await waitFor(
      'the last zone answered',
      async () => (await askEdge(edge!, `www.${nameOf(ZONES - 1)}`)) === `0 ${wwwOf(ZONES - 1)}`,
      30_000,
    );
    await edge.stop();
    edge = undefined;
    assert.equal(checkStore(state), ZONES);
  });
});
