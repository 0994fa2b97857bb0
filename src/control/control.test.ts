/**
 * The control plane against both stores: the same suite on SQLite (a temp folder) and on a
 * real PostgreSQL (a throw-away cluster, skipped when PostgreSQL is not installed), plus
 * the PostgreSQL replica tests (two control planes on one database).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import {
  createDatabase,
  postgresSkipReason,
  startPostgresServer,
  type TestCluster,
} from '../../test/helpers/postgres.js';
import {
  ControlError,
  type ControlPlane,
  openControlPlane,
  type Principal,
  type ZoneChangeEvent,
} from './index.js';
import type { StoreControlPlane } from './plane.js';

/** One opened control plane and how to inspect and remove its store. */
interface Harness {
  cp: ControlPlane;
  dataDir: string;
  url?: string;
  /** Every row of every table as text (what someone who copies the database sees). */
  rawDump(): Promise<string>;
  /** A second replica on the same store (PostgreSQL only). */
  replica(): Promise<ControlPlane>;
  cleanup(): Promise<void>;
}

interface Backend {
  name: string;
  skip: string | false;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  open(): Promise<Harness>;
}

const tmpDirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sb-control-'));
  tmpDirs.push(d);
  return d;
}
after(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

const sqlite: Backend = {
  name: 'SQLite',
  skip: false,
  async setup() {},
  async teardown() {},
  async open() {
    const dataDir = tempDir();
    const cp = await openControlPlane({ dataDir });
    return {
      cp,
      dataDir,
      async rawDump() {
        let out = '';
        for (const f of ['switchboard.db', 'switchboard.db-wal']) {
          const p = join(dataDir, f);
          if (existsSync(p)) out += readFileSync(p).toString('latin1');
        }
        return out;
      },
      async replica() {
        throw new Error('replicas need PostgreSQL');
      },
      async cleanup() {
        await cp.close();
      },
    };
  },
};

let server: TestCluster | undefined;
const postgres: Backend = {
  name: 'PostgreSQL',
  skip: postgresSkipReason(),
  async setup() {
    server = await startPostgresServer();
  },
  async teardown() {
    await server?.stop();
  },
  async open() {
    if (!server) throw new Error('no PostgreSQL server');
    const db = await createDatabase(server.url);
    const dataDir = tempDir();
    const cp = await openControlPlane({ dataDir, database: db.url });
    const replicas: ControlPlane[] = [];
    return {
      cp,
      dataDir,
      url: db.url,
      async rawDump() {
        const c = new pg.Client({ connectionString: db.url });
        await c.connect();
        try {
          const tables = await c.query(
            "select table_name from information_schema.tables where table_schema = 'public'",
          );
          let out = '';
          for (const t of tables.rows)
            out += JSON.stringify((await c.query(`select * from "${t.table_name}"`)).rows);
          return out;
        } finally {
          await c.end();
        }
      },
      async replica() {
        const r = await openControlPlane({ dataDir, database: db.url });
        replicas.push(r);
        return r;
      },
      async cleanup() {
        for (const r of replicas) await r.close();
        await cp.close();
        await db.stop();
      },
    };
  },
};

/** Runs `fn` with a fresh control plane, cleaning up after. */
async function withPlane(b: Backend, fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await b.open();
  try {
    await fn(h);
  } finally {
    await h.cleanup();
  }
}

/** Asserts that `p` rejects with a ControlError of `code` (and `field` when given). */
async function rejectsWith(p: Promise<unknown>, code: string, field?: string): Promise<ControlError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ControlError, `expected a ControlError, got ${err}`);
    assert.equal(err.code, code, err.message);
    if (field !== undefined) assert.equal(err.field, field, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

const NS = ['ns1.example.net.', 'ns2.example.net.'];

/** A zone file of `n` A records (h0 … h<n-1>) plus SOA and NS. */
function bigZone(n: number): string {
  let text = '$TTL 300\n@ SOA ns1.example.net. h.example.com. 1 2 3 4 5\n@ NS ns1.example.net.\n';
  for (let i = 0; i < n; i++) text += `h${i} A 192.0.${(i >> 8) & 255}.${i & 255}\n`;
  return text;
}

/** Two tenants, each with a write token, plus what else tests need. */
async function tenants(cp: ControlPlane) {
  const admin = cp.systemPrincipal();
  const a = await cp.createAccount(admin, { name: 'tenant-a' });
  const b = await cp.createAccount(admin, { name: 'tenant-b' });
  const tokA = await cp.createToken(admin, {
    name: 'a-write',
    accountId: a.id,
    scope: { admin: false, access: 'write' },
  });
  const tokB = await cp.createToken(admin, {
    name: 'b-write',
    accountId: b.id,
    scope: { admin: false, access: 'write' },
  });
  const pA = (await cp.authenticate(tokA.secret, '192.0.2.7')) as Principal;
  const pB = (await cp.authenticate(tokB.secret, '198.51.100.9')) as Principal;
  assert.ok(pA && pB);
  return { admin, a, b, tokA, tokB, pA, pB };
}

function nextEvent(cp: ControlPlane, match: (ev: ZoneChangeEvent) => boolean): Promise<ZoneChangeEvent> {
  return new Promise((resolve) => {
    const off = cp.onZoneChange((ev) => {
      if (!match(ev)) return;
      off();
      resolve(ev);
    });
  });
}

for (const backend of [sqlite, postgres]) {
  describe(`control plane on ${backend.name}`, { skip: backend.skip }, () => {
    before(() => backend.setup());
    after(() => backend.teardown());

    test('zones: create, read, change, export, list, delete', () =>
      withPlane(backend, async ({ cp }) => {
        const admin = cp.systemPrincipal();
        assert.equal(await cp.isEmpty(), true);
        const events: ZoneChangeEvent[] = [];
        cp.onZoneChange((ev) => events.push(ev));
        const z = await cp.createZone(admin, {
          name: 'Example.COM',
          nameservers: NS,
          rrsets: [{ name: 'www.example.com', type: 'a', ttl: 300, records: [{ content: '192.0.2.1' }] }],
        });
        assert.equal(z.name, 'example.com.');
        assert.equal(z.version, 1);
        assert.equal(z.serial, 1);
        assert.equal(await cp.isEmpty(), false);
        assert.deepEqual(
          z.rrsets.map((s) => `${s.name} ${s.type}`),
          ['example.com. NS', 'example.com. SOA', 'www.example.com. A'],
        );
        const soa = z.rrsets.find((s) => s.type === 'SOA');
        assert.equal(
          soa?.records[0].content,
          'ns1.example.net. hostmaster.example.com. 1 10800 3600 604800 3600',
        );

        const info = await cp.changeRRsets(admin, 'example.com.', [
          { op: 'add', name: 'www.example.com.', type: 'A', ttl: 300, records: [{ content: '192.0.2.2' }] },
          {
            op: 'replace',
            name: 'example.com.',
            type: 'MX',
            ttl: 3600,
            records: [{ content: '10 mail.example.net.' }],
          },
          // Spelled loosely; stored canonical.
          {
            op: 'replace',
            name: 'v6.example.com.',
            type: 'AAAA',
            ttl: 60,
            records: [{ content: '2001:DB8:0::1' }],
          },
        ]);
        assert.equal(info.version, 2);
        assert.equal(info.serial, 2);
        const detail = await cp.getZone(admin, 'EXAMPLE.com');
        assert.deepEqual(detail.rrsets.find((s) => s.type === 'AAAA')?.records, [
          { content: '2001:db8::1', disabled: false },
        ]);
        assert.equal(detail.recordCount, 7);

        const text = await cp.exportZone(admin, 'example.com');
        const lines = text.trim().split('\n');
        assert.match(
          lines[0],
          /^example\.com\.\t3600\tIN\tSOA\tns1\.example\.net\. hostmaster\.example\.com\. 2 /,
        );
        assert.deepEqual(lines.slice(1), [
          'example.com.\t3600\tIN\tNS\tns1.example.net.',
          'example.com.\t3600\tIN\tNS\tns2.example.net.',
          'example.com.\t3600\tIN\tMX\t10 mail.example.net.',
          'v6.example.com.\t60\tIN\tAAAA\t2001:db8::1',
          'www.example.com.\t300\tIN\tA\t192.0.2.1',
          'www.example.com.\t300\tIN\tA\t192.0.2.2',
        ]);

        await cp.createZone(admin, { name: 'b.example.org', nameservers: NS });
        await cp.createZone(admin, { name: 'a.example.org', nameservers: NS });
        const page1 = await cp.listZones(admin, { limit: 2 });
        assert.deepEqual(
          page1.items.map((i) => i.name),
          ['a.example.org.', 'b.example.org.'],
        );
        assert.ok(page1.next);
        const page2 = await cp.listZones(admin, { limit: 2, cursor: page1.next });
        assert.deepEqual(
          page2.items.map((i) => i.name),
          ['example.com.'],
        );
        assert.equal(page2.next, undefined);

        await rejectsWith(
          cp.createZone(admin, { name: 'example.com.', nameservers: NS }),
          'CTL_ERR_CONFLICT',
          'name',
        );
        await cp.deleteZone(admin, 'example.com');
        await rejectsWith(cp.getZone(admin, 'example.com'), 'CTL_ERR_NOT_FOUND');
        assert.equal(await cp.servedZone('example.com.'), null);
        assert.deepEqual(
          events.map((e) => `${e.zone} ${e.version} ${e.deleted}`),
          [
            'example.com. 1 false',
            'example.com. 2 false',
            'b.example.org. 1 false',
            'a.example.org. 1 false',
            'example.com. 2 true',
          ],
        );
      }));

    test('a change set with one bad record changes nothing', () =>
      withPlane(backend, async ({ cp }) => {
        const admin = cp.systemPrincipal();
        await cp.createZone(admin, { name: 'example.com', nameservers: NS });
        const before = await cp.getZone(admin, 'example.com');
        const err = await rejectsWith(
          cp.changeRRsets(admin, 'example.com', [
            {
              op: 'replace',
              name: 'a.example.com.',
              type: 'A',
              ttl: 300,
              records: [{ content: '192.0.2.1' }],
            },
            {
              op: 'replace',
              name: 'b.example.com.',
              type: 'A',
              ttl: 300,
              records: [{ content: '192.0.2.1' }, { content: '192.0.2.300' }],
            },
          ]),
          'CTL_ERR_VALIDATION',
          'rrsets[1].records[1].content',
        );
        assert.match(err.message, /192\.0\.2\.300/);
        assert.deepEqual(await cp.getZone(admin, 'example.com'), before);
        assert.equal((await cp.listVersions(admin, 'example.com')).items.length, 1);
      }));

    test('validation names the field at fault', () =>
      withPlane(backend, async ({ cp }) => {
        const admin = cp.systemPrincipal();
        await cp.createZone(admin, {
          name: 'example.com',
          nameservers: NS,
          rrsets: [{ name: 'www.example.com.', type: 'A', ttl: 300, records: [{ content: '192.0.2.1' }] }],
        });
        const before = await cp.getZone(admin, 'example.com');
        const change = (c: object) => cp.changeRRsets(admin, 'example.com', [c as never]);
        const rr = { op: 'replace', ttl: 300 };
        // RFC 1034 §3.6.2: CNAME and other data.
        await rejectsWith(
          change({
            ...rr,
            name: 'www.example.com.',
            type: 'CNAME',
            records: [{ content: 'x.example.net.' }],
          }),
          'CTL_ERR_VALIDATION',
          'rrsets[0].type',
        );
        await rejectsWith(
          change({ ...rr, name: 'www.example.org.', type: 'A', records: [{ content: '192.0.2.1' }] }),
          'CTL_ERR_VALIDATION',
          'rrsets[0].name',
        );
        await rejectsWith(
          change({ ...rr, name: 'x.example.com.', type: 'BOGUS', records: [{ content: '1' }] }),
          'CTL_ERR_VALIDATION',
          'rrsets[0].type',
        );
        await rejectsWith(
          change({ ...rr, name: 'x.example.com.', type: 'ANY', records: [{ content: '1' }] }),
          'CTL_ERR_VALIDATION',
          'rrsets[0].type',
        );
        await rejectsWith(
          change({
            op: 'replace',
            ttl: -1,
            name: 'x.example.com.',
            type: 'A',
            records: [{ content: '192.0.2.1' }],
          }),
          'CTL_ERR_VALIDATION',
          'rrsets[0].ttl',
        );
        await rejectsWith(
          change({
            op: 'replace',
            ttl: 2 ** 31,
            name: 'x.example.com.',
            type: 'A',
            records: [{ content: '192.0.2.1' }],
          }),
          'CTL_ERR_VALIDATION',
          'rrsets[0].ttl',
        );
        await rejectsWith(
          change({ op: 'delete', name: 'example.com.', type: 'SOA' }),
          'CTL_ERR_VALIDATION',
          'rrsets[0]',
        );
        await rejectsWith(
          change({ op: 'delete', name: 'example.com.', type: 'NS' }),
          'CTL_ERR_VALIDATION',
          'rrsets[0]',
        );
        await rejectsWith(
          change({ ...rr, name: 'sub.example.com.', type: 'SOA', records: [{ content: 'a. b. 1 2 3 4 5' }] }),
          'CTL_ERR_VALIDATION',
          'rrsets[0].name',
        );
        await rejectsWith(
          change({
            ...rr,
            name: 'c.example.com.',
            type: 'CNAME',
            records: [{ content: 'a.' }, { content: 'b.' }],
          }),
          'CTL_ERR_VALIDATION',
          'rrsets[0].records',
        );
        // Names in content are absolute: 'mail' alone is an error, not a guess.
        await rejectsWith(
          change({ ...rr, name: 'example.com.', type: 'MX', records: [{ content: '10 mail' }] }),
          'CTL_ERR_VALIDATION',
          'rrsets[0].records[0].content',
        );
        // The zone's own checks (src/zone/check.ts): an NS target must not be an alias
        // (RFC 2181 §10.3); the field points at the NS RRset.
        const err = await rejectsWith(
          cp.changeRRsets(admin, 'example.com', [
            {
              op: 'replace',
              name: 'alias.example.com.',
              type: 'CNAME',
              ttl: 300,
              records: [{ content: 'www.example.com.' }],
            },
            {
              op: 'replace',
              name: 'example.com.',
              type: 'NS',
              ttl: 300,
              records: [{ content: 'alias.example.com.' }],
            },
          ]),
          'CTL_ERR_VALIDATION',
          'rrsets[1]',
        );
        assert.match(err.message, /is a CNAME/);
        assert.deepEqual(await cp.getZone(admin, 'example.com'), before);
        // An in-zone NS without an address is accepted, as PowerDNS does (named-checkzone
        // refuses it; the API's clients create such zones and add the address later).
        await cp.changeRRsets(admin, 'example.com', [
          {
            op: 'replace',
            name: 'example.com.',
            type: 'NS',
            ttl: 300,
            records: [{ content: 'ns.example.com.' }],
          },
        ]);
        await cp.changeRRsets(admin, 'example.com', [
          {
            op: 'replace',
            name: 'ns.example.com.',
            type: 'A',
            ttl: 300,
            records: [{ content: '192.0.2.53' }],
          },
        ]);
        await rejectsWith(cp.createZone(admin, { name: 'bad..name' }), 'CTL_ERR_VALIDATION', 'name');
        await rejectsWith(cp.createZone(admin, { name: 'example.net' }), 'CTL_ERR_VALIDATION', 'nameservers');
      }));

    test("tenant isolation: another account's zone is not found and stays unchanged", () =>
      withPlane(backend, async ({ cp }) => {
        const { admin, a, pA, pB } = await tenants(cp);
        await cp.createZone(pB, { name: 'b.example', nameservers: NS });
        const zA = await cp.createZone(pA, { name: 'a.example', nameservers: NS });
        assert.equal(zA.accountId, a.id);
        const before = await cp.getZone(admin, 'b.example');
        const rr = {
          op: 'replace' as const,
          name: 'x.b.example.',
          type: 'A',
          ttl: 60,
          records: [{ content: '192.0.2.1' }],
        };
        await rejectsWith(cp.getZone(pA, 'b.example'), 'CTL_ERR_NOT_FOUND');
        await rejectsWith(cp.changeRRsets(pA, 'b.example', [rr]), 'CTL_ERR_NOT_FOUND');
        // Even with a bad change set, the answer does not reveal the zone.
        await rejectsWith(cp.changeRRsets(pA, 'b.example', [{ ...rr, type: 'NOPE' }]), 'CTL_ERR_NOT_FOUND');
        await rejectsWith(cp.importZone(pA, 'b.example', 'x 60 A 192.0.2.1\n'), 'CTL_ERR_NOT_FOUND');
        await rejectsWith(cp.exportZone(pA, 'b.example'), 'CTL_ERR_NOT_FOUND');
        await rejectsWith(cp.listVersions(pA, 'b.example'), 'CTL_ERR_NOT_FOUND');
        await rejectsWith(cp.getVersion(pA, 'b.example', 1), 'CTL_ERR_NOT_FOUND');
        await rejectsWith(cp.rollback(pA, 'b.example', 1), 'CTL_ERR_NOT_FOUND');
        await rejectsWith(cp.deleteZone(pA, 'b.example'), 'CTL_ERR_NOT_FOUND');
        assert.deepEqual(await cp.getZone(admin, 'b.example'), before);
        assert.deepEqual(
          (await cp.listZones(pA)).items.map((z) => z.name),
          ['a.example.'],
        );
        await rejectsWith(cp.listZones(pA, { accountId: before.accountId }), 'CTL_ERR_NOT_FOUND');
        // Zone names are global: one name belongs to one account, and so does its subtree.
        await rejectsWith(
          cp.createZone(pA, { name: 'b.example', nameservers: NS }),
          'CTL_ERR_CONFLICT',
          'name',
        );
        await rejectsWith(
          cp.createZone(pA, { name: 'sub.b.example', nameservers: NS }),
          'CTL_ERR_CONFLICT',
          'name',
        );
        await rejectsWith(
          cp.createZone(pA, { name: 'example', nameservers: NS }),
          'CTL_ERR_CONFLICT',
          'name',
        );
        await cp.createZone(pA, { name: 'sub.a.example', nameservers: NS });
        // Accounts and tokens of others.
        await rejectsWith(cp.getAccount(pA, before.accountId), 'CTL_ERR_NOT_FOUND');
        await rejectsWith(cp.createAccount(pA, { name: 'x' }), 'CTL_ERR_FORBIDDEN');
        assert.deepEqual(
          (await cp.listAccounts(pA)).items.map((x) => x.name),
          ['tenant-a'],
        );
        const tokensB = await cp.listTokens(pB);
        await rejectsWith(cp.revokeToken(pA, tokensB.items[0].id), 'CTL_ERR_NOT_FOUND');
        assert.equal((await cp.listTokens(pA)).items.length, 1);
        assert.ok((await cp.listAudit(pA)).items.every((e) => e.accountId === a.id));
      }));

    test('zone metadata: kept with the zone, changed without a new version, audited', () =>
      withPlane(backend, async ({ cp }) => {
        const { admin, a, pA, pB } = await tenants(cp);
        const plain = await cp.createZone(pA, { name: 'plain.example', nameservers: NS });
        assert.deepEqual(
          { kind: plain.kind, soaEditApi: plain.soaEditApi, accountLabel: plain.accountLabel },
          { kind: 'Native', soaEditApi: 'DEFAULT', accountLabel: '' },
        );
        const z = await cp.createZone(pA, {
          name: 'meta.example',
          nameservers: NS,
          kind: 'primary',
          soaEditApi: 'INCEPTION-INCREMENT',
          accountLabel: 'team blue',
        });
        assert.equal(z.kind, 'Master');
        assert.equal(z.accountId, a.id);
        const got = await cp.getZone(pA, 'meta.example');
        assert.equal(got.kind, 'Master');
        assert.equal(got.soaEditApi, 'INCEPTION-INCREMENT');
        assert.equal(got.accountLabel, 'team blue');
        const listed = (await cp.listZones(pA)).items.find((i) => i.name === 'meta.example.');
        assert.equal(listed?.kind, 'Master');
        assert.equal(listed?.soaEditApi, 'INCEPTION-INCREMENT');

        const events: ZoneChangeEvent[] = [];
        cp.onZoneChange((ev) => events.push(ev));
        const served = await cp.servedZone('meta.example.');
        const info = await cp.updateZoneMetadata(
          pA,
          'META.example',
          { kind: 'native', soaEditApi: '' },
          { ifMatch: 1, comment: 'demote' },
        );
        assert.equal(info.kind, 'Native');
        assert.equal(info.soaEditApi, '');
        assert.equal(info.accountLabel, 'team blue', 'absent members stay');
        // Not a content change: same version, serial and served text, no event, no version row.
        assert.equal(info.version, 1);
        assert.equal(info.serial, z.serial);
        assert.deepEqual(await cp.servedZone('meta.example.'), served);
        assert.deepEqual(events, []);
        assert.equal((await cp.listVersions(pA, 'meta.example')).items.length, 1);
        const after = await cp.getZone(pA, 'meta.example');
        assert.equal(after.kind, 'Native');
        assert.deepEqual(after.rrsets, got.rrsets);
        const audit = (await cp.listAudit(pA)).items.filter((e) => e.action === 'zone.metadata');
        assert.equal(audit.length, 1);
        assert.equal(audit[0].target, 'meta.example.');
        assert.equal(audit[0].accountId, a.id);
        assert.equal(audit[0].remote, '192.0.2.7');
        assert.deepEqual(audit[0].detail, {
          version: 1,
          changes: {
            kind: { from: 'Master', to: 'Native' },
            soaEditApi: { from: 'INCEPTION-INCREMENT', to: '' },
          },
          comment: 'demote',
        });
        // Setting what is already there changes nothing and writes no audit row.
        await cp.updateZoneMetadata(pA, 'meta.example', { kind: 'Native', accountLabel: 'team blue' });
        await cp.updateZoneMetadata(pA, 'meta.example', {});
        assert.equal((await cp.listAudit(pA)).items.filter((e) => e.action === 'zone.metadata').length, 1);
        // A content change keeps the metadata.
        const changed = await cp.changeRRsets(pA, 'meta.example', [
          {
            op: 'replace',
            name: 'www.meta.example.',
            type: 'A',
            ttl: 60,
            records: [{ content: '192.0.2.1' }],
          },
        ]);
        assert.equal(changed.version, 2);
        assert.equal(changed.accountLabel, 'team blue');
        assert.equal(changed.soaEditApi, '');

        // Refusals change nothing.
        const unchanged = await cp.getZone(pA, 'meta.example');
        // Slave (Secondary) needs masters: set with them (setZoneSecondary), not as a bare kind.
        for (const kind of ['Slave', 'Secondary'])
          await rejectsWith(
            cp.updateZoneMetadata(pA, 'meta.example', { kind }),
            'CTL_ERR_VALIDATION',
            'masters',
          );
        for (const kind of ['consumer', 'Producer', 'Bogus', ''])
          await rejectsWith(
            cp.updateZoneMetadata(pA, 'meta.example', { kind, soaEditApi: 'EPOCH' }),
            'CTL_ERR_VALIDATION',
            'kind',
          );
        await rejectsWith(
          cp.updateZoneMetadata(pA, 'meta.example', { soaEditApi: 'not one word' }),
          'CTL_ERR_VALIDATION',
          'soaEditApi',
        );
        await rejectsWith(
          cp.updateZoneMetadata(pA, 'meta.example', { accountLabel: 'x'.repeat(256) }),
          'CTL_ERR_VALIDATION',
          'accountLabel',
        );
        await rejectsWith(
          cp.updateZoneMetadata(pA, 'meta.example', { kind: 'Master' }, { ifMatch: 1 }),
          'CTL_ERR_PRECONDITION',
        );
        await rejectsWith(
          cp.createZone(pA, { name: 'slave.example', nameservers: NS, kind: 'Slave' }),
          'CTL_ERR_VALIDATION',
          'masters',
        );
        assert.deepEqual(await cp.getZone(pA, 'meta.example'), unchanged);

        // Tenants: another account's zone is not found, even with bad metadata; read-only is refused.
        await rejectsWith(cp.updateZoneMetadata(pB, 'meta.example', { kind: 'Master' }), 'CTL_ERR_NOT_FOUND');
        await rejectsWith(cp.updateZoneMetadata(pB, 'meta.example', { kind: 'Slave' }), 'CTL_ERR_NOT_FOUND');
        const ro = await cp.createToken(admin, {
          name: 'a-read',
          accountId: a.id,
          scope: { admin: false, access: 'read' },
        });
        const pRead = (await cp.authenticate(ro.secret)) as Principal;
        await rejectsWith(
          cp.updateZoneMetadata(pRead, 'meta.example', { kind: 'Master' }),
          'CTL_ERR_FORBIDDEN',
        );
        assert.deepEqual(await cp.getZone(pA, 'meta.example'), unchanged);
        // An administrator may change any zone's metadata.
        assert.equal((await cp.updateZoneMetadata(admin, 'meta.example', { kind: 'Master' })).kind, 'Master');
      }));

    test('a taken name is a CONFLICT before the rest of the input is looked at', () =>
      withPlane(backend, async ({ cp }) => {
        const { admin, pA, pB } = await tenants(cp);
        await cp.createZone(pA, { name: 'taken.example', nameservers: NS });
        const bad = [
          { kind: 'Slave' },
          { soaEditApi: 'two words' },
          { rrsets: [{ name: 'x.taken.example.', type: 'A', ttl: 60, records: [{ content: '1.2.3' }] }] },
          { zonefile: 'this is not a zone file' },
          { nameservers: ['bad name with spaces'] },
        ];
        // The owner, another tenant (a taken name is taken, whoever holds it) and an administrator.
        for (const p of [pA, pB, admin])
          for (const extra of bad) {
            await rejectsWith(
              cp.createZone(p, { name: 'Taken.Example', nameservers: NS, ...extra }),
              'CTL_ERR_CONFLICT',
              'name',
            );
            await rejectsWith(cp.checkNewZone(p, { name: 'taken.example.' }), 'CTL_ERR_CONFLICT', 'name');
          }
        // Inside another account's zone: CONFLICT as before, also ahead of bad content.
        await rejectsWith(
          cp.createZone(pB, { name: 'sub.taken.example', nameservers: NS, kind: 'Slave' }),
          'CTL_ERR_CONFLICT',
          'name',
        );
        // A free name with bad input is a VALIDATION; checkNewZone creates nothing.
        await cp.checkNewZone(pB, { name: 'free.example' });
        await rejectsWith(
          cp.createZone(pB, { name: 'free.example', nameservers: NS, kind: 'Slave' }),
          'CTL_ERR_VALIDATION',
          'masters',
        );
        await rejectsWith(cp.getZone(admin, 'free.example'), 'CTL_ERR_NOT_FOUND');
        await rejectsWith(cp.checkNewZone(pB, { name: 'bad name.' }), 'CTL_ERR_VALIDATION', 'name');
        // Authorization still comes first.
        const ro = await cp.createToken(admin, {
          name: 'b-read',
          accountId: (await cp.listAccounts(pB)).items[0].id,
          scope: { admin: false, access: 'read' },
        });
        const pRead = (await cp.authenticate(ro.secret)) as Principal;
        await rejectsWith(cp.checkNewZone(pRead, { name: 'taken.example' }), 'CTL_ERR_FORBIDDEN');
        await rejectsWith(
          cp.createZone(pRead, { name: 'taken.example', nameservers: NS }),
          'CTL_ERR_FORBIDDEN',
        );
      }));

    test('zone-scoped and read-only tokens', () =>
      withPlane(backend, async ({ cp }) => {
        const { a, pA } = await tenants(cp);
        await cp.createZone(pA, { name: 'one.example', nameservers: NS });
        await cp.createZone(pA, { name: 'two.example', nameservers: NS });
        const scoped = await cp.createToken(pA, {
          name: 'one only',
          accountId: a.id,
          scope: { admin: false, access: 'write', zones: ['ONE.example'] },
        });
        assert.deepEqual(scoped.scope.zones, ['one.example.']);
        const pS = (await cp.authenticate(scoped.secret)) as Principal;
        assert.deepEqual(
          (await cp.listZones(pS)).items.map((z) => z.name),
          ['one.example.'],
        );
        await rejectsWith(cp.getZone(pS, 'two.example'), 'CTL_ERR_NOT_FOUND');
        await cp.changeRRsets(pS, 'one.example', [
          { op: 'add', name: 'www.one.example.', type: 'A', ttl: 60, records: [{ content: '192.0.2.1' }] },
        ]);
        await rejectsWith(cp.createZone(pS, { name: 'three.example', nameservers: NS }), 'CTL_ERR_FORBIDDEN');
        await rejectsWith(
          cp.createToken(pS, { name: 'x', scope: { admin: false, access: 'read' } }),
          'CTL_ERR_FORBIDDEN',
        );

        const ro = await cp.createToken(pA, { name: 'reader', scope: { admin: false, access: 'read' } });
        const pR = (await cp.authenticate(ro.secret)) as Principal;
        assert.equal((await cp.getZone(pR, 'two.example')).name, 'two.example.');
        const before = await cp.getZone(pR, 'two.example');
        await rejectsWith(
          cp.changeRRsets(pR, 'two.example', [{ op: 'delete', name: 'www.two.example.', type: 'A' }]),
          'CTL_ERR_FORBIDDEN',
        );
        await rejectsWith(cp.deleteZone(pR, 'two.example'), 'CTL_ERR_FORBIDDEN');
        await rejectsWith(cp.createZone(pR, { name: 'four.example', nameservers: NS }), 'CTL_ERR_FORBIDDEN');
        assert.deepEqual(await cp.getZone(pR, 'two.example'), before);
        await rejectsWith(
          cp.createToken(pA, { name: 'x', scope: { admin: true, access: 'write' } }),
          'CTL_ERR_FORBIDDEN',
        );
      }));

    test('tokens: stored hashed, shown once, revocable; bootstrap is idempotent', () =>
      withPlane(backend, async ({ cp, rawDump }) => {
        const boot = await cp.bootstrapAdmin();
        assert.equal(boot.created, true);
        assert.match(boot.secret ?? '', /^sb_[A-Za-z0-9_-]{43}$/);
        const again = await cp.bootstrapAdmin();
        assert.deepEqual(again, { created: false, tokenId: boot.tokenId });
        const env = await cp.bootstrapAdmin('my-operator-key-123');
        assert.equal(env.created, true);
        assert.deepEqual(await cp.bootstrapAdmin('my-operator-key-123'), {
          created: false,
          tokenId: env.tokenId,
        });
        const pAdmin = (await cp.authenticate('my-operator-key-123', '127.0.0.1')) as Principal;
        assert.equal(pAdmin.scope.admin, true);
        assert.equal(pAdmin.remote, '127.0.0.1');

        const acct = await cp.createAccount(pAdmin, { name: 'acme' });
        const tok = await cp.createToken(pAdmin, {
          name: 'ci',
          accountId: acct.id,
          scope: { admin: false, access: 'write' },
        });
        assert.equal(tok.prefix, tok.secret.slice(0, 10));
        const listed = (await cp.listTokens(pAdmin, { accountId: acct.id })).items;
        assert.equal(listed.length, 1);
        assert.equal((listed[0] as { secret?: string }).secret, undefined);
        assert.ok(await cp.authenticate(tok.secret));
        assert.equal(await cp.authenticate(`${tok.secret}x`), null);
        assert.equal(await cp.authenticate(''), null);

        const dump = await rawDump();
        for (const secret of [tok.secret, boot.secret as string, 'my-operator-key-123'])
          assert.equal(dump.includes(secret), false, 'a secret is in the database');
        const { createHash } = await import('node:crypto');
        assert.ok(dump.includes(createHash('sha256').update(tok.secret).digest('hex')));

        await cp.revokeToken(pAdmin, tok.id);
        assert.equal(await cp.authenticate(tok.secret), null);
        const revoked = (await cp.listTokens(pAdmin, { accountId: acct.id })).items[0];
        assert.ok(revoked.revokedAt);
      }));

    test('quotas on zones and records; administrators are exempt', () =>
      withPlane(backend, async ({ cp }) => {
        const admin = cp.systemPrincipal();
        const acct = await cp.createAccount(admin, { name: 'small', maxZones: 1, maxRecords: 5 });
        const tok = await cp.createToken(admin, {
          name: 't',
          accountId: acct.id,
          scope: { admin: false, access: 'write' },
        });
        const p = (await cp.authenticate(tok.secret)) as Principal;
        await cp.createZone(p, { name: 'q.example', nameservers: NS }); // SOA + 2 NS = 3 records
        await rejectsWith(cp.createZone(p, { name: 'q2.example', nameservers: NS }), 'CTL_ERR_QUOTA');
        await cp.changeRRsets(p, 'q.example', [
          {
            op: 'add',
            name: 'a.q.example.',
            type: 'A',
            ttl: 60,
            records: [{ content: '192.0.2.1' }, { content: '192.0.2.2' }],
          },
        ]);
        const before = await cp.getZone(p, 'q.example');
        await rejectsWith(
          cp.changeRRsets(p, 'q.example', [
            { op: 'add', name: 'b.q.example.', type: 'A', ttl: 60, records: [{ content: '192.0.2.3' }] },
          ]),
          'CTL_ERR_QUOTA',
        );
        assert.deepEqual(await cp.getZone(p, 'q.example'), before);
        // Shrinking is always allowed; the administrator is not bound by the quota.
        await cp.changeRRsets(admin, 'q.example', [
          { op: 'add', name: 'b.q.example.', type: 'A', ttl: 60, records: [{ content: '192.0.2.3' }] },
        ]);
        await cp.createZone(admin, { name: 'q3.example', accountId: acct.id, nameservers: NS });
        await cp.changeRRsets(p, 'q.example', [{ op: 'delete', name: 'a.q.example.', type: 'A' }]);
      }));

    test('serials: bump, operator serials, RFC 1982 wrap', () =>
      withPlane(backend, async ({ cp }) => {
        const admin = cp.systemPrincipal();
        const soa = (serial: number) =>
          `ns1.example.net. hostmaster.example.com. ${serial} 7200 900 1209600 300`;
        await cp.createZone(admin, {
          name: 'example.com',
          nameservers: NS,
          rrsets: [{ name: 'example.com.', type: 'SOA', ttl: 3600, records: [{ content: soa(4294967294) }] }],
        });
        const add = (n: number) => ({
          op: 'add' as const,
          name: `h${n}.example.com.`,
          type: 'A',
          ttl: 60,
          records: [{ content: '192.0.2.1' }],
        });
        assert.equal((await cp.changeRRsets(admin, 'example.com', [add(1)])).serial, 4294967295);
        assert.equal((await cp.changeRRsets(admin, 'example.com', [add(2)])).serial, 0);
        assert.equal((await cp.changeRRsets(admin, 'example.com', [add(3)])).serial, 1);
        // A greater serial given by the change is kept; a smaller one is bumped past.
        const setSoa = (serial: number) => [
          {
            op: 'replace' as const,
            name: 'example.com.',
            type: 'SOA',
            ttl: 3600,
            records: [{ content: soa(serial) }],
          },
        ];
        assert.equal((await cp.changeRRsets(admin, 'example.com', setSoa(2026112201))).serial, 2026112201);
        assert.equal((await cp.changeRRsets(admin, 'example.com', setSoa(5))).serial, 2026112202);
        const served = await cp.servedZone('example.com');
        assert.match(
          served?.text ?? '',
          /^example\.com\.\t3600\tIN\tSOA\t.* 2026112202 7200 900 1209600 300\n/,
        );
        assert.equal(served?.serial, 2026112202);
        // The zone file import keeps a greater serial too.
        const imported = await cp.importZone(
          admin,
          'example.com',
          `$TTL 300\n@ SOA ${soa(2026112300)}\n@ NS ns1.example.net.\n`,
        );
        assert.equal(imported.serial, 2026112300);
      }));

    test('versions: list, diff, rollback', () =>
      withPlane(backend, async ({ cp }) => {
        const admin = cp.systemPrincipal();
        await cp.createZone(admin, {
          name: 'example.com',
          nameservers: NS,
          rrsets: [{ name: 'www.example.com.', type: 'A', ttl: 300, records: [{ content: '192.0.2.1' }] }],
        });
        const v1 = await cp.getZone(admin, 'example.com');
        await cp.changeRRsets(
          admin,
          'example.com',
          [
            { op: 'add', name: 'www.example.com.', type: 'A', ttl: 300, records: [{ content: '192.0.2.2' }] },
            {
              op: 'replace',
              name: 'mail.example.com.',
              type: 'A',
              ttl: 300,
              records: [{ content: '192.0.2.25' }],
            },
          ],
          { comment: 'mail' },
        );
        await cp.changeRRsets(admin, 'example.com', [
          { op: 'remove', name: 'www.example.com.', type: 'A', records: [{ content: '192.0.2.1' }] },
          {
            op: 'replace',
            name: 'www.example.com.',
            type: 'TXT',
            ttl: 60,
            records: [{ content: '"hello world"' }],
          },
        ]);
        const d2 = await cp.getVersion(admin, 'example.com', 2);
        assert.equal(d2.fromSerial, 1);
        assert.equal(d2.serial, 2);
        assert.equal(d2.comment, 'mail');
        assert.equal(d2.kind, 'change');
        assert.deepEqual(d2.removedRecords, [
          'example.com.\t3600\tIN\tSOA\tns1.example.net. hostmaster.example.com. 1 10800 3600 604800 3600',
        ]);
        assert.deepEqual(d2.addedRecords, [
          'example.com.\t3600\tIN\tSOA\tns1.example.net. hostmaster.example.com. 2 10800 3600 604800 3600',
          'mail.example.com.\t300\tIN\tA\t192.0.2.25',
          'www.example.com.\t300\tIN\tA\t192.0.2.2',
        ]);
        assert.equal(d2.added, 3);
        assert.equal(d2.removed, 1);
        const d3 = await cp.getVersion(admin, 'example.com', 3);
        assert.deepEqual(d3.removedRecords.slice(1), ['www.example.com.\t300\tIN\tA\t192.0.2.1']);
        assert.deepEqual(d3.addedRecords.slice(1), ['www.example.com.\t60\tIN\tTXT\t"hello world"']);

        const page = await cp.listVersions(admin, 'example.com', { limit: 2 });
        assert.deepEqual(
          page.items.map((v) => v.version),
          [3, 2],
        );
        const rest = await cp.listVersions(admin, 'example.com', { limit: 2, cursor: page.next });
        assert.deepEqual(
          rest.items.map((v) => v.version),
          [1],
        );
        assert.equal(rest.items[0].kind, 'create');

        const rolled = await cp.rollback(admin, 'example.com', 1);
        assert.equal(rolled.version, 4);
        assert.equal(rolled.serial, 4);
        const now = await cp.getZone(admin, 'example.com');
        const withoutSoa = (z: typeof now) => z.rrsets.filter((s) => s.type !== 'SOA');
        assert.deepEqual(withoutSoa(now), withoutSoa(v1));
        assert.equal((await cp.getVersion(admin, 'example.com', 4)).comment, 'rollback to version 1');
        // Rolling back to 2 replays the history backwards from 4 (through the rollback itself).
        await cp.rollback(admin, 'example.com', 2);
        assert.deepEqual(
          (await cp.getZone(admin, 'example.com')).rrsets
            .filter((s) => s.type === 'A')
            .map((s) => `${s.name} ${s.records.map((r) => r.content).join(',')}`),
          ['mail.example.com. 192.0.2.25', 'www.example.com. 192.0.2.1,192.0.2.2'],
        );
        await rejectsWith(cp.rollback(admin, 'example.com', 99), 'CTL_ERR_NOT_FOUND', 'version');
        await rejectsWith(cp.getVersion(admin, 'example.com', 99), 'CTL_ERR_NOT_FOUND');
      }));

    test('If-Match: a stale version is refused and changes nothing', () =>
      withPlane(backend, async ({ cp }) => {
        const admin = cp.systemPrincipal();
        await cp.createZone(admin, { name: 'example.com', nameservers: NS });
        const c = [
          {
            op: 'add' as const,
            name: 'a.example.com.',
            type: 'A',
            ttl: 60,
            records: [{ content: '192.0.2.1' }],
          },
        ];
        const v2 = await cp.changeRRsets(admin, 'example.com', c, { ifMatch: 1 });
        assert.equal(v2.version, 2);
        const before = await cp.getZone(admin, 'example.com');
        await rejectsWith(
          cp.changeRRsets(admin, 'example.com', [{ ...c[0], name: 'b.example.com.' }], { ifMatch: 1 }),
          'CTL_ERR_PRECONDITION',
        );
        await rejectsWith(
          cp.importZone(admin, 'example.com', '@ 60 NS ns1.example.net.\n', { ifMatch: 1 }),
          'CTL_ERR_PRECONDITION',
        );
        await rejectsWith(cp.rollback(admin, 'example.com', 1, { ifMatch: 1 }), 'CTL_ERR_PRECONDITION');
        await rejectsWith(cp.deleteZone(admin, 'example.com', { ifMatch: 1 }), 'CTL_ERR_PRECONDITION');
        assert.deepEqual(await cp.getZone(admin, 'example.com'), before);
        await cp.deleteZone(admin, 'example.com', { ifMatch: 2 });
      }));

    test('audit rows say who, what, when and from where', () =>
      withPlane(backend, async ({ cp }) => {
        const { a, tokA, pA } = await tenants(cp);
        await cp.createZone(pA, { name: 'a.example', nameservers: NS });
        await cp.changeRRsets(
          pA,
          'a.example',
          [{ op: 'add', name: 'x.a.example.', type: 'A', ttl: 60, records: [{ content: '192.0.2.1' }] }],
          { comment: 'hello' },
        );
        await cp.deleteZone(pA, 'a.example');
        const items = (await cp.listAudit(pA)).items;
        assert.deepEqual(
          items.slice(0, 3).map((e) => e.action),
          ['zone.delete', 'zone.change', 'zone.create'],
        );
        for (const e of items.slice(0, 3)) {
          assert.equal(e.tokenId, tokA.id);
          assert.equal(e.accountId, a.id);
          assert.equal(e.remote, '192.0.2.7');
          assert.equal(e.target, 'a.example.');
          assert.ok(!Number.isNaN(Date.parse(e.at)));
        }
        assert.deepEqual(items[1].detail, { version: 2, serial: 2, added: 2, removed: 1, comment: 'hello' });
        const all = await cp.listAudit(cp.systemPrincipal(), { limit: 2 });
        assert.equal(all.items.length, 2);
        assert.ok(all.next);
        const more = await cp.listAudit(cp.systemPrincipal(), { limit: 1000, cursor: all.next });
        assert.ok(more.items.some((e) => e.action === 'account.create'));
        const versions = await cp.listVersions(cp.systemPrincipal(), 'a.example').catch((e) => e);
        assert.ok(versions instanceof ControlError);
      }));

    test('zone files: import with line numbers, export round trip', () =>
      withPlane(backend, async ({ cp }) => {
        const admin = cp.systemPrincipal();
        const file = [
          '$ORIGIN example.com.',
          '$TTL 1h',
          '@ IN SOA ns1 hostmaster 2026112201 2h 30m 2w 5m',
          '  IN NS ns1',
          '  IN MX 10 mail',
          'ns1 IN A 192.0.2.53',
          'mail IN A 192.0.2.25',
          'txt IN TXT "a b" c',
          '',
        ].join('\n');
        const z = await cp.createZone(admin, { name: 'example.com', zonefile: file });
        assert.equal(z.serial, 2026112201);
        const text = await cp.exportZone(admin, 'example.com');
        // Export → import gives the same content: no new version, the same serial.
        const same = await cp.importZone(admin, 'example.com', text);
        assert.equal(same.changed, false);
        assert.equal(same.serial, 2026112201);
        assert.equal(same.version, 1);
        // One record more: a version with the record and the next serial.
        const again = await cp.importZone(
          admin,
          'example.com',
          `${text}new.example.com. 60 IN A 192.0.2.9\n`,
        );
        assert.equal(again.changed, true);
        assert.equal(again.serial, 2026112202);
        const d = await cp.getVersion(admin, 'example.com', 2);
        assert.equal(d.added, 2); // the SOA and the record
        assert.equal(d.removed, 1);
        const bad = await rejectsWith(
          cp.importZone(
            admin,
            'example.com',
            '$TTL 60\n@ NS ns1.example.com.\nns1 A 192.0.2.53\nx A 1.2.3\n',
          ),
          'CTL_ERR_VALIDATION',
          'zonefile',
        );
        assert.match(bad.message, /line 4/);
        const cname = await rejectsWith(
          cp.importZone(
            admin,
            'example.com',
            '$TTL 60\n@ NS ns1.example.com.\nns1 A 192.0.2.53\nns1 CNAME x.example.net.\n',
          ),
          'CTL_ERR_VALIDATION',
          'zonefile',
        );
        assert.match(cname.message, /line [34]:.*CNAME/);
        await rejectsWith(
          cp.importZone(admin, 'example.com', '$INCLUDE /etc/passwd\n'),
          'CTL_ERR_VALIDATION',
          'zonefile',
        );
        await rejectsWith(
          cp.importZone(admin, 'example.com', '$TTL 60\n@ NS ns1.example.net.\nother.org. A 192.0.2.1\n'),
          'CTL_ERR_VALIDATION',
          'zonefile',
        );
        assert.equal((await cp.getZone(admin, 'example.com')).version, 2);
        // A zone file without SOA keeps the zone's.
        const noSoa = await cp.importZone(admin, 'example.com', '$TTL 60\n@ NS ns1.example.net.\n');
        assert.equal(noSoa.serial, 2026112203);
        assert.equal(noSoa.recordCount, 2);
      }));

    test('disabled records are kept but not served', () =>
      withPlane(backend, async ({ cp }) => {
        const admin = cp.systemPrincipal();
        await cp.createZone(admin, { name: 'example.com', nameservers: NS });
        await cp.changeRRsets(admin, 'example.com', [
          {
            op: 'replace',
            name: 'www.example.com.',
            type: 'A',
            ttl: 60,
            records: [{ content: '192.0.2.1' }, { content: '192.0.2.2', disabled: true }],
          },
        ]);
        const z = await cp.getZone(admin, 'example.com');
        assert.deepEqual(z.rrsets.find((s) => s.type === 'A')?.records, [
          { content: '192.0.2.1', disabled: false },
          { content: '192.0.2.2', disabled: true },
        ]);
        const served = (await cp.servedZone('example.com'))?.text ?? '';
        assert.ok(served.includes('192.0.2.1'));
        assert.ok(!served.includes('192.0.2.2'));
        // Export writes the disabled record as a ';disabled;' comment, and import reads it back.
        const text = await cp.exportZone(admin, 'example.com');
        assert.ok(text.includes('\n;disabled; www.example.com.\t60\tIN\tA\t192.0.2.2\n'), text);
        assert.ok(text.includes('\nwww.example.com.\t60\tIN\tA\t192.0.2.1\n'), text);
        const round = await cp.importZone(admin, 'example.com', text);
        assert.equal(round.changed, false);
        await cp.changeRRsets(admin, 'example.com', [{ op: 'delete', name: 'www.example.com.', type: 'A' }]);
        const back = await cp.importZone(admin, 'example.com', text);
        assert.equal(back.changed, true);
        assert.deepEqual(
          (await cp.getZone(admin, 'example.com')).rrsets.find((s) => s.type === 'A')?.records,
          [
            { content: '192.0.2.1', disabled: false },
            { content: '192.0.2.2', disabled: true },
          ],
        );
        // The version diff shows the disabled record, and so do enabling and disabling.
        const v = await cp.getVersion(admin, 'example.com', back.version);
        assert.ok(
          v.addedRecords.includes(';disabled; www.example.com.\t60\tIN\tA\t192.0.2.2'),
          v.addedRecords.join('\n'),
        );
        const flip = await cp.changeRRsets(admin, 'example.com', [
          {
            op: 'replace',
            name: 'www.example.com.',
            type: 'A',
            ttl: 60,
            records: [{ content: '192.0.2.1', disabled: true }, { content: '192.0.2.2' }],
          },
        ]);
        const fv = await cp.getVersion(admin, 'example.com', flip.version);
        assert.deepEqual(fv.removedRecords.slice(1), [
          'www.example.com.\t60\tIN\tA\t192.0.2.1',
          ';disabled; www.example.com.\t60\tIN\tA\t192.0.2.2',
        ]);
        assert.deepEqual(fv.addedRecords.slice(1), [
          ';disabled; www.example.com.\t60\tIN\tA\t192.0.2.1',
          'www.example.com.\t60\tIN\tA\t192.0.2.2',
        ]);
      }));

    test('changes that change nothing are no-ops: no version, no serial bump, changed: false', () =>
      withPlane(backend, async ({ cp }) => {
        const admin = cp.systemPrincipal();
        await cp.createZone(admin, { name: 'example.com', nameservers: NS });
        const www = { op: 'replace' as const, name: 'www.example.com.', type: 'A', ttl: 60 };
        const v2 = await cp.changeRRsets(admin, 'example.com', [
          { ...www, records: [{ content: '192.0.2.1' }] },
        ]);
        assert.equal(v2.changed, true);
        assert.equal(v2.version, 2);
        // Removing a value that is not there (what `record rm` of a typo sends).
        const miss = await cp.changeRRsets(admin, 'example.com', [
          { op: 'remove', name: 'www.example.com.', type: 'A', records: [{ content: '192.0.2.99' }] },
        ]);
        assert.deepEqual(
          [miss.changed, miss.version, miss.serial, miss.added, miss.removed],
          [false, 2, v2.serial, 0, 0],
        );
        const gone = await cp.changeRRsets(admin, 'example.com', [
          { op: 'delete', name: 'nothing.example.com.', type: 'A' },
        ]);
        assert.equal(gone.changed, false);
        // An identical import.
        const same = await cp.importZone(admin, 'example.com', await cp.exportZone(admin, 'example.com'));
        assert.deepEqual([same.changed, same.version, same.serial], [false, 2, v2.serial]);
        // A rollback to the current version, and to an older version with the same content.
        const rb = await cp.rollback(admin, 'example.com', 2);
        assert.deepEqual([rb.changed, rb.version, rb.serial], [false, 2, v2.serial]);
        assert.equal((await cp.listVersions(admin, 'example.com')).items.length, 2);
        const rows = await cp.listAudit(admin);
        assert.equal(
          rows.items.filter((r) => r.action === 'zone.rollback' || r.action === 'zone.import').length,
          0,
        );
      }));

    test('dry runs check and diff without writing; the plan applies with If-Match', () =>
      withPlane(backend, async ({ cp }) => {
        const admin = cp.systemPrincipal();
        const z = await cp.createZone(admin, { name: 'example.com', nameservers: NS });
        const events: ZoneChangeEvent[] = [];
        cp.onZoneChange((ev) => events.push(ev));
        const change = [
          {
            op: 'replace' as const,
            name: 'www.example.com.',
            type: 'A',
            ttl: 60,
            records: [{ content: '192.0.2.1' }],
          },
        ];
        const plan = await cp.changeRRsets(admin, 'example.com', change, { dryRun: true });
        assert.equal(plan.dryRun, true);
        assert.equal(plan.changed, true);
        assert.equal(plan.version, z.version);
        assert.equal(plan.serial, z.serial);
        assert.equal(plan.removedRecords?.length, 1); // the SOA with the old serial
        assert.match(plan.removedRecords?.[0] ?? '', /\tSOA\t/);
        assert.deepEqual(plan.addedRecords?.slice(1), ['www.example.com.\t60\tIN\tA\t192.0.2.1']);
        assert.equal((await cp.getZone(admin, 'example.com')).version, 1);
        assert.equal((await cp.listVersions(admin, 'example.com')).items.length, 1);
        assert.deepEqual(events, []);
        // A dry run refuses what the change would refuse, with the same error.
        await rejectsWith(
          cp.changeRRsets(admin, 'example.com', [{ ...change[0], records: [{ content: 'x' }] }], {
            dryRun: true,
          }),
          'CTL_ERR_VALIDATION',
          'rrsets[0].records[0].content',
        );
        // Apply the plan: the version it was made against.
        const done = await cp.changeRRsets(admin, 'example.com', change, { ifMatch: plan.version });
        assert.equal(done.version, 2);
        assert.deepEqual((await cp.getVersion(admin, 'example.com', 2)).addedRecords, plan.addedRecords);
        // Import and rollback take dry runs too.
        const text = await cp.exportZone(admin, 'example.com');
        const imp = await cp.importZone(
          admin,
          'example.com',
          `${text}mail.example.com. 60 IN A 192.0.2.25\n`,
          {
            dryRun: true,
          },
        );
        assert.deepEqual([imp.dryRun, imp.changed, imp.version], [true, true, 2]);
        assert.ok(imp.addedRecords?.includes('mail.example.com.\t60\tIN\tA\t192.0.2.25'));
        const noop = await cp.importZone(admin, 'example.com', text, { dryRun: true });
        assert.deepEqual(
          [noop.dryRun, noop.changed, noop.removedRecords, noop.addedRecords],
          [true, false, [], []],
        );
        const rb = await cp.rollback(admin, 'example.com', 1, { dryRun: true });
        assert.ok(rb.removedRecords?.includes('www.example.com.\t60\tIN\tA\t192.0.2.1'));
        assert.equal((await cp.getZone(admin, 'example.com')).version, 2);
      }));

    test('name servers: host names only; glueless NS below a cut refused, other in-zone targets warned', () =>
      withPlane(backend, async ({ cp }) => {
        const admin = cp.systemPrincipal();
        const bad = await rejectsWith(
          cp.createZone(admin, { name: 'example.com', nameservers: ['ns1.example.net.', 'bad name!'] }),
          'CTL_ERR_VALIDATION',
          'nameservers[1]',
        );
        assert.match(bad.message, /'bad name!' is not a host name/);
        await rejectsWith(
          cp.createZone(admin, { name: 'example.com', nameservers: ['ns_1.example.net'] }),
          'CTL_ERR_VALIDATION',
          'nameservers[0]',
        );
        // An in-zone apex NS target without an address: accepted, with a warning.
        const z = await cp.createZone(admin, { name: 'example.com', nameservers: ['ns1.example.com'] });
        assert.deepEqual(z.warnings, [
          "example.com. NS: NS 'ns1.example.com.' has no address records (A or AAAA)",
        ]);
        // Still warned on later changes until the address comes; then no warning.
        const c = await cp.changeRRsets(admin, 'example.com', [
          {
            op: 'replace',
            name: 'www.example.com.',
            type: 'A',
            ttl: 60,
            records: [{ content: '192.0.2.1' }],
          },
        ]);
        assert.equal(c.warnings?.length, 1);
        const fixed = await cp.changeRRsets(admin, 'example.com', [
          {
            op: 'replace',
            name: 'ns1.example.com.',
            type: 'A',
            ttl: 60,
            records: [{ content: '192.0.2.53' }],
          },
        ]);
        assert.equal(fixed.warnings, undefined);
        // A delegation whose server lies below the cut needs glue (RFC 9471).
        const cut = { op: 'replace' as const, name: 'sub.example.com.', type: 'NS', ttl: 60 };
        const noGlue = await rejectsWith(
          cp.changeRRsets(admin, 'example.com', [{ ...cut, records: [{ content: 'ns.sub.example.com.' }] }]),
          'CTL_ERR_VALIDATION',
          'rrsets[0]',
        );
        assert.match(noGlue.message, /no required glue.*RFC 9471/);
        const glued = await cp.changeRRsets(admin, 'example.com', [
          { ...cut, records: [{ content: 'ns.sub.example.com.' }] },
          {
            op: 'replace',
            name: 'ns.sub.example.com.',
            type: 'A',
            ttl: 60,
            records: [{ content: '192.0.2.54' }],
          },
        ]);
        assert.equal(glued.changed, true);
        // Removing the glue alone is refused.
        await rejectsWith(
          cp.changeRRsets(admin, 'example.com', [{ op: 'delete', name: 'ns.sub.example.com.', type: 'A' }]),
          'CTL_ERR_VALIDATION',
        );
      }));

    test('concurrent changes to one zone all land, one version each', () =>
      withPlane(backend, async ({ cp }) => {
        const admin = cp.systemPrincipal();
        await cp.createZone(admin, { name: 'example.com', nameservers: NS });
        const n = 20;
        await Promise.all(
          Array.from({ length: n }, (_, i) =>
            cp.changeRRsets(admin, 'example.com', [
              {
                op: 'add',
                name: 'many.example.com.',
                type: 'A',
                ttl: 60,
                records: [{ content: `192.0.2.${i + 1}` }],
              },
            ]),
          ),
        );
        const z = await cp.getZone(admin, 'example.com');
        assert.equal(z.version, n + 1);
        assert.equal(z.serial, n + 1);
        assert.equal(z.rrsets.find((s) => s.type === 'A')?.records.length, n);
      }));

    test('a big zone (kept parsed in memory) stays exact through failed and good changes', () =>
      withPlane(backend, async ({ cp }) => {
        const admin = cp.systemPrincipal();
        await cp.createZone(admin, { name: 'big.example', zonefile: bigZone(2500) });
        await rejectsWith(
          cp.changeRRsets(admin, 'big.example', [
            { op: 'add', name: 'new.big.example.', type: 'A', ttl: 60, records: [{ content: '192.0.2.1' }] },
            {
              op: 'add',
              name: 'h1.big.example.',
              type: 'CNAME',
              ttl: 60,
              records: [{ content: 'x.example.' }],
            },
          ]),
          'CTL_ERR_VALIDATION',
          'rrsets[1].type',
        );
        await cp.changeRRsets(admin, 'big.example', [
          { op: 'delete', name: 'h2.big.example.', type: 'A' },
          { op: 'add', name: 'h3.big.example.', type: 'A', ttl: 300, records: [{ content: '198.51.100.3' }] },
        ]);
        await cp.rollback(admin, 'big.example', 1);
        await cp.changeRRsets(admin, 'big.example', [
          { op: 'add', name: 'h4.big.example.', type: 'TXT', ttl: 300, records: [{ content: '"four"' }] },
        ]);
        const z = await cp.getZone(admin, 'big.example');
        assert.equal(z.version, 4);
        assert.equal(z.recordCount, 2500 + 2 + 1);
        const names = (n: string) => z.rrsets.filter((s) => s.name === n).map((s) => s.type);
        assert.deepEqual(names('new.big.example.'), []);
        assert.deepEqual(names('h2.big.example.'), ['A']);
        assert.deepEqual(names('h4.big.example.'), ['A', 'TXT']);
        assert.deepEqual(
          z.rrsets.find((s) => s.name === 'h3.big.example.')?.records.map((r) => r.content),
          ['192.0.0.3'],
        );
        // The last change was worked out in place (no text rendered with it): the served text
        // comes from the zone-work thread's copy, the same as the rows give.
        const served = await cp.servedZone('big.example');
        let fromRows: string | undefined;
        for await (const zone of cp.servedZones()) if (zone.name === 'big.example.') fromRows = zone.text;
        assert.equal(served?.version, 4);
        assert.ok(fromRows?.includes('h4.big.example.\t300\tIN\tTXT\t"four"'));
        assert.equal(served?.text, fromRows);
      }));

    test('servedZones lists every zone with its text', () =>
      withPlane(backend, async ({ cp }) => {
        const admin = cp.systemPrincipal();
        for (const n of ['c.example', 'a.example', 'b.example'])
          await cp.createZone(admin, { name: n, nameservers: NS });
        const served = [];
        for await (const z of cp.servedZones()) served.push(z);
        assert.deepEqual(
          served.map((z) => `${z.name} ${z.version} ${z.serial}`),
          ['a.example. 1 1', 'b.example. 1 1', 'c.example. 1 1'],
        );
        assert.match(served[0].text, /^a\.example\.\t3600\tIN\tSOA\t/);
        assert.equal(served[0].text.split('\n').length, 4);
      }));
  });
}

describe('PostgreSQL replicas', { skip: postgres.skip }, () => {
  before(() => postgres.setup());
  after(() => postgres.teardown());

  test("a change through replica 1 reaches replica 2's onZoneChange", () =>
    withPlane(postgres, async ({ cp, replica }) => {
      const r2 = await replica();
      const admin = cp.systemPrincipal();
      const seen = nextEvent(r2, (ev) => ev.zone === 'example.com.' && ev.version === 1);
      const own: ZoneChangeEvent[] = [];
      cp.onZoneChange((ev) => own.push(ev));
      await cp.createZone(admin, { name: 'example.com', nameservers: NS });
      assert.deepEqual(await seen, { zone: 'example.com.', version: 1, deleted: false });
      const gone = nextEvent(r2, (ev) => ev.deleted);
      await cp.deleteZone(admin, 'example.com');
      assert.deepEqual(await gone, { zone: 'example.com.', version: 1, deleted: true });
      // The replica's own changes are emitted to it once, not again through NOTIFY.
      const later = nextEvent(cp, (ev) => ev.zone === 'other.example.');
      await r2.createZone(admin, { name: 'other.example', nameservers: NS });
      await later;
      assert.deepEqual(
        own.map((e) => `${e.zone} ${e.version} ${e.deleted}`),
        ['example.com. 1 false', 'example.com. 1 true', 'other.example. 1 false'],
      );
    }));

  test('concurrent changes from two replicas to one zone: no lost update', () =>
    withPlane(postgres, async ({ cp, replica }) => {
      const r2 = await replica();
      const admin = cp.systemPrincipal();
      await cp.createZone(admin, { name: 'example.com', nameservers: NS });
      const n = 30;
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          (i % 2 === 0 ? cp : r2).changeRRsets(admin, 'example.com', [
            {
              op: 'add',
              name: 'many.example.com.',
              type: 'A',
              ttl: 60,
              records: [{ content: `192.0.2.${i + 1}` }],
            },
          ]),
        ),
      );
      const z = await r2.getZone(admin, 'example.com');
      assert.equal(z.version, n + 1);
      assert.equal(z.rrsets.find((s) => s.type === 'A')?.records.length, n);
      const versions = await cp.listVersions(admin, 'example.com', { limit: 1000 });
      assert.deepEqual(
        versions.items.map((v) => v.serial),
        Array.from({ length: n + 1 }, (_, i) => n + 1 - i),
      );
    }));

  test("a big zone changed through the other replica is not served from a replica's memory", () =>
    withPlane(postgres, async ({ cp, replica }) => {
      const r2 = await replica();
      const admin = cp.systemPrincipal();
      await cp.createZone(admin, { name: 'big.example', zonefile: bigZone(2500) });
      await r2.changeRRsets(admin, 'big.example', [
        { op: 'add', name: 'two.big.example.', type: 'A', ttl: 60, records: [{ content: '192.0.2.2' }] },
      ]);
      await cp.changeRRsets(admin, 'big.example', [
        { op: 'add', name: 'one.big.example.', type: 'A', ttl: 60, records: [{ content: '192.0.2.1' }] },
      ]);
      await r2.changeRRsets(admin, 'big.example', [
        { op: 'add', name: 'three.big.example.', type: 'A', ttl: 60, records: [{ content: '192.0.2.3' }] },
      ]);
      const z = await cp.getZone(admin, 'big.example');
      assert.equal(z.version, 4);
      for (const n of ['one', 'two', 'three'])
        assert.ok(
          z.rrsets.some((s) => s.name === `${n}.big.example.`),
          n,
        );
    }));

  test('the listener reconnects after its connection is killed and catches up', () =>
    withPlane(postgres, async ({ cp, replica, url }) => {
      const r2 = (await replica()) as StoreControlPlane;
      const admin = cp.systemPrincipal();
      await cp.createZone(admin, { name: 'example.com', nameservers: NS });
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        const killed = await c.query(
          "select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = 'switchboard-listener' and datname = current_database()",
        );
        assert.ok(killed.rows.length >= 2, 'both replicas listen');
      } finally {
        await c.end();
      }
      // Changed while replica 2 is not listening: it learns of it when it reconnects.
      const seen = nextEvent(r2, (ev) => ev.zone === 'example.com.' && ev.version === 2);
      await cp.changeRRsets(admin, 'example.com', [
        { op: 'add', name: 'a.example.com.', type: 'A', ttl: 60, records: [{ content: '192.0.2.1' }] },
      ]);
      assert.deepEqual(await seen, { zone: 'example.com.', version: 2, deleted: false });
      const seen3 = nextEvent(r2, (ev) => ev.version === 3);
      await cp.changeRRsets(admin, 'example.com', [
        { op: 'add', name: 'b.example.com.', type: 'A', ttl: 60, records: [{ content: '192.0.2.1' }] },
      ]);
      await seen3;
      assert.equal(r2.changeFeed?.connected, true);
    }));
});
