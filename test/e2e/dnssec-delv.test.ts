/**
 * Signed zones served as received, checked by a validator: BIND's `delv` with the zone's own
 * key as trust anchor must call every answer "fully validated" (positive answers, CNAME chains,
 * wildcards, NXDOMAIN and NODATA proofs, DS and no-DS at cuts).
 *
 * 1. `switchboard serve` with zones signed here (ldns-signzone NSEC and NSEC3, dnssec-signzone
 *    NSEC3 opt-out; fresh keys in a temp folder).
 * 2. The secondary path: Knot signs a zone itself (`dnssec-signing: on`, keys it makes) and is
 *    the primary of a `switchboard start` Slave zone; what Switchboard serves after the AXFR
 *    validates, and the PowerDNS API shows the zone as PRESIGNED.
 * @module
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../../src/wire/constants.js';
import { answerText } from '../helpers/dns-client.js';
import { type Peer, skipUnlessCommands, startKnot, startSwitchboard } from '../helpers/peers.js';
import { callApi, type Platform, removeDataDir, startPlatform, tenantToken } from '../helpers/platform.js';
import { skipOrFail } from '../helpers/require-peers.js';
import { signTestZone, testZoneText } from '../helpers/signed-zones.js';

/** A trust-anchors file for `origin` from its KSK (flags 257) as `dig +short DNSKEY` prints it. */
function anchorFile(dir: string, origin: string, port: number): string {
  const out = execFileSync('dig', ['+short', '+tcp', '-p', String(port), '@127.0.0.1', origin, 'DNSKEY'], {
    encoding: 'utf8',
  });
  const ksk = out.split('\n').find((l) => l.startsWith('257 '));
  assert.ok(ksk, `no KSK for ${origin} in:\n${out}`);
  const [flags, proto, alg, ...key] = ksk.split(/\s+/);
  const file = join(dir, `anchor-${origin}conf`);
  writeFileSync(
    file,
    `trust-anchors {\n  "${origin}" static-key ${flags} ${proto} ${alg} "${key.join('')}";\n};\n`,
  );
  return file;
}

/** `delv`'s verdict and answer for one query (validated from `origin`'s anchor). */
function delv(port: number, anchors: string, origin: string, name: string, type: string): string {
  try {
    return execFileSync(
      'delv',
      ['@127.0.0.1', '-p', String(port), '-a', anchors, `+root=${origin}`, '+tcp', name, type],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 },
    );
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return `${err.stdout ?? ''}${err.stderr ?? ''}`;
  }
}

/** Queries that must validate in each test zone, and whether the answer is negative. */
const VALIDATED: [string, string, 'data' | 'nxdomain' | 'nodata'][] = [
  ['@', 'SOA', 'data'],
  ['www', 'A', 'data'],
  ['www', 'AAAA', 'data'],
  ['chain1', 'AAAA', 'data'],
  ['x.wild', 'TXT', 'data'],
  ['y.z.wild', 'A', 'data'],
  ['secure', 'DS', 'data'],
  ['txt', 'TXT', 'data'],
  ['nothere', 'A', 'nxdomain'],
  ['deep.nothere', 'AAAA', 'nxdomain'],
  ['www', 'MX', 'nodata'],
  ['b.ent', 'A', 'nodata'],
  ['x.wild', 'MX', 'nodata'],
  ['insecure', 'DS', 'nodata'],
  ['ext', 'DS', 'nodata'],
];

function checkValidated(port: number, anchors: string, origin: string, optOut = false): string[] {
  const bad: string[] = [];
  for (const [rel, type, kind] of VALIDATED) {
    const name = rel === '@' ? origin : `${rel}.${origin}`;
    const out = delv(port, anchors, origin, name, type);
    // A wildcard answer whose next closer name falls in an opt-out span is insecure by design
    // (RFC 5155 §9.2: an unsigned delegation could be there); NSD and Knot send the same proof.
    const insecureOk = optOut && rel.includes('wild');
    const ok =
      kind === 'data'
        ? /^; fully validated/m.test(out) || (insecureOk && /^; unsigned answer/m.test(out))
        : /negative response, fully validated/.test(out) &&
          (kind === 'nxdomain' ? /NXDOMAIN/.test(out) : /NXRRSET/.test(out));
    if (!ok) bad.push(`${name} ${type} (${kind}):\n${out}`);
  }
  return bad;
}

