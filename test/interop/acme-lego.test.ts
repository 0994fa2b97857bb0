/**
 * ACME DNS-01 end to end (issue 3 §4): Debian's lego obtains a certificate from a local pebble,
 * creating and removing the `_acme-challenge` TXT record through Switchboard's
 * PowerDNS-compatible API with its unchanged `pdns` provider, while pebble validates the
 * challenge against Switchboard's own DNS answers (`-dnsserver`). Everything runs on loopback.
 * Then the same with lego's `rfc2136` provider (issue 9 §5): the challenge TXT added and removed
 * by DNS UPDATEs signed with a tenant's TSIG key that the zone's `TSIG-ALLOW-DNSUPDATE` names.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  httpsGet,
  type LegoRun,
  makeTestCa,
  type Pebble,
  runLego,
  type SwitchboardServer,
  skipUnlessAcmeTools,
  startPebble,
  startSwitchboardServer,
  type TestCa,
} from '../helpers/acme.js';
import { buildQuery, queryUdp, readHeader } from '../helpers/dns-client.js';
import { switchboardBin } from '../helpers/peers.js';

const ZONE = 'acme.test.';
const DOMAIN = 'test.acme.test';
const CHALLENGE = `_acme-challenge.${DOMAIN}.`;
const ADMIN_KEY = `sb_acme_admin_${Date.now().toString(36)}_0123456789abcdef`;

const skip =
  skipUnlessAcmeTools() ||
  (existsSync(switchboardBin()) ? false : `${switchboardBin()} is not built (npm run build)`);

/** A JSON call to the API; `key` goes in X-API-Key. */
async function callApi(
  server: SwitchboardServer,
  method: string,
  path: string,
  key: string,
  body?: unknown,
): Promise<{ status: number; json: unknown; text: string }> {
  const r = await fetch(`${server.apiUrl}${path}`, {
    method,
    headers: {
      'X-API-Key': key,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, json, text };
}

/** Fails with the response in the message unless the status is 2xx. */
function expectOk(r: { status: number; text: string }, what: string): void {
  assert.ok(r.status >= 200 && r.status < 300, `${what}: HTTP ${r.status} ${r.text}`);
}

interface VersionRow {
  version: number;
  serial: number;
}
interface VersionDiffBody extends VersionRow {
  addedRecords: string[];
  removedRecords: string[];
}

/** Every version of `zone` (following `next` cursors). */
async function listVersions(server: SwitchboardServer, key: string, zone: string): Promise<VersionRow[]> {
  const out: VersionRow[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const q = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : '?limit=100';
    const r = await callApi(server, 'GET', `/api/v1/zones/${zone}/versions${q}`, key);
    expectOk(r, 'list versions');
    const body = r.json as { items: VersionRow[]; next?: string };
    out.push(...body.items);
    if (!body.next) break;
    cursor = body.next;
  }
  return out.sort((a, b) => a.version - b.version);
}

/** True when a master-file line (`name TTL CLASS TYPE rdata`) is a TXT record at `owner`. */
function isTxtAt(line: string, owner: string): boolean {
  const f = line.trim().split(/\s+/);
  return f[0]?.toLowerCase() === owner.toLowerCase() && f.slice(1, 4).includes('TXT');
}

/** What each flow's set-up leaves for its tests. */
interface AcmeRig {
  work: string;
  ca: TestCa;
  server: SwitchboardServer;
  pebble: Pebble;
  /** A write token of the tenant that owns the zone: what a customer gives lego. */
  tenantKey: string;
  /** The zone's versions before lego ran. */
  versionsBefore: VersionRow[];
}

/**
 * Registers, in the calling `describe`, the set-up both flows share: a throw-away CA,
 * `switchboard start --workers 1`, a tenant account with a write token, `zone` created the way
 * PowerDNS clients do it (its in-zone name server with an address: glue for the parent), then
 * `prepare` (what the flow adds), the versions so far, and pebble validating against
 * Switchboard's own DNS; and the matching teardown. Returns the rig (set once `before` ran).
 */
function useAcmeRig(opts: {
  tmpPrefix: string;
  account: string;
  token: string;
  zone: string;
  kind: 'Native' | 'Master';
  prepare?: (server: SwitchboardServer, tenantKey: string) => Promise<void>;
}): () => AcmeRig {
  let rig: AcmeRig | undefined;
  let work = '';
  let server: SwitchboardServer | undefined;
  let pebble: Pebble | undefined;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), opts.tmpPrefix));
    const ca = makeTestCa(join(work, 'ca'));
    server = await startSwitchboardServer({ dataDir: join(work, 'data'), apiKey: ADMIN_KEY, workers: 1 });
    const acct = await callApi(server, 'POST', '/api/v1/accounts', ADMIN_KEY, { name: opts.account });
    expectOk(acct, 'create account');
    const tok = await callApi(server, 'POST', '/api/v1/tokens', ADMIN_KEY, {
      name: opts.token,
      accountId: (acct.json as { id: string }).id,
      scope: { admin: false, access: 'write' },
    });
    expectOk(tok, 'create token');
    const tenantKey = (tok.json as { secret: string }).secret;
    const created = await callApi(server, 'POST', '/api/v1/servers/localhost/zones', tenantKey, {
      name: opts.zone,
      kind: opts.kind,
      nameservers: [`ns1.${opts.zone}`],
      rrsets: [
        {
          name: `ns1.${opts.zone}`,
          type: 'A',
          ttl: 3600,
          records: [{ content: '127.0.0.1', disabled: false }],
        },
      ],
    });
    expectOk(created, 'create zone');
    await opts.prepare?.(server, tenantKey);
    const versionsBefore = await listVersions(server, tenantKey, opts.zone);
    pebble = await startPebble({ dir: work, dnsServer: `${server.dnsHost}:${server.dnsPort}`, ca });
    rig = { work, ca, server, pebble, tenantKey, versionsBefore };
  });
  after(async () => {
    await pebble?.stop();
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });
  return () => {
    assert.ok(rig, 'the ACME set-up did not complete');
    return rig;
  };
}

