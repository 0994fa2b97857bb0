/**
 * The secondary role of `switchboard start` (docs/TRANSFERS.md "Secondary role"): NSD and Knot
 * as the primaries of Slave zones created through the PowerDNS-compatible API — AXFR in with
 * TSIG, the primary's serial kept, the same answers as the primary; NOTIFY from the primary
 * (accepted only from its address and with its key) bringing a change within seconds;
 * axfr-retrieve; read-only zones; masters checked against the outbound policy and keys against
 * the account; expiry (SERVFAIL) and recovery; hostile primaries (bad MAC, a transfer past the
 * record quota, one that never ends) changing nothing.
 * @module
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Opcode, RRType } from '../../src/wire/constants.js';
import { Name } from '../../src/wire/name.js';
import { buildQuery as buildClientQuery } from '../../src/xfr/secondary/client.js';
import { makeTsigKey } from '../../src/xfr/tsig.js';
import { answerText } from '../helpers/dns-client.js';
import { startFakePrimary } from '../helpers/fake-primary.js';
import { findFreePort, type Peer, skipUnlessCommands, startKnot, startNsd } from '../helpers/peers.js';
import {
  callApi,
  type Platform,
  removeDataDir,
  runCli,
  startPlatform,
  tenantToken,
} from '../helpers/platform.js';

const skip = skipUnlessCommands('nsd', 'knotd');
const ADMIN = 'sb_e2e_secondary_admin_key_0123456789';
const PDNS = '/api/v1/servers/localhost';
const SECRET = Buffer.from('the-secondary-test-transfer-key-0123').toString('base64');

function zoneText(origin: string, serial: number, extra: string[] = []): string {
  return [
    `$ORIGIN ${origin}`,
    '$TTL 300',
    `@ IN SOA ns1.${origin} hostmaster.${origin} ${serial} 3600 600 86400 300`,
    `@ IN NS ns1.${origin}`,
    `ns1 IN A 127.0.0.1`,
    'www IN A 192.0.2.10',
    'www IN AAAA 2001:db8::10',
    'mail IN MX 10 mx.example.net.',
    'txt IN TXT "hello world" "second string"',
    ...extra,
    '',
  ].join('\n');
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${what}: not within ${ms} ms`);
}

async function serialAt(port: number, zone: string): Promise<number | undefined> {
  const a = await answerText(port, zone, RRType.SOA);
  const m = /^0 \d+ \S+ \S+ (\d+) /.exec(a);
  return m ? Number(m[1]) : undefined;
}

/** NSD serving `origin` from `file`, transfers allowed to 127.0.0.0/8 with `key`, NOTIFY to `notify`. */
async function startNsdPrimary(origin: string, file: string, notifyPort: number): Promise<Peer> {
  return startNsdPrimaryOn(origin, file, notifyPort, await findFreePort('127.0.0.1'));
}

/** Knot serving `origin` from `file`: transfers with `key` from 127.0.0.0/8, NOTIFY to `notifyPort`. */
async function startKnotPrimary(origin: string, file: string, notifyPort: number): Promise<Peer> {
  return startKnot([{ origin, file }], {
    primaryTo: {
      to: '127.0.0.0/8',
      key: { name: 'xfrkey', algorithm: 'hmac-sha256', secret: SECRET },
      notify: `127.0.0.1@${notifyPort}`,
    },
  });
}

/** A NOTIFY for `zone` sent from `from` (a loopback address), signed with `secret` when given; the answer's rcode. */
async function sendNotify(port: number, zone: string, from: string, secret?: string): Promise<number> {
  const key = secret === undefined ? undefined : makeTsigKey('xfrkey', 'hmac-sha256', secret);
  const q = buildClientQuery(Name.parse(zone), RRType.SOA, key, Opcode.NOTIFY);
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('no answer to the NOTIFY'));
    }, 2000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      assert.equal((m[2] >> 3) & 0xf, Opcode.NOTIFY);
      resolve(m[3] & 0xf);
    });
    s.bind(0, from, () => s.send(q, port, '127.0.0.1'));
  });
}

