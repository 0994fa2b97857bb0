/**
 * The `Consumer` zone kind with real producers (issue 9 §3; docs/TRANSFERS.md "Catalog zones
 * (consumer)"): `switchboard start` follows another provider's catalog zone and keeps the
 * members as Slave zones of the same account.
 *
 * - BIND 9.18 serves a hand-written catalog (and its member zones), with TSIG, NOTIFYing
 *   Switchboard; signed UPDATEs (nsupdate) change the catalog: members added appear and answer
 *   as BIND does, a member removed is deleted, a member whose unique id changed is re-created;
 *   the account's zone quota refuses the excess, a name another account holds is not taken; the
 *   members are read-only and their `catalog` field names the Consumer zone; `coo` moves a
 *   member to another Consumer zone; deleting the Consumer zone takes its members.
 * - Two BIND 9 producers of the same catalog: the Consumer zone's masters and key moved from the
 *   first to the second reach its members at once (the members transfer the second's data,
 *   signed with the second key, without a new catalog version).
 * - Knot 3.2 generates a catalog (`catalog-role: generate`) of its member zones: they appear on
 *   Switchboard (CLI `zone create --kind consumer --masters … --key …`) and answer as Knot does;
 *   a member dropped from Knot's configuration disappears, one added appears.
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../../src/wire/constants.js';
import { writeCatalogZone } from '../helpers/catalog-zones.js';
import { answerText } from '../helpers/dns-client.js';
import {
  findCommand,
  findFreePort,
  knotServerSections,
  launch,
  type Peer,
  skipUnlessCommands,
  startBind,
  switchboardBin,
} from '../helpers/peers.js';
import { callApi, type Platform, removeDataDir, startPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait-for.js';

const skip = skipUnlessCommands('named', 'nsupdate', 'knotd');
const ADMIN = 'sb_e2e_catalog_consumer_admin_key_0123';
const PDNS = '/api/v1/servers/localhost';
const SECRET = Buffer.from('the-catalog-consumer-transfer-key-01').toString('base64');
const KEY = { name: 'catkey', algorithm: 'hmac-sha256', secret: SECRET };

/** An account with a zone quota, a write token of it, and the transfer key in it. */
async function account(api: string, name: string, maxZones: number): Promise<string> {
  const acc = await callApi(api, ADMIN, 'POST', '/api/v1/accounts', { name, maxZones });
  assert.equal(acc.status, 201, JSON.stringify(acc.body));
  const tok = await callApi(api, ADMIN, 'POST', '/api/v1/tokens', {
    name,
    accountId: acc.body.id,
    scope: { access: 'write' },
  });
  assert.equal(tok.status, 201, JSON.stringify(tok.body));
  const token = tok.body.secret as string;
  const k = await callApi(api, token, 'POST', `${PDNS}/tsigkeys`, {
    name: KEY.name,
    algorithm: KEY.algorithm,
    key: SECRET,
  });
  assert.equal(k.status, 201, JSON.stringify(k.body));
  return token;
}

function memberZone(dir: string, origin: string, host: number, serial = 2026120501): string {
  const file = join(dir, `${origin}zone`);
  writeFileSync(
    file,
    [
      `$ORIGIN ${origin}`,
      '$TTL 300',
      `@ IN SOA ns1 hostmaster ${serial} 3600 600 86400 300`,
      '@ IN NS ns1',
      'ns1 IN A 127.0.0.1',
      `www IN A 192.0.2.${host}`,
      `txt IN TXT "member ${origin}"`,
      '',
    ].join('\n'),
  );
  return file;
}

/** Whether the platform serves `origin` with what `peer` serves (SOA, www A, txt TXT). */
async function sameAs(port: number, peerPort: number, origin: string): Promise<boolean> {
  for (const [name, type] of [
    [origin, RRType.SOA],
    [`www.${origin}`, RRType.A],
    [`txt.${origin}`, RRType.TXT],
  ] as const) {
    const ours = await answerText(port, name, type);
    if (!ours.startsWith('0 ') || ours !== (await answerText(peerPort, name, type))) return false;
  }
  return true;
}