/** lego's run in `rig` with `provider`, asserted to have finished with a certificate; its output and path. */
async function legoObtains(
  rig: AcmeRig,
  domain: string,
  provider: LegoRun['provider'],
): Promise<{ legoPath: string; context: string }> {
  const legoPath = join(rig.work, 'lego');
  const run = await runLego({
    server: rig.pebble.directory,
    caCert: rig.ca.caCert,
    resolver: `${rig.server.dnsHost}:${rig.server.dnsPort}`,
    domain,
    path: legoPath,
    provider,
    timeoutMs: 150_000,
  });
  const context = `lego output:\n${run.output}\npebble output (tail):\n${rig.pebble.output().slice(-4000)}\nswitchboard output (tail):\n${rig.server.output().slice(-4000)}`;
  assert.equal(run.timedOut, false, `lego did not finish in time\n${context}`);
  assert.equal(run.code, 0, `lego exited with ${run.code}\n${context}`);
  const crt = join(legoPath, 'certificates', `${domain}.crt`);
  assert.ok(existsSync(crt), `no certificate at ${crt}\n${context}`);
  return { legoPath, context };
}

/**
 * The zone's versions made since the rig's set-up: exactly two, the first adding the challenge
 * TXT at `challenge`, the second removing it (and adding none); returned as [add, remove].
 */
async function challengeVersions(rig: AcmeRig, zone: string, challenge: string): Promise<VersionDiffBody[]> {
  const known = new Set(rig.versionsBefore.map((v) => v.version));
  const fresh = (await listVersions(rig.server, rig.tenantKey, zone)).filter((v) => !known.has(v.version));
  assert.equal(fresh.length, 2, `expected 2 new versions (add, remove), got ${JSON.stringify(fresh)}`);
  const diffs: VersionDiffBody[] = [];
  for (const v of fresh) {
    const r = await callApi(rig.server, 'GET', `/api/v1/zones/${zone}/versions/${v.version}`, rig.tenantKey);
    expectOk(r, `version ${v.version}`);
    diffs.push(r.json as VersionDiffBody);
  }
  const [add, remove] = diffs;
  assert.ok(
    add.addedRecords.some((l) => isTxtAt(l, challenge)),
    `version ${add.version} should add the TXT: ${JSON.stringify(add)}`,
  );
  assert.ok(
    remove.removedRecords.some((l) => isTxtAt(l, challenge)),
    `version ${remove.version} should remove the TXT: ${JSON.stringify(remove)}`,
  );
  assert.equal(remove.addedRecords.filter((l) => isTxtAt(l, challenge)).length, 0);
  return diffs;
}

