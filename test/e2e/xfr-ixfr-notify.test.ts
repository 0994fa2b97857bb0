/**
 * IXFR and NOTIFY out of `switchboard start` (docs/TRANSFERS.md): kdig's `IXFR=serial` gets the
 * condensed difference equal to the two AXFRs' difference, one SOA when current (TCP) and over
 * UDP; ALSO-NOTIFY checked against the outbound policy (422 naming the field), POST …/metadata adding values; NSD, Knot and BIND 9 as
 * secondaries with the tenant's key get a signed NOTIFY after an API change and pull the new
 * serial by IXFR without waiting for the SOA refresh (3 hours); `PUT …/notify` and
 * `switchboard zone notify`; the NOTIFY and IXFR counters on /metrics.
 * @module
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { kdigAt } from '../helpers/dns-client.js';
import { kdigRecords, soaSerialOf } from '../helpers/kdig-records.js';
import { type Peer, skipUnlessCommands, startBind, startKnot, startNsd } from '../helpers/peers.js';
import {
  callApi,
  type Json,
  type Platform,
  queryPlatform,
  removeDataDir,
  runCli,
  startPlatform,
  tenantToken,
  waitForZonesServed,
} from '../helpers/platform.js';
import { createTransferZone, PDNS, type TransferZone } from '../helpers/transfer-zone.js';
import { waitForText } from '../helpers/wait-for.js';

const skip = skipUnlessCommands('kdig', 'nsd', 'knotd', 'named');
const ADMIN = 'sb_e2e_xfr_ixfr_admin_key_0123456789';
const ZONE = 'ixfr.test.';

const records = kdigRecords;
const serialOf = soaSerialOf;

async function waitFor(what: string, check: () => Promise<boolean>, ms: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: not within ${ms} ms`);
}

describe('start: IXFR from the version history, NOTIFY out', { skip }, () => {
  let p: Platform;
  let a: string;
  let zone: TransferZone;
  const peers: Peer[] = [];
  const call = (k: string, method: string, path: string, body?: unknown) =>
    callApi(p.api, k, method, path, body);
  const serial = () => zone.serial();
  const patch = (rrsets: unknown[]) => zone.patch(rrsets);
  /** Served by every worker (2): the SOA of a few UDP queries. */
  const served = async (s: number): Promise<boolean> => {
    for (let i = 0; i < 4; i++) {
      const r = await queryPlatform(p.dnsPort, ZONE, 6);
      if (!r.answers.some((x) => x.includes(` ${s} `))) return false;
    }
    return true;
  };
  const tsig = () => zone.tsig();
  const metric = async (re: RegExp): Promise<number> => {
    const text = await (await fetch(`${p.api}/metrics`, { headers: { 'X-API-Key': ADMIN } })).text();
    const m = re.exec(text);
    return m ? Number(m[1]) : -1;
  };
  const IXFR_SERVED = /switchboard_dns_transfers_served_total\{form="ixfr"\} (\d+)/;
  /**
   * A fence for the workers' counters (they reach the primary in a report each second): a zone
   * `name` is made, and once both workers report it served, each has reported after taking it,
   * so /metrics holds everything either counted before it came.
   */
  const reportedSince = async (name: string): Promise<void> => {
    const served = await waitForZonesServed(p);
    const made = await call(ADMIN, 'POST', '/api/v1/zones', {
      name,
      zonefile: `${name} 300 IN SOA ns.invalid. hostmaster.${name} 1 3600 600 86400 300\n${name} 300 IN NS ns.invalid.\n`,
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await waitForZonesServed(p, served + 1);
  };

  before(async () => {
    p = await startPlatform({ apiKey: ADMIN, workers: 2, extraArgs: ['--outbound-allow', '127.0.0.0/8'] });
    a = await tenantToken(p.api, ADMIN, 'tenant');
    zone = await createTransferZone((method, path, body) => call(a, method, path, body), ZONE);
  });
  after(async () => {
    for (const peer of peers) await peer.stop();
    await p?.stop();
    if (p) removeDataDir(p.dataDir);
  });

  test('kdig IXFR=serial: the condensed difference equals the two AXFRs’ difference; one SOA when current', async () => {
    const s0 = await serial();
    await waitFor('first version served', () => served(s0), 10_000);
    const axfr0 = records(await kdigAt(p.dnsPort, ...tsig(), 'AXFR', ZONE));
    assert.ok(axfr0.length >= 5, axfr0.join('\n'));
    // Several versions: an RRset replaced twice (a record added then removed again), one
    // deleted, one added, a TTL changed.
    await patch([
      {
        name: `www.${ZONE}`,
        type: 'A',
        ttl: 300,
        changetype: 'REPLACE',
        records: [
          { content: '192.0.2.1', disabled: false },
          { content: '192.0.2.2', disabled: false },
        ],
      },
    ]);
    await patch([
      {
        name: `www.${ZONE}`,
        type: 'A',
        ttl: 300,
        changetype: 'REPLACE',
        records: [
          { content: '192.0.2.2', disabled: false },
          { content: '192.0.2.3', disabled: false },
        ],
      },
      { name: `old.${ZONE}`, type: 'TXT', changetype: 'DELETE' },
    ]);
    await patch([
      {
        name: `new.${ZONE}`,
        type: 'AAAA',
        ttl: 60,
        changetype: 'REPLACE',
        records: [{ content: '2001:db8::1', disabled: false }],
      },
      {
        name: `ns1.${ZONE}`,
        type: 'A',
        ttl: 600,
        changetype: 'REPLACE',
        records: [{ content: '127.0.0.1', disabled: false }],
      },
    ]);
    const s3 = await serial();
    assert.ok(s3 > s0);
    await waitFor('last version served', () => served(s3), 10_000);
    const axfr3 = records(await kdigAt(p.dnsPort, ...tsig(), 'AXFR', ZONE));
    const ixfr = records(await kdigAt(p.dnsPort, ...tsig(), `IXFR=${s0}`, ZONE));
    // current SOA, old SOA, deletions, current SOA, additions, current SOA.
    assert.equal(serialOf(ixfr[0]), s3, ixfr.join('\n'));
    assert.equal(serialOf(ixfr[1]), s0, ixfr.join('\n'));
    const mid = ixfr.findIndex((r, i) => i > 1 && r.includes(' SOA '));
    assert.equal(serialOf(ixfr[mid]), s3);
    assert.equal(serialOf(ixfr[ixfr.length - 1]), s3);
    const del = ixfr.slice(2, mid).sort();
    const add = ixfr.slice(mid + 1, -1).sort();
    const noSoa = (l: string[]) => l.filter((r) => !r.includes(' SOA '));
    const before = new Set(noSoa(axfr0));
    const now = new Set(noSoa(axfr3));
    assert.deepEqual(del, [...before].filter((r) => !now.has(r)).sort());
    assert.deepEqual(add, [...now].filter((r) => !before.has(r)).sort());
    // 192.0.2.2 added and kept: an addition; nothing of it among the deletions.
    assert.ok(!del.some((r) => r.includes('192.0.2.2')), del.join('\n'));
    // Current: one SOA (TCP); over UDP one SOA too (RFC 1995 §2: the client retries over TCP).
    const current = records(await kdigAt(p.dnsPort, ...tsig(), `IXFR=${s3}`, ZONE));
    assert.equal(current.length, 1, current.join('\n'));
    const udp = records(await kdigAt(p.dnsPort, ...tsig(), '+notcp', `IXFR=${s0}`, ZONE));
    assert.equal(udp.length, 1, udp.join('\n'));
    assert.equal(serialOf(udp[0]), s3);
    // A serial the journal never held: the whole zone in AXFR form.
    const full = records(await kdigAt(p.dnsPort, ...tsig(), `IXFR=${(s0 - 1) >>> 0}`, ZONE));
    assert.deepEqual(full.slice(1, -1).sort(), axfr3.slice(1, -1).sort());
    // Unsigned, not allowed by address: REFUSED.
    assert.match(await kdigAt(p.dnsPort, `IXFR=${s0}`, ZONE), /REFUSED/);
  });

  test('ALSO-NOTIFY: the outbound policy at write time (422 naming the field), forms kept as given', async () => {
    for (const bad of ['10.0.0.1', '192.168.1.1:53', '169.254.169.254', 'not-an-address', '[::1]:99999']) {
      const r = await call(a, 'PUT', `${PDNS}/zones/${ZONE}/metadata/ALSO-NOTIFY`, { metadata: [bad] });
      assert.equal(r.status, 422, `${bad}: ${JSON.stringify(r.body)}`);
      assert.match(JSON.stringify(r.body), /ALSO-NOTIFY/);
    }
    const ok = await call(a, 'PUT', `${PDNS}/zones/${ZONE}/metadata/ALSO-NOTIFY`, {
      metadata: ['127.0.0.9', '[::ffff:127.0.0.2]:5399'],
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    // An IPv4-mapped address is judged as its IPv4 address (opened by --outbound-allow).
    assert.deepEqual(ok.body.metadata, ['127.0.0.9:53', '[::ffff:127.0.0.2]:5399']);
    const v6 = await call(a, 'PUT', `${PDNS}/zones/${ZONE}/metadata/ALSO-NOTIFY`, {
      metadata: ['[::1]:5399'],
    });
    assert.equal(v6.status, 422);
    assert.equal(v6.body.field, 'ALSO-NOTIFY[0]');
    const all = await call(a, 'GET', `${PDNS}/zones/${ZONE}/metadata`);
    assert.ok(all.body.some((m: Json) => m.kind === 'ALSO-NOTIFY'));
    // POST adds values (PowerDNS): those there stay; other kinds 422.
    const added = await call(a, 'POST', `${PDNS}/zones/${ZONE}/metadata`, {
      kind: 'ALSO-NOTIFY',
      metadata: ['127.0.0.10:5301', '127.0.0.9'],
    });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.deepEqual(added.body.metadata, ['127.0.0.9:53', '[::ffff:127.0.0.2]:5399', '127.0.0.10:5301']);
    const refused = await call(a, 'POST', `${PDNS}/zones/${ZONE}/metadata`, {
      kind: 'ALSO-NOTIFY',
      metadata: ['10.1.1.1'],
    });
    assert.equal(refused.status, 422);
    assert.equal(
      (await call(a, 'POST', `${PDNS}/zones/${ZONE}/metadata`, { kind: 'TSIG-ALLOW-AXFR', metadata: ['x'] }))
        .status,
      422,
    );
    assert.equal((await call(a, 'DELETE', `${PDNS}/zones/${ZONE}/metadata/ALSO-NOTIFY`)).status, 204);
    const native = await call(a, 'GET', `/api/v1/zones/${ZONE}/transfer`);
    assert.deepEqual(native.body.alsoNotify, []);
  });

  for (const kind of ['nsd', 'knot', 'bind'] as const)
    test(`${kind} as a secondary: NOTIFY after an API change, then IXFR, without waiting for refresh`, async (t) => {
      const secondary = {
        primary: `127.0.0.1@${p.dnsPort}`,
        key: { name: 'transfer', algorithm: 'hmac-sha256', secret: zone.key.key as string },
        allowNotify: true,
      };
      const zones = [{ origin: ZONE, file: '' }];
      const peer =
        kind === 'nsd'
          ? await startNsd(zones, { secondary, readyTimeoutMs: 20_000 })
          : kind === 'knot'
            ? await startKnot(zones, { secondary, readyTimeoutMs: 20_000 })
            : await startBind(zones, { secondary, readyTimeoutMs: 20_000 });
      peers.push(peer);
      const set = await call(a, 'PUT', `/api/v1/zones/${ZONE}/transfer`, {
        alsoNotify: [`127.0.0.1:${peer.port}`],
      });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      const soaAt = async (port: number): Promise<string> =>
        (await queryPlatform(port, ZONE, 6)).answers.join(' ');
      const s = await serial();
      await waitFor(
        `${kind} at serial ${s}`,
        async () => (await soaAt(peer.port)).includes(` ${s} `),
        20_000,
      );
      // Let the settings reach the primary's NOTIFY (the transfer settings feed) before the change.
      await new Promise((r) => setTimeout(r, 300));
      // The base counts every transfer served so far (the peer's first one among them): read once
      // both workers reported after taking a zone made now. A transfer counted later than its
      // serving worker's report would make the check below pass without an IXFR to the peer.
      await reportedSince(`fence-${kind}.test.`);
      const ixfrBefore = await metric(IXFR_SERVED);
      await patch([
        {
          name: `${kind}.${ZONE}`,
          type: 'TXT',
          ttl: 60,
          changetype: 'REPLACE',
          records: [{ content: `"${kind}"`, disabled: false }],
        },
      ]);
      const s2 = await serial();
      const took = await waitFor(
        `${kind} at serial ${s2} after NOTIFY`,
        async () => (await soaAt(peer.port)).includes(` ${s2} `),
        10_000,
      );
      const txt = await queryPlatform(peer.port, `${kind}.${ZONE}`, 16);
      assert.deepEqual(txt.answers, (await queryPlatform(p.dnsPort, `${kind}.${ZONE}`, 16)).answers);
      // The peer's log, read anew while waiting: it may write a line after it serves the change.
      const log = () => (kind === 'nsd' ? readFileSync(join(peer.dir, 'nsd.log'), 'utf8') : peer.output());
      // NSD logs the NOTIFY (not the transfer's kind: the IXFR counter below says it); Knot and
      // BIND both.
      await waitForText(
        `${kind}'s log`,
        log,
        kind === 'nsd'
          ? /notify for ixfr\.test\. from 127\.0\.0\.1/
          : kind === 'knot'
            ? /notify, incoming/
            : /received notify for zone 'ixfr\.test': TSIG 'transfer'/,
      );
      if (kind === 'knot') await waitForText("knot's log", log, /IXFR, incoming, .*finished/);
      // BIND 9.18 does not name the transfer's kind in its log: the IXFR counter below says it.
      if (kind === 'bind')
        await waitForText("bind's log", log, new RegExp(`transferred serial ${s2}: TSIG 'transfer'`));
      await waitFor(`an IXFR served to ${kind}`, async () => (await metric(IXFR_SERVED)) > ixfrBefore, 5000);
      // Within seconds, not the 3-hour refresh.
      t.diagnostic(`${kind}: change to new serial at the secondary in ${took} ms`);
      await call(a, 'PUT', `/api/v1/zones/${ZONE}/transfer`, { alsoNotify: [] });
    });

  test('PUT …/notify (PowerDNS, native) and `switchboard zone notify`; NOTIFY and IXFR counters on /metrics', async () => {
    const peer = peers[peers.length - 1];
    assert.ok(peer, 'a secondary of the tests before');
    assert.equal(
      (await call(a, 'PUT', `/api/v1/zones/${ZONE}/transfer`, { alsoNotify: [`127.0.0.1:${peer.port}`] }))
        .status,
      200,
    );
    await new Promise((r) => setTimeout(r, 300));
    const metric = async (re: RegExp): Promise<number> => {
      const text = (await (
        await fetch(`${p.api}/metrics`, { headers: { 'X-API-Key': ADMIN } })
      ).text()) as string;
      const m = re.exec(text);
      return m ? Number(m[1]) : -1;
    };
    const acked = /switchboard_notify_total\{outcome="acked"\} (\d+)/;
    const before = await metric(acked);
    assert.ok(before >= 3, `NOTIFYs acked by NSD, Knot and BIND: ${before}`);
    const r = await call(a, 'PUT', `${PDNS}/zones/${ZONE}/notify`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { result: 'Notification queued' });
    await waitFor('NOTIFY acked', async () => (await metric(acked)) > before, 5000);
    const cli = await runCli(['zone', 'notify', ZONE], { SWITCHBOARD_URL: p.api, SWITCHBOARD_API_KEY: a });
    assert.equal(cli.code, 0, cli.err);
    assert.match(cli.out, /NOTIFY queued for ixfr\.test\. serial \d+/);
    await waitFor('NOTIFY acked again', async () => (await metric(acked)) > before + 1, 5000);
    // Another account's zone cannot be notified (404).
    assert.equal((await call(ADMIN, 'PUT', `${PDNS}/zones/nonexistent.test./notify`)).status, 404);
    // IXFR served as differences (NSD, Knot, BIND, kdig).
    assert.ok((await metric(IXFR_SERVED)) >= 4);
  });
});