async function zoneNames(api: string, token: string): Promise<string[]> {
  const r = await callApi(api, token, 'GET', `${PDNS}/zones`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return (r.body as { name: string }[]).map((z) => z.name).sort();
}

async function report(api: string, token: string, zone: string): Promise<Record<string, unknown>> {
  const r = await callApi(api, token, 'GET', `/api/v1/zones/${zone}/secondary`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return (r.body as { consumer?: Record<string, unknown> }).consumer ?? {};
}

function nsupdate(port: number, zone: string, lines: string[]): void {
  const up = spawnSync('nsupdate', ['-y', `hmac-sha256:${KEY.name}:${SECRET}`], {
    input: [`server 127.0.0.1 ${port}`, `zone ${zone}`, ...lines, 'send', ''].join('\n'),
    encoding: 'utf8',
    timeout: 10_000,
  });
  assert.equal(up.status, 0, up.stderr);
}

describe('start: Consumer zones following real producers', { skip }, () => {
  let p: Platform;
  let bind: Peer | undefined;
  let knot: Peer | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'sb-catalog-consumer-'));

  before(async () => {
    p = await startPlatform({ apiKey: ADMIN, workers: 1, extraArgs: ['--outbound-allow', '127.0.0.0/8'] });
  });
  after(async () => {
    await bind?.stop();
    await knot?.stop();
    await p?.stop();
    if (p) removeDataDir(p.dataDir);
    rmSync(dir, { recursive: true, force: true });
  });

  test('BIND 9 serving a hand-written catalog: members follow it (add, remove, re-create, quota, taken, coo)', async (t) => {
    const CAT = 'catalog.cz.test.';
    const CAT2 = 'other.cz.test.';
    const members = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'taken'].map((m) => `${m}.cz.test.`);
    const files = members.map((m, i) => ({ origin: m, file: memberZone(dir, m, 10 + i) }));
    const catFile = writeCatalogZone(join(dir, `${CAT}zone`), CAT, [
      'id1.zones IN PTR m1.cz.test.',
      'id2.zones IN PTR m2.cz.test.',
      'idt.zones IN PTR taken.cz.test.',
      'group.id1.zones IN TXT "ignored"',
    ]);
    const cat2File = writeCatalogZone(join(dir, `${CAT2}zone`), CAT2, []);
    bind = await startBind([{ origin: CAT, file: catFile }, { origin: CAT2, file: cat2File }, ...files], {
      primaryTo: { to: '127.0.0.0/8', key: KEY, notify: `127.0.0.1@${p.dnsPort}`, dynamic: true },
    });
    const bport = bind.port;
    // Another account serves taken.cz.test. already; the consumer's account may hold 5 zones:
    // its 2 Consumer zones and 3 members.
    const other = await account(p.api, 'cz-other', 10);
    assert.equal(
      (
        await callApi(p.api, other, 'POST', `${PDNS}/zones`, {
          name: 'taken.cz.test.',
          nameservers: ['ns1.example.'],
        })
      ).status,
      201,
    );
    const tenant = await account(p.api, 'cz-tenant', 5);
    const made = await callApi(p.api, tenant, 'POST', `${PDNS}/zones`, {
      name: CAT,
      kind: 'Consumer',
      masters: [`127.0.0.1:${bport}`],
      slave_tsig_key_ids: [KEY.name],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.kind, 'Consumer');
    const t0 = Date.now();
    await waitFor(
      'm1 and m2 served as BIND serves them',
      async () =>
        (await sameAs(p.dnsPort, bport, 'm1.cz.test.')) && (await sameAs(p.dnsPort, bport, 'm2.cz.test.')),
    );
    t.diagnostic(`catalog of 3 transferred, 2 members transferred and answering in ${Date.now() - t0} ms`);
    assert.deepEqual(await zoneNames(p.api, tenant), [CAT, 'm1.cz.test.', 'm2.cz.test.']);
    // The member: a Slave zone with the catalog's masters and key, its catalog field the consumer.
    const m1 = await callApi(p.api, tenant, 'GET', `${PDNS}/zones/m1.cz.test.`);
    assert.equal(m1.body.kind, 'Slave');
    assert.equal(m1.body.catalog, CAT);
    assert.deepEqual(m1.body.masters, [`127.0.0.1:${bport}`]);
    assert.deepEqual(m1.body.slave_tsig_key_ids, [`${KEY.name}.`]);
    // The name another account serves is not taken over: reported; its owner's data answers.
    let r = await report(p.api, tenant, CAT);
    assert.equal(r.members, 2);
    assert.deepEqual(r.refused, [
      { zone: 'taken.cz.test.', reason: 'the zone is served by another account' },
    ]);
    assert.match(await answerText(p.dnsPort, 'taken.cz.test.', RRType.NS), /ns1\.example\./);
    // Members are read-only; the consumer catalog's names are not public.
    for (const [method, path, body] of [
      [
        'PATCH',
        `${PDNS}/zones/m1.cz.test.`,
        {
          rrsets: [
            {
              name: 'x.m1.cz.test.',
              type: 'A',
              ttl: 60,
              changetype: 'REPLACE',
              records: [{ content: '192.0.2.1', disabled: false }],
            },
          ],
        },
      ],
      ['PUT', `${PDNS}/zones/m1.cz.test.`, { kind: 'Native' }],
      ['PUT', `${PDNS}/zones/m1.cz.test.`, { catalog: '' }],
      ['DELETE', `${PDNS}/zones/m1.cz.test.`, undefined],
      ['PUT', `/api/v1/zones/m1.cz.test./secondary`, { masters: [] }],
      [
        'PATCH',
        `${PDNS}/zones/${CAT}`,
        {
          rrsets: [
            {
              name: `x.${CAT}`,
              type: 'A',
              ttl: 60,
              changetype: 'REPLACE',
              records: [{ content: '192.0.2.1', disabled: false }],
            },
          ],
        },
      ],
      ['PUT', `${PDNS}/zones/${CAT}`, { kind: 'Native' }],
    ] as const) {
      const res = await callApi(p.api, tenant, method, path, body);
      assert.equal(res.status, 422, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    assert.equal((await answerText(p.dnsPort, `version.${CAT}`, RRType.TXT)).split(' ')[0], '5');

    // The catalog changes on BIND (signed UPDATE → signed NOTIFY): m2 removed; m3 … m6 added
    // (the quota leaves room for three); m1 re-created under a new unique id.
    const m1Before = await callApi(p.api, tenant, 'GET', '/api/v1/zones/m1.cz.test.');
    nsupdate(bport, CAT, [
      `update delete id2.zones.${CAT} PTR`,
      `update add id3.zones.${CAT} 0 PTR m3.cz.test.`,
      `update add id4.zones.${CAT} 0 PTR m4.cz.test.`,
      `update add id5.zones.${CAT} 0 PTR m5.cz.test.`,
      `update add id6.zones.${CAT} 0 PTR m6.cz.test.`,
      `update delete id1.zones.${CAT} PTR`,
      `update add id1b.zones.${CAT} 0 PTR m1.cz.test.`,
    ]);
    const t1 = Date.now();
    await waitFor('m3, m4 and m5 served, m2 gone', async () => {
      const names = await zoneNames(p.api, tenant);
      return (
        !names.includes('m2.cz.test.') &&
        (await sameAs(p.dnsPort, bport, 'm3.cz.test.')) &&
        (await sameAs(p.dnsPort, bport, 'm4.cz.test.')) &&
        (await sameAs(p.dnsPort, bport, 'm5.cz.test.'))
      );
    });
    t.diagnostic(`catalog UPDATE on BIND → members in step on Switchboard in ${Date.now() - t1} ms`);
    assert.deepEqual(await zoneNames(p.api, tenant), [
      CAT,
      'm1.cz.test.',
      'm3.cz.test.',
      'm4.cz.test.',
      'm5.cz.test.',
    ]);
    // The workers drop m2 once its deletion reaches them (the API lists it gone first).
    await waitFor(
      'm2 no longer served',
      async () => (await answerText(p.dnsPort, 'www.m2.cz.test.', RRType.A)).split(' ')[0] === '5',
    );
    r = await report(p.api, tenant, CAT);
    assert.equal(r.members, 4);
    assert.equal(r.removed, 1);
    assert.equal(r.reset, 1);
    assert.deepEqual((r.refused as { zone: string; reason: string }[]).map((x) => x.zone).sort(), [
      'm6.cz.test.',
      'taken.cz.test.',
    ]);
    assert.match(JSON.stringify(r.refused), /zone quota \(5\)/);
    // m1 was dropped and made again (a new zone: new internal id), and answers.
    const m1After = await callApi(p.api, tenant, 'GET', '/api/v1/zones/m1.cz.test.');
    assert.notEqual(m1After.body.id, m1Before.body.id);
    await waitFor('m1 transferred again', () => sameAs(p.dnsPort, bport, 'm1.cz.test.'));

    // m5 and m6 leave the catalog: m5 is deleted, a slot is free again.
    nsupdate(bport, CAT, [`update delete id5.zones.${CAT} PTR`, `update delete id6.zones.${CAT} PTR`]);
    await waitFor('m5 gone', async () => !(await zoneNames(p.api, tenant)).includes('m5.cz.test.'));
    assert.deepEqual((await report(p.api, tenant, CAT)).refused, [
      { zone: 'taken.cz.test.', reason: 'the zone is served by another account' },
    ]);

    // coo (RFC 9432 §5.4.1): a second Consumer zone lists m4 under the same id, and the first
    // catalog's coo property for m4 names it: m4 moves with its data kept.
    const made2 = await callApi(p.api, tenant, 'POST', `${PDNS}/zones`, {
      name: CAT2,
      kind: 'Consumer',
      masters: [`127.0.0.1:${bport}`],
      slave_tsig_key_ids: [KEY.name],
    });
    assert.equal(made2.status, 201, JSON.stringify(made2.body));
    const m4Before = await callApi(p.api, tenant, 'GET', '/api/v1/zones/m4.cz.test.');
    nsupdate(bport, CAT2, [`update add id4.zones.${CAT2} 0 PTR m4.cz.test.`]);
    await waitFor('the second catalog transferred and m4 refused there (no coo yet)', async () =>
      JSON.stringify((await report(p.api, tenant, CAT2)).refused ?? []).includes('another Consumer zone'),
    );
    nsupdate(bport, CAT, [`update add coo.id4.zones.${CAT} 0 PTR ${CAT2}`]);
    // The second catalog looks again when it changes (here: a NOTIFY of a new serial).
    await waitFor(
      'the first catalog has the coo property',
      async () => Number((await report(p.api, tenant, CAT)).serial) >= 4,
    );
    nsupdate(bport, CAT2, [`update add x.${CAT2} 0 TXT "bump"`]);
    await waitFor('m4 now a member of the second catalog', async () => {
      const z = await callApi(p.api, tenant, 'GET', `${PDNS}/zones/m4.cz.test.`);
      return z.body.catalog === CAT2;
    });
    const m4After = await callApi(p.api, tenant, 'GET', '/api/v1/zones/m4.cz.test.');
    assert.equal(m4After.body.id, m4Before.body.id, 'same unique id: the zone and its data kept');
    assert.equal((await report(p.api, tenant, CAT2)).moved, 1);
    assert.ok(await sameAs(p.dnsPort, bport, 'm4.cz.test.'));

    // Deleting a Consumer zone takes its members with it.
    assert.equal((await callApi(p.api, tenant, 'DELETE', `${PDNS}/zones/${CAT}`)).status, 204);
    assert.deepEqual(await zoneNames(p.api, tenant), ['m4.cz.test.', CAT2]);
    await waitFor(
      'm1 no longer served',
      async () => (await answerText(p.dnsPort, 'www.m1.cz.test.', RRType.A)).split(' ')[0] === '5',
    );
    await bind.stop();
    bind = undefined;
  });

  test("BIND 9 producers: the Consumer zone's masters and key moved to a second producer → its members follow at once", async (t) => {
    const CAT = 'moved.cz.test.';
    const names = ['a1.mv.test.', 'a2.mv.test.'];
    const SECRET2 = Buffer.from('the-second-producer-transfer-key-02').toString('base64');
    const KEY2 = { name: 'catkey2', algorithm: 'hmac-sha256', secret: SECRET2 };
    // The same catalog (serial 1, same unique ids) on both producers; the members' data differ.
    const producer = async (sub: string, serial: number, host: number, key: typeof KEY): Promise<Peer> => {
      const d = mkdtempSync(join(dir, sub));
      const catFile = writeCatalogZone(
        join(d, `${CAT}zone`),
        CAT,
        names.map((n, i) => `mv${i}.zones IN PTR ${n}`),
      );
      return startBind(
        [
          { origin: CAT, file: catFile },
          ...names.map((n, i) => ({ origin: n, file: memberZone(d, n, host + i, serial) })),
        ],
        { primaryTo: { to: '127.0.0.0/8', key } },
      );
    };
    const first = await producer('first-', 2026120501, 20, KEY);
    const second = await producer('second-', 2026120502, 30, KEY2);
    try {
      const tenant = await account(p.api, 'mv-tenant', 10);
      const k2 = await callApi(p.api, tenant, 'POST', `${PDNS}/tsigkeys`, {
        name: KEY2.name,
        algorithm: KEY2.algorithm,
        key: SECRET2,
      });
      assert.equal(k2.status, 201, JSON.stringify(k2.body));
      const made = await callApi(p.api, tenant, 'POST', `${PDNS}/zones`, {
        name: CAT,
        kind: 'Consumer',
        masters: [`127.0.0.1:${first.port}`],
        slave_tsig_key_ids: [KEY.name],
      });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      await waitFor('the members served as the first producer serves them', async () => {
        for (const n of names) if (!(await sameAs(p.dnsPort, first.port, n))) return false;
        return true;
      });
      const ids = await Promise.all(
        names.map(async (n) => (await callApi(p.api, tenant, 'GET', `/api/v1/zones/${n}`)).body.id),
      );
      // The Consumer zone moved to the second producer, with its key.
      const t0 = Date.now();
      const put = await callApi(p.api, tenant, 'PUT', `/api/v1/zones/${CAT}/secondary`, {
        masters: [`127.0.0.1:${second.port}`],
        slaveTsigKeyIds: [KEY2.name],
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      // At once: the members name the new master and key when the PUT returns.
      for (const n of names) {
        const sec = await callApi(p.api, tenant, 'GET', `/api/v1/zones/${n}/secondary`);
        assert.deepEqual(sec.body.masters, [`127.0.0.1:${second.port}`], n);
        assert.deepEqual(sec.body.slaveTsigKeyIds, [`${KEY2.name}.`], n);
      }
      // The refresher checks them at once (their masters changed) and transfers the second
      // producer's newer serial, signed with the second key; the catalog itself did not change.
      await waitFor('the members served as the second producer serves them', async () => {
        for (const n of names) if (!(await sameAs(p.dnsPort, second.port, n))) return false;
        return true;
      });
      t.diagnostic(
        `masters and key moved → members answering from the second producer in ${Date.now() - t0} ms`,
      );
      for (const [i, n] of names.entries()) {
        const z = await callApi(p.api, tenant, 'GET', `/api/v1/zones/${n}`);
        assert.equal(z.body.id, ids[i], `${n}: the same zone (not re-created)`);
        const sec = await callApi(p.api, tenant, 'GET', `/api/v1/zones/${n}/secondary`);
        assert.equal(sec.body.masterUsed, `127.0.0.1:${second.port}`, n);
      }
      assert.equal((await report(p.api, tenant, CAT)).serial, 1);
    } finally {
      await first.stop();
      await second.stop();
    }
  });

  test('Knot 3.2 generating a catalog (catalog-role: generate) with TSIG; the CLI makes the Consumer zone', async (t) => {
    const CAT = 'catalog.kz.test.';
    const port = await findFreePort();
    const start = async (names: string[]): Promise<Peer> => {
      // Knot's folder (removed by stop): its configuration, journal and timers.
      const kdir = mkdtempSync(join(tmpdir(), 'sb-knot-catalog-'));
      const files = names.map((n, i) => ({ origin: n, file: memberZone(dir, n, 50 + i) }));
      const conf = [
        ...knotServerSections(kdir, `127.0.0.1@${port}`, { log: 'info' }),
        'key:',
        `  - id: ${KEY.name}`,
        `    algorithm: ${KEY.algorithm}`,
        `    secret: ${KEY.secret}`,
        'remote:',
        '  - id: switchboard',
        `    address: 127.0.0.1@${p.dnsPort}`,
        `    key: ${KEY.name}`,
        'acl:',
        '  - id: signed-xfr',
        '    address: 127.0.0.0/8',
        `    key: ${KEY.name}`,
        '    action: transfer',
        'template:',
        '  - id: default',
        `    storage: "${kdir}"`,
        '    zonefile-sync: -1',
        '    acl: signed-xfr',
        'zone:',
        `  - domain: "${CAT}"`,
        '    catalog-role: generate',
        '    notify: switchboard',
        ...files.flatMap((f) => [
          `  - domain: "${f.origin}"`,
          `    file: "${f.file}"`,
          '    catalog-role: member',
          `    catalog-zone: "${CAT}"`,
        ]),
        '',
      ].join('\n');
      const file = join(kdir, `knot-${names.length}.conf`);
      writeFileSync(file, conf);
      return launch(
        'knot',
        [findCommand('knotd') ?? 'knotd', '-c', file],
        kdir,
        '127.0.0.1',
        port,
        files[0].origin,
        {},
      );
    };
    knot = await start(['k1.kz.test.', 'k2.kz.test.']);
    const tenant = await account(p.api, 'kz-tenant', 10);
    const cli = spawnSync(
      process.execPath,
      [
        switchboardBin(),
        'zone',
        'create',
        CAT,
        '--kind',
        'consumer',
        '--masters',
        `127.0.0.1:${port}`,
        '--key',
        KEY.name,
      ],
      {
        env: { ...process.env, SWITCHBOARD_URL: p.api, SWITCHBOARD_API_KEY: tenant },
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    assert.equal(cli.status, 0, cli.stderr + cli.stdout);
    const t0 = Date.now();
    await waitFor(
      'k1 and k2 served as Knot serves them',
      async () =>
        (await sameAs(p.dnsPort, port, 'k1.kz.test.')) && (await sameAs(p.dnsPort, port, 'k2.kz.test.')),
    );
    t.diagnostic(`Knot's generated catalog followed: 2 members answering in ${Date.now() - t0} ms`);
    const k1 = await callApi(p.api, tenant, 'GET', `${PDNS}/zones/k1.kz.test.`);
    assert.equal(k1.body.catalog, CAT);
    const shown = spawnSync(process.execPath, [switchboardBin(), 'zone', 'secondary', 'show', CAT], {
      env: { ...process.env, SWITCHBOARD_URL: p.api, SWITCHBOARD_API_KEY: tenant },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /members\s+2 /);
    // Knot again with k2 dropped from its configuration and k3 added: its catalog follows, it
    // NOTIFYs, and so do the members here (axfr-retrieve too, should the NOTIFY come before
    // Switchboard listens again for it).
    await knot.stop();
    knot = await start(['k1.kz.test.', 'k3.kz.test.']);
    const t1 = Date.now();
    await waitFor(
      'k2 gone, k3 served',
      async () => {
        const names = await zoneNames(p.api, tenant);
        if (names.includes('k2.kz.test.'))
          await callApi(p.api, tenant, 'PUT', `${PDNS}/zones/${CAT}/axfr-retrieve`);
        return !names.includes('k2.kz.test.') && (await sameAs(p.dnsPort, port, 'k3.kz.test.'));
      },
      30_000,
    );
    t.diagnostic(`Knot's catalog changed → in step in ${Date.now() - t1} ms`);
    assert.deepEqual(await zoneNames(p.api, tenant), [CAT, 'k1.kz.test.', 'k3.kz.test.']);
    // k1 stays (re-created, should Knot's member id for it have changed with the restart).
    await waitFor('k1 served', () => sameAs(p.dnsPort, port, 'k1.kz.test.'));
    await knot.stop();
    knot = undefined;
  });
});
