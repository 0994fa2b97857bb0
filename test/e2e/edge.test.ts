/**
 * `switchboard edge` end to end (docs/EDGE.md), with `switchboard serve` as the primary serving
 * a hand-written fleet catalog (RFC 9432 v2) and its member zones with an edge key: the edge
 * learns the members and serves them (kdig), NSID is the POP, UPDATE is REFUSED, a change comes
 * with a signed NOTIFY (an unsigned one is refused) or the SOA refresh, members added, removed
 * and re-created (new ID) come and go; the primary SIGKILLed: the edge keeps answering; an edge
 * restarted while the primary is down answers from its state; the primary back: it catches up;
 * past `--max-stale` SERVFAIL, and answers again once the primary is back.
 * @module
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { skipUnlessCommands } from '../helpers/peers.js';
import {
  askEdge,
  catalogZone,
  type EdgeProcess,
  eventually,
  memberZone,
  sendNotify,
  startEdge,
} from './edge-support.js';
import { freePort, type ServeProcess, startServe } from './support.js';

const skip = skipUnlessCommands('kdig', 'nsupdate');
const SECRET = Buffer.from('the-edge-key-secret-of-the-edge-e2e!!').toString('base64');
const KEY = `pop-a.:hmac-sha256:${SECRET}`;
const WRONG = `pop-a.:hmac-sha256:${Buffer.from('not-the-edge-key-secret-of-this-test!').toString('base64')}`;
const _A = 1;

describe('switchboard edge following a serve primary', { skip }, () => {
  let dir: string;
  let port: number;
  let primary: ServeProcess | undefined;
  let edge: EdgeProcess | undefined;
  let state: string;

  const writeZones = (
    members: [string, string][],
    catSerial: number,
    zones: Record<string, [number, string]>,
  ) => {
    writeFileSync(join(dir, 'catalog.switchboard.invalid.zone'), catalogZone(members, catSerial));
    for (const [name, [serial, www]] of Object.entries(zones))
      writeFileSync(join(dir, `${name}zone`), memberZone(name, serial, www));
  };
  const startPrimary = async () => {
    primary = await startServe(
      ['--zone-dir', dir, '--listen', `127.0.0.1:${port}`, '--workers', '1', '--transfer-key', KEY],
      60_000,
    );
    assert.ok(primary.startLine, `primary did not start:\n${primary.stderr()}`);
  };
  const reloadPrimary = async () => {
    const before = (primary!.stderr().match(/reloaded/g) ?? []).length;
    primary!.child.kill('SIGHUP');
    await primary!.waitForStderr(/reloaded/, before + 1, 30_000);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-edge-primary-'));
    state = mkdtempSync(join(tmpdir(), 'sb-edge-state-'));
    port = await freePort();
    writeZones(
      [
        ['m1', 'one.test.'],
        ['m2', 'two.test.'],
      ],
      1,
      { 'one.test.': [1, '192.0.2.11'], 'two.test.': [1, '192.0.2.21'], 'three.test.': [1, '192.0.2.31'] },
    );
    await startPrimary();
    edge = await startEdge({ primary: `127.0.0.1:${port}`, key: KEY, host: '127.0.0.2', state, pop: 'ams1' });
    assert.ok(edge.startLine, `edge did not start:\n${edge.stderr()}`);
  });
  after(async () => {
    await edge?.stop();
    await primary?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  });

  test('the catalog members are transferred and served; not the catalog, not other zones', async () => {
    await eventually(
      'one.test served',
      async () => (await askEdge(edge!, 'www.one.test.')) === '0 192.0.2.11',
    );
    await eventually(
      'two.test served',
      async () => (await askEdge(edge!, 'www.two.test.')) === '0 192.0.2.21',
    );
    // three.test is on the primary but not in the catalog; the catalog is not served.
    assert.equal(await askEdge(edge!, 'www.three.test.'), '5 ');
    assert.equal(await askEdge(edge!, 'version.catalog.switchboard.invalid.', 16), '5 ');
  });

  test('NSID is the POP; UPDATE is REFUSED', async () => {
    const out = execFileSync(
      'kdig',
      ['@127.0.0.2', '-p', String(edge!.port), '+time=2', '+retry=1', 'www.one.test', 'A', '+nsid'],
      { timeout: 10_000 },
    ).toString();
    assert.match(out, /NSID: [0-9A-Fa-f]+ "ams1"/);
    let text = '';
    try {
      execFileSync('nsupdate', ['-p', String(edge!.port)], {
        input: `server 127.0.0.2 ${edge!.port}\nzone one.test\nupdate add x.one.test 300 A 192.0.2.9\nsend\n`,
        timeout: 10_000,
      });
    } catch (err) {
      text = `${(err as { stderr?: Buffer }).stderr ?? ''}`;
    }
    assert.match(text, /REFUSED/);
  });

  test('EDNS EXPIRE (RFC 7314) in SOA answers: the SOA expire less the time since the last contact', async () => {
    const soa = (extra: string[]) =>
      execFileSync(
        'kdig',
        [
          '@127.0.0.2',
          '-p',
          String(edge!.port),
          '+time=2',
          '+retry=1',
          'one.test',
          'SOA',
          '+expire',
          ...extra,
        ],
        { timeout: 10_000 },
      ).toString();
    for (const extra of [[], ['+tcp']]) {
      const m = /EXPIRE: (\d+)/.exec(soa(extra));
      assert.ok(m, `no EXPIRE in the answer${extra.join(' ')}`);
      // The member zones' SOA expire is 3600; the edge checked the catalog a moment ago.
      assert.ok(Number(m[1]) <= 3600 && Number(m[1]) > 3500, m[0]);
    }
  });

  test('a signed NOTIFY from the primary brings a change; unsigned or wrongly signed ones are refused', async () => {
    writeZones(
      [
        ['m1', 'one.test.'],
        ['m2', 'two.test.'],
      ],
      1,
      { 'one.test.': [2, '192.0.2.12'] },
    );
    await reloadPrimary();
    assert.equal(await sendNotify('one.test.', '127.0.0.2', edge!.port, '127.0.0.1'), 5);
    assert.equal(await sendNotify('one.test.', '127.0.0.2', edge!.port, '127.0.0.1', WRONG), 9);
    // From another address, signed: refused too.
    assert.equal(await sendNotify('one.test.', '127.0.0.2', edge!.port, '127.0.0.3', KEY), 5);
    assert.equal(await sendNotify('one.test.', '127.0.0.2', edge!.port, '127.0.0.1', KEY), 0);
    const ms = await eventually(
      'the change on the edge',
      async () => (await askEdge(edge!, 'www.one.test.')) === '0 192.0.2.12',
      5000,
    );
    assert.ok(ms < 5000);
  });

  test('members added, removed and re-created under a new ID follow the catalog', async () => {
    writeZones(
      [
        ['m1b', 'one.test.'],
        ['m3', 'three.test.'],
      ],
      2,
      { 'one.test.': [2, '192.0.2.13'] },
    );
    await reloadPrimary();
    assert.equal(
      await sendNotify('catalog.switchboard.invalid.', '127.0.0.2', edge!.port, '127.0.0.1', KEY),
      0,
    );
    await eventually(
      'three.test served',
      async () => (await askEdge(edge!, 'www.three.test.')) === '0 192.0.2.31',
    );
    await eventually('two.test gone', async () => (await askEdge(edge!, 'www.two.test.')) === '5 ');
    // one.test: a new ID means its data is dropped and transferred anew, so the new record is
    // there although its serial did not change.
    await eventually(
      'one.test re-transferred',
      async () => (await askEdge(edge!, 'www.one.test.')) === '0 192.0.2.13',
    );
  });

  test('primary SIGKILLed: the edge keeps answering; restarted while the primary is down, it answers from its state; the primary back: it catches up', async () => {
    primary!.child.kill('SIGKILL');
    await primary!.stop();
    primary = undefined;
    assert.equal(await askEdge(edge!, 'www.one.test.'), '0 192.0.2.13');
    await new Promise((r) => setTimeout(r, 2500)); // a few failed checks
    assert.equal(await askEdge(edge!, 'www.three.test.'), '0 192.0.2.31');
    await edge!.stop();
    edge = await startEdge({ primary: `127.0.0.1:${port}`, key: KEY, host: '127.0.0.2', state, pop: 'ams1' });
    assert.ok(edge.startLine, `edge did not restart:\n${edge.stderr()}`);
    assert.equal(await askEdge(edge, 'www.one.test.'), '0 192.0.2.13');
    assert.equal(await askEdge(edge, 'www.three.test.'), '0 192.0.2.31');
    // Back with a newer one.test.
    writeZones(
      [
        ['m1b', 'one.test.'],
        ['m3', 'three.test.'],
      ],
      2,
      { 'one.test.': [3, '192.0.2.14'] },
    );
    await startPrimary();
    await eventually(
      'caught up',
      async () => (await askEdge(edge!, 'www.one.test.')) === '0 192.0.2.14',
      10_000,
    );
  });

  test('past --max-stale without a successful check: SERVFAIL; the primary back: answers again', async () => {
    primary!.child.kill('SIGKILL');
    await primary!.stop();
    primary = undefined;
    await edge!.stop();
    edge = await startEdge({
      primary: `127.0.0.1:${port}`,
      key: KEY,
      host: '127.0.0.2',
      state,
      pop: 'ams1',
      maxStale: '3s',
    });
    assert.ok(edge.startLine, `edge did not restart:\n${edge.stderr()}`);
    await eventually(
      'SERVFAIL once stale',
      async () => (await askEdge(edge!, 'www.one.test.')) === '2 ',
      10_000,
    );
    await startPrimary();
    await eventually(
      'answers again',
      async () => (await askEdge(edge!, 'www.one.test.')) === '0 192.0.2.14',
      10_000,
    );
  });
});