const skip = skipOrFail(
  skipUnlessCommands(
    'delv',
    'dig',
    'knotd',
    'ldns-keygen',
    'ldns-signzone',
    'dnssec-keygen',
    'dnssec-signzone',
  ),
);

describe('delv validates what Switchboard serves from signed zones', { skip, timeout: 300_000 }, () => {
  let dir: string;
  const peers: Peer[] = [];
  const zones = [
    { origin: 'nsec.test.', kind: 'nsec' as const },
    { origin: 'nsec3.test.', kind: 'nsec3' as const },
    { origin: 'optout.test.', kind: 'optout' as const },
  ];
  let sb: Peer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-dnssec-delv-'));
    const zoneDir = join(dir, 'zones');
    mkdirSync(zoneDir);
    for (const z of zones) signTestZone(dir, z.origin, z.kind, join(zoneDir, `${z.origin}zone`));
    sb = await startSwitchboard(zoneDir, { workers: 1, firstOrigin: zones[0].origin });
    peers.push(sb);
  });
  after(async () => {
    for (const p of peers) await p.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const z of zones)
    test(`${z.kind}: secure answers, secure NXDOMAIN and NODATA`, () => {
      const anchors = anchorFile(dir, z.origin, sb.port);
      const bad = checkValidated(sb.port, anchors, z.origin, z.kind === 'optout');
      assert.equal(bad.length, 0, bad.join('\n'));
    });
});

const ADMIN = 'sb_e2e_dnssec_delv_admin_key_012345';
const PDNS = '/api/v1/servers/localhost';

describe('secondary: a zone Knot signs, transferred into a Slave zone, validates', {
  skip,
  timeout: 300_000,
}, () => {
  let p: Platform;
  let knot: Peer;
  let dir: string;
  const origin = 'knot-signed.test.';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-dnssec-sec-'));
    p = await startPlatform({ apiKey: ADMIN, workers: 1, extraArgs: ['--outbound-allow', '127.0.0.0/8'] });
    const file = join(dir, `${origin}zone`);
    writeFileSync(file, testZoneText(origin));
    knot = await startKnot([{ origin, file }], { dnssecSigning: true, provideXfr: '127.0.0.0/8' });
  });
  after(async () => {
    await knot?.stop();
    await p?.stop();
    if (p) removeDataDir(p.dataDir);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('AXFR from the signing primary; delv validates Switchboard’s answers; PRESIGNED shown', async () => {
    const tenant = await tenantToken(p.api, ADMIN, 'tenant-dnssec');
    // Knot signs in the background after loading: wait for its DNSKEY.
    const started = Date.now();
    while (!/\b257 3 /.test(await answerText(knot.port, origin, RRType.DNSKEY).catch(() => ''))) {
      assert.ok(Date.now() - started < 20_000, 'Knot did not sign the zone');
      await new Promise((r) => setTimeout(r, 200));
    }
    const made = await callApi(p.api, tenant, 'POST', `${PDNS}/zones`, {
      name: origin,
      kind: 'Slave',
      masters: [`127.0.0.1:${knot.port}`],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const t0 = Date.now();
    while (!/\b257 3 /.test(await answerText(p.dnsPort, origin, RRType.DNSKEY).catch(() => ''))) {
      assert.ok(Date.now() - t0 < 30_000, 'the signed zone was not transferred');
      await new Promise((r) => setTimeout(r, 200));
    }
    const anchors = anchorFile(dir, origin, knot.port);
    const bad = checkValidated(p.dnsPort, anchors, origin);
    assert.equal(bad.length, 0, bad.join('\n'));
    // PowerDNS sets PRESIGNED on a secondary zone whose transfer carried signatures.
    const meta = await callApi(p.api, tenant, 'GET', `${PDNS}/zones/${origin}/metadata/PRESIGNED`);
    assert.equal(meta.status, 200, JSON.stringify(meta.body));
    assert.deepEqual((meta.body as { metadata: string[] }).metadata, ['1']);
  });
});