describe('start: secondary zones from NSD and Knot primaries', { skip }, () => {
  let p: Platform;
  let tenant: string;
  let other: string;
  const peers: Peer[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'sb-secondary-'));
  let nsd: Peer;
  const nsdZone = 'sec-nsd.test.';
  const nsdFile = join(dir, 'sec-nsd.zone');

  const call = (key: string, method: string, path: string, body?: unknown) =>
    callApi(p.api, key, method, path, body);

  before(async () => {
    process.env.SWITCHBOARD_SECONDARY_MIN_TIMERS = '1,1,4';
    p = await startPlatform({ apiKey: ADMIN, workers: 1, extraArgs: ['--outbound-allow', '127.0.0.0/8'] });
    const tokenOf = (name: string, maxRecords?: number) => tenantToken(p.api, ADMIN, name, { maxRecords });
    tenant = await tokenOf('tenant-sec');
    other = await tokenOf('tenant-other', 20);
    const k = await call(tenant, 'POST', `${PDNS}/tsigkeys`, {
      name: 'xfrkey',
      algorithm: 'hmac-sha256',
      key: SECRET,
    });
    assert.equal(k.status, 201);
    writeFileSync(nsdFile, zoneText(nsdZone, 2026120401));
    nsd = await startNsdPrimary(nsdZone, nsdFile, p.dnsPort);
    peers.push(nsd);
  });
  after(async () => {
    delete process.env.SWITCHBOARD_SECONDARY_MIN_TIMERS;
    for (const peer of peers) await peer.stop();
    await p?.stop();
    if (p) removeDataDir(p.dataDir);
  });

  test('a Slave zone of NSD: AXFR with TSIG, the primary serial kept, the same answers', async () => {
    const made = await call(tenant, 'POST', `${PDNS}/zones`, {
      name: nsdZone,
      kind: 'Slave',
      masters: [`127.0.0.1:${nsd.port}`],
      slave_tsig_key_ids: ['xfrkey.'],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.kind, 'Slave');
    assert.deepEqual(made.body.masters, [`127.0.0.1:${nsd.port}`]);
    assert.deepEqual(made.body.slave_tsig_key_ids, ['xfrkey.']);
    await waitFor(
      'the transferred serial served',
      async () => (await serialAt(p.dnsPort, nsdZone)) === 2026120401,
    );
    for (const [name, type] of [
      [nsdZone, RRType.SOA],
      [nsdZone, RRType.NS],
      [`www.${nsdZone}`, RRType.A],
      [`www.${nsdZone}`, RRType.AAAA],
      [`mail.${nsdZone}`, RRType.MX],
      [`txt.${nsdZone}`, RRType.TXT],
      [`nope.${nsdZone}`, RRType.A],
    ] as const)
      assert.equal(
        await answerText(p.dnsPort, name, type),
        await answerText(nsd.port, name, type),
        `${name} ${type}`,
      );
    const got = await call(tenant, 'GET', `${PDNS}/zones/${nsdZone}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.serial, 2026120401);
    assert.ok(got.body.last_check > 0, JSON.stringify(got.body));
    assert.deepEqual(got.body.masters, [`127.0.0.1:${nsd.port}`]);
  });

  test('a Slave zone is read-only through the API', async () => {
    const patch = await call(tenant, 'PATCH', `${PDNS}/zones/${nsdZone}`, {
      rrsets: [
        {
          name: `x.${nsdZone}`,
          type: 'A',
          ttl: 60,
          changetype: 'REPLACE',
          records: [{ content: '192.0.2.1' }],
        },
      ],
    });
    assert.equal(patch.status, 422, JSON.stringify(patch.body));
    assert.match(patch.body.error, /secondary zone/);
    assert.equal(await serialAt(p.dnsPort, nsdZone), 2026120401);
  });

  test('masters checked against the outbound policy, keys against the account', async () => {
    const bad = await call(tenant, 'POST', `${PDNS}/zones`, {
      name: 'bad-master.test.',
      kind: 'Slave',
      masters: ['10.1.2.3:53'],
    });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.field, 'masters[0]');
    assert.match(bad.body.error, /outbound-allow/);
    const none = await call(tenant, 'POST', `${PDNS}/zones`, { name: 'no-master.test.', kind: 'Slave' });
    assert.equal(none.status, 422);
    assert.equal(none.body.field, 'masters');
    // Another account's key of that name does not exist for this tenant.
    const key = await call(other, 'POST', `${PDNS}/zones`, {
      name: 'other-key.test.',
      kind: 'Slave',
      masters: [`127.0.0.1:${nsd.port}`],
      slave_tsig_key_ids: ['xfrkey.'],
    });
    assert.equal(key.status, 422);
    assert.equal(key.body.field, 'slave_tsig_key_ids[0]');
    for (const z of ['bad-master.test.', 'no-master.test.', 'other-key.test.'])
      assert.equal((await call(ADMIN, 'GET', `${PDNS}/zones/${z}`)).status, 404);
  });

  test('NOTIFY: from the master with its key, a change arrives within seconds; others are refused', async () => {
    // Not from a master's address, or unsigned, or with a wrong key: refused; nothing relayed.
    assert.equal(await sendNotify(p.dnsPort, nsdZone, '127.0.0.2', SECRET), 5);
    assert.equal(await sendNotify(p.dnsPort, nsdZone, '127.0.0.1'), 5);
    assert.equal(
      await sendNotify(
        p.dnsPort,
        nsdZone,
        '127.0.0.1',
        Buffer.from('wrong-secret-wrong-secret').toString('base64'),
      ),
      9,
    );
    // NSD reloads its zone file on SIGHUP and notifies its secondaries.
    writeFileSync(nsdFile, zoneText(nsdZone, 2026120402, ['new IN A 192.0.2.99']));
    process.kill(nsd.pid, 'SIGHUP');
    const t0 = Date.now();
    await waitFor(
      'the notified change served',
      async () => (await serialAt(p.dnsPort, nsdZone)) === 2026120402,
      15_000,
    );
    const ms = Date.now() - t0;
    assert.ok(ms < 15_000);
    assert.equal(await answerText(p.dnsPort, `new.${nsdZone}`, RRType.A), '0 300 192.0.2.99');
    // A NOTIFY signed with the key from the master's address: accepted (NOERROR).
    assert.equal(await sendNotify(p.dnsPort, nsdZone, '127.0.0.1', SECRET), 0);
    const got = await call(tenant, 'GET', `${PDNS}/zones/${nsdZone}`);
    assert.equal(got.body.serial, 2026120402);
  });

  test('axfr-retrieve transfers now; 422 for a zone of another kind', async () => {
    const r = await call(tenant, 'PUT', `${PDNS}/zones/${nsdZone}/axfr-retrieve`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.match(r.body.result, /retrieval/);
    const native = await call(tenant, 'POST', `${PDNS}/zones`, {
      name: 'native-sec.test.',
      kind: 'Native',
      nameservers: ['ns1.example.net.'],
    });
    assert.equal(native.status, 201);
    const n = await call(tenant, 'PUT', `${PDNS}/zones/native-sec.test./axfr-retrieve`);
    assert.equal(n.status, 422);
  });

  test('the CLI: zone secondary show, retrieve', async () => {
    const cli = (args: string[]) => runCli(args, { SWITCHBOARD_URL: p.api, SWITCHBOARD_API_KEY: tenant });
    const show = await cli(['zone', 'secondary', 'show', nsdZone]);
    assert.equal(show.code, 0, show.err);
    assert.match(show.out, new RegExp(`masters +127\\.0\\.0\\.1:${nsd.port}`));
    assert.match(show.out, /key +xfrkey\./);
    assert.match(show.out, /notified serial 2026120402/);
    assert.match(show.out, /last error +-/);
    const json = await cli(['zone', 'secondary', 'show', nsdZone, '--json']);
    assert.equal(JSON.parse(json.out).masterUsed, `127.0.0.1:${nsd.port}`);
    const r = await cli(['zone', 'secondary', 'retrieve', nsdZone]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /requested/);
    const native = await cli(['zone', 'secondary', 'show', 'native-sec.test.']);
    assert.notEqual(native.code, 0);
  });

  test('a Knot primary: AXFR with TSIG, then a NOTIFY-triggered refresh', async () => {
    const origin = 'sec-knot.test.';
    const file = join(dir, 'sec-knot.zone');
    writeFileSync(file, zoneText(origin, 7));
    const knot = await startKnotPrimary(origin, file, p.dnsPort);
    peers.push(knot);
    const made = await call(tenant, 'POST', `${PDNS}/zones`, {
      name: origin,
      kind: 'Slave',
      masters: [`127.0.0.1:${knot.port}`],
      slave_tsig_key_ids: ['xfrkey'],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await waitFor('Knot zone served', async () => (await serialAt(p.dnsPort, origin)) === 7);
    assert.equal(
      await answerText(p.dnsPort, `www.${origin}`, RRType.A),
      await answerText(knot.port, `www.${origin}`, RRType.A),
    );
    writeFileSync(file, zoneText(origin, 8, ['knot-new IN A 192.0.2.88']));
    // Knot reloads a zone file whose modification time changed: make sure it did (same second).
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    process.kill(knot.pid, 'SIGHUP');
    // Knot sends its NOTIFY over TCP, signed.
    await waitFor('Knot change served', async () => (await serialAt(p.dnsPort, origin)) === 8, 15_000);
    assert.equal(await answerText(p.dnsPort, `knot-new.${origin}`, RRType.A), '0 300 192.0.2.88');
    // Native again: its transferred records stay and are editable; it is no longer refreshed.
    const native = await call(tenant, 'PUT', `${PDNS}/zones/${origin}`, { kind: 'Native' });
    assert.equal(native.status, 204, JSON.stringify(native.body));
    assert.equal((await call(tenant, 'GET', `/api/v1/zones/${origin}/secondary`)).status, 404);
    const patch = await call(tenant, 'PATCH', `${PDNS}/zones/${origin}`, {
      rrsets: [
        {
          name: `x.${origin}`,
          type: 'A',
          ttl: 60,
          changetype: 'REPLACE',
          records: [{ content: '192.0.2.7' }],
        },
      ],
    });
    assert.equal(patch.status, 204, JSON.stringify(patch.body));
    await waitFor(
      'the edit served',
      async () => (await answerText(p.dnsPort, `x.${origin}`, RRType.A)) === '0 60 192.0.2.7',
    );
  });

  test('expiry: the primary gone past the SOA expire, SERVFAIL; back on the next good transfer', async () => {
    // The test's lower bounds: refresh 1 s, retry 1 s, expire 4 s (SWITCHBOARD_SECONDARY_MIN_TIMERS).
    // A zone of its own, whose SOA says refresh 1, retry 1, expire 4.
    const origin = 'sec-expire.test.';
    const file = join(dir, 'sec-expire.zone');
    writeFileSync(file, zoneText(origin, 100).replace('100 3600 600 86400 300', '100 1 1 4 300'));
    let primary = await startNsdPrimary(origin, file, p.dnsPort);
    const made = await call(tenant, 'POST', `${PDNS}/zones`, {
      name: origin,
      kind: 'Slave',
      masters: [`127.0.0.1:${primary.port}`],
      slave_tsig_key_ids: ['xfrkey.'],
    });
    assert.equal(made.status, 201);
    await waitFor('served', async () => (await serialAt(p.dnsPort, origin)) === 100);
    const port = primary.port;
    await primary.stop();
    await waitFor(
      'SERVFAIL once expired',
      async () => (await answerText(p.dnsPort, `www.${origin}`, RRType.A)).startsWith('2 '),
      15_000,
    );
    const state = await call(tenant, 'GET', `${PDNS}/zones/${origin}`);
    assert.ok(state.body.last_check > 0);
    // The primary back on the same port: the next retry transfers, and the zone answers again.
    primary = await startNsdPrimaryOn(origin, file, p.dnsPort, port);
    peers.push(primary);
    await waitFor(
      'answered again',
      async () => (await answerText(p.dnsPort, `www.${origin}`, RRType.A)) === '0 300 192.0.2.10',
      15_000,
    );
  });

  test('hostile primaries: a bad MAC, more records than the quota, an endless transfer: nothing changes', async () => {
    const fake = await startFakePrimary(makeTsigKey('xfrkey', 'hmac-sha256', SECRET));
    try {
      const why = {
        'bad-mac': /TSIG check failed: bad MAC/,
        'too-many': /more than 20 records: cut off/,
        endless: /no data from .* for 15000 ms/,
      };
      for (const [mode, zone, key] of [
        ['bad-mac', 'h-mac.test.', tenant],
        ['too-many', 'h-many.test.', other],
        ['endless', 'h-endless.test.', tenant],
      ] as const) {
        fake.mode = mode;
        if (key === other) {
          const k = await call(other, 'POST', `${PDNS}/tsigkeys`, {
            name: 'xfrkey',
            algorithm: 'hmac-sha256',
            key: SECRET,
          });
          assert.ok(k.status === 201 || k.status === 409);
        }
        const made = await call(key, 'POST', `${PDNS}/zones`, {
          name: zone,
          kind: 'Slave',
          masters: [`127.0.0.1:${fake.port}`],
          ...(mode === 'bad-mac' ? { slave_tsig_key_ids: ['xfrkey.'] } : {}),
        });
        assert.equal(made.status, 201, JSON.stringify(made.body));
        await waitFor(
          `${mode}: an error recorded`,
          async () => {
            const z = await call(key, 'GET', `${PDNS}/zones/${zone}`);
            return z.body.last_check > 0;
          },
          25_000,
        );
        const state = await call(key, 'GET', `/api/v1/zones/${zone}/secondary`);
        assert.equal(state.status, 200);
        assert.match(state.body.lastError, why[mode], JSON.stringify(state.body));
        assert.equal(state.body.lastSuccess, null);
        // Never served: REFUSED (not our zone yet), and serial 0 in the API.
        const a = await answerText(p.dnsPort, `www.${zone}`, RRType.A);
        assert.ok(a.startsWith('5 '), `${mode}: ${a}`);
        const z = await call(key, 'GET', `${PDNS}/zones/${zone}`);
        assert.equal(z.body.serial, 0, `${mode}: ${JSON.stringify(z.body)}`);
      }
    } finally {
      fake.close();
    }
  });
});

/** NSD on a given port (a primary restarted where it was). */
async function startNsdPrimaryOn(
  origin: string,
  file: string,
  notifyPort: number,
  port: number,
): Promise<Peer> {
  return startNsd([{ origin, file }], {
    port,
    primaryTo: {
      to: '127.0.0.0/8',
      key: { name: 'xfrkey', algorithm: 'hmac-sha256', secret: SECRET },
      notify: `127.0.0.1@${notifyPort}`,
    },
  });
}