describe('ACME DNS-01: lego (pdns provider) + pebble against switchboard start', {
  skip,
  timeout: 240_000,
}, () => {
  const rig = useAcmeRig({
    tmpPrefix: 'sb-acme-',
    account: 'acme-tenant',
    token: 'lego',
    zone: ZONE,
    kind: 'Native',
  });

  test('lego obtains a certificate through a DNS-01 challenge served by Switchboard', async () => {
    const r = rig();
    const { legoPath } = await legoObtains(r, DOMAIN, {
      name: 'pdns',
      apiUrl: r.server.apiUrl,
      apiKey: r.tenantKey,
    });

    // The certificate names the domain in its subject alternative names.
    const crt = join(legoPath, 'certificates', `${DOMAIN}.crt`);
    const x509 = spawnSync('openssl', ['x509', '-in', crt, '-noout', '-subject', '-ext', 'subjectAltName'], {
      encoding: 'utf8',
    });
    assert.equal(x509.status, 0, x509.stderr);
    assert.match(x509.stdout, new RegExp(`DNS:${DOMAIN.replaceAll('.', '\\.')}(,|\\s|$)`));

    // And it chains to the root pebble issued it under (lego saved the intermediate beside it).
    const root = await httpsGet(`${r.pebble.management}/roots/0`, readFileSync(r.ca.caCert));
    assert.equal(root.status, 200);
    const rootFile = join(r.work, 'pebble-root.pem');
    writeFileSync(rootFile, root.body);
    const verify = spawnSync(
      'openssl',
      [
        'verify',
        '-CAfile',
        rootFile,
        '-untrusted',
        join(legoPath, 'certificates', `${DOMAIN}.issuer.crt`),
        crt,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(verify.status, 0, `${verify.stdout}${verify.stderr}`);
  });

  test('the challenge TXT was added in one version and removed in the next', async () => {
    const r = rig();
    const [add, remove] = await challengeVersions(r, ZONE, CHALLENGE);
    // Each change bumped the SOA serial by one (RFC 1982 arithmetic; no wrap here).
    const last = r.versionsBefore[r.versionsBefore.length - 1];
    if (last) {
      assert.equal(add.serial, (last.serial + 1) >>> 0);
      assert.equal(remove.serial, (last.serial + 2) >>> 0);
    }
  });

  test('the challenge TXT is gone from the DNS answers afterwards', async () => {
    const { server } = rig();
    // DNS follows the API within the change-to-answer time, not in the same instant: the
    // removal is compiled and shipped to the workers after the API answered (a compile thread
    // may have to start first), so ask until it shows or 5 s passed.
    const deadline = Date.now() + 5000;
    let h: ReturnType<typeof readHeader>;
    for (;;) {
      const res = await queryUdp(buildQuery({ name: CHALLENGE, type: 16, edns: { udpSize: 1232 } }), {
        host: server.dnsHost,
        port: server.dnsPort,
      });
      h = readHeader(res);
      if (h.rcode === 3 || (h.rcode === 0 && h.ancount === 0) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(h.aa, 'the answer is authoritative');
    // RFC 2308 §2.1/§2.2: NXDOMAIN, or NODATA (NOERROR with an empty answer section).
    assert.ok(
      h.rcode === 3 || (h.rcode === 0 && h.ancount === 0),
      `expected NXDOMAIN or NODATA, got rcode ${h.rcode} with ${h.ancount} answers`,
    );
  });
});

describe('ACME DNS-01: lego (rfc2136 provider: signed DNS UPDATE) + pebble against switchboard start', {
  skip,
  timeout: 240_000,
}, () => {
  const zone = 'upd.acme.test.';
  const domain = 'www.upd.acme.test';
  let secret = '';
  const rig = useAcmeRig({
    tmpPrefix: 'sb-acme-upd-',
    account: 'acme-upd',
    token: 'upd',
    zone,
    kind: 'Master',
    // The tenant's TSIG key (generated by the server, as PowerDNS does without `key`), allowed
    // to update this zone and nothing else.
    prepare: async (server, tenantKey) => {
      const key = await callApi(server, 'POST', '/api/v1/servers/localhost/tsigkeys', tenantKey, {
        name: 'lego-upd',
        algorithm: 'hmac-sha256',
      });
      expectOk(key, 'create TSIG key');
      secret = (key.json as { key: string }).key;
      expectOk(
        await callApi(
          server,
          'PUT',
          `/api/v1/servers/localhost/zones/${zone}/metadata/TSIG-ALLOW-DNSUPDATE`,
          tenantKey,
          { metadata: ['lego-upd'] },
        ),
        'TSIG-ALLOW-DNSUPDATE',
      );
    },
  });

  test('lego obtains a certificate; the challenge TXT came and went by signed UPDATEs, a version each', async () => {
    const r = rig();
    await legoObtains(r, domain, {
      name: 'rfc2136',
      nameserver: `${r.server.dnsHost}:${r.server.dnsPort}`,
      tsig: { name: 'lego-upd.', algorithm: 'hmac-sha256.', secret },
    });
    // Through the same versioned store as the API: one version adds the TXT, the next removes it.
    await challengeVersions(r, zone, `_acme-challenge.${domain}.`);
  });
});
