/**
 * The composition of `switchboard start` with an in-memory control plane and a stand-in API:
 * first-start import of the example zones, the printed key, DNS workers fed over IPC, live
 * changes and deletions, bursts, and a worker restart. The real control plane and API are
 * exercised end to end in test/e2e/start.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildQuery, queryUdp } from '../../../test/helpers/dns-client.js';
import { findFreePort, listChildren } from '../../../test/helpers/peers.js';
import type {
  Account,
  ControlPlane,
  Principal,
  ServedZone,
  ZoneChangeEvent,
  ZoneDetail,
} from '../../control/types.js';
import { decodeMessage } from '../../wire/decode.js';
import { rdataToText } from '../../wire/rdata.js';
import type { Logger } from '../shared/log.js';
import { buildStartConfig } from './config.js';
import { ADMIN_KEY_FILE, type ApiServer, formatNewKeyBlock, runStart, STARTED_LINE } from './start.js';

const system: Principal = { tokenId: 'system', accountId: null, scope: { admin: true, access: 'write' } };

/** The serving side of a control plane, in memory. */
class FakeControl {
  readonly zones = new Map<string, ServedZone>();
  readonly listeners = new Set<(ev: ZoneChangeEvent) => void>();
  readonly accounts: Account[] = [];
  closed = false;

  setZone(name: string, text: string): void {
    const version = (this.zones.get(name)?.version ?? 0) + 1;
    this.zones.set(name, { name, version, serial: version, text });
    for (const l of this.listeners) l({ zone: name, version, deleted: false });
  }

  deleteZone(name: string): void {
    const version = this.zones.get(name)?.version ?? 0;
    this.zones.delete(name);
    for (const l of this.listeners) l({ zone: name, version, deleted: true });
  }

  asControlPlane(): ControlPlane {
    const self = this;
    const partial: Partial<ControlPlane> = {
      bootstrapAdmin: async (secret?: string) => ({
        created: secret === undefined,
        tokenId: 't1',
        secret: secret ?? 'sb_printed_once',
      }),
      isEmpty: async () => self.zones.size === 0,
      systemPrincipal: () => system,
      createAccount: async (_p, input) => {
        const a: Account = {
          id: 'acc-1',
          name: input.name,
          maxZones: 10,
          maxRecords: 1000,
          createdAt: new Date().toISOString(),
        };
        self.accounts.push(a);
        return a;
      },
      listAccounts: async () => ({ items: self.accounts }),
      createZone: async (_p, input) => {
        self.setZone(input.name, input.zonefile ?? '');
        return { name: input.name } as ZoneDetail;
      },
      onZoneChange: (l) => {
        self.listeners.add(l);
        return () => self.listeners.delete(l);
      },
      servedZones: async function* () {
        for (const z of [...self.zones.values()]) yield z;
      },
      servedZone: async (name: string) => self.zones.get(name) ?? null,
      // No transfer settings (docs/TRANSFERS.md): the primary's feed reads an empty list.
      transferZones: async () => [],
      onShieldChange: () => () => {},
      // No secondary zones: the refresher reads an empty list.
      secondaryZones: async () => [],
      onSecondaryRefresh: () => () => {},
      onSettingsChange: () => () => {},
      close: async () => {
        self.closed = true;
      },
    };
    return partial as ControlPlane;
  }
}

function fakeApi(): ApiServer {
  return {
    listen: async () => 'http://127.0.0.1:1',
    close: async () => {},
    server: { address: () => ({ port: 18080 }) },
  };
}

function zoneText(name: string, address: string): string {
  return (
    `${name} 60 IN SOA ns1.${name} h.${name} 1 60 60 600 60\n${name} 60 IN NS ns1.${name}\n` +
    `ns1.${name} 60 IN A 192.0.2.53\nwww.${name} 60 IN A ${address}\n`
  );
}

async function query(
  port: number,
  name: string,
): Promise<{ rcode: number; answers: string[]; worker: string }> {
  const q = buildQuery({
    name,
    type: 1,
    edns: { udpSize: 1232, options: [{ code: 3, data: new Uint8Array(0) }] },
  });
  const r = decodeMessage(await queryUdp(q, { port, timeoutMs: 1000 }));
  const nsid = r.edns?.options.find((o) => o.code === 3);
  return {
    rcode: r.flags & 0xf,
    answers: r.answers.filter((a) => a.type === 1).map((a) => rdataToText(1, a.rdata)),
    worker: nsid ? Buffer.from(nsid.data).toString('utf8') : '?',
  };
}

/** Queries until both workers answered as `ok` wants (fails after `ms`). */
async function untilEveryWorker(
  port: number,
  name: string,
  ok: (a: { rcode: number; answers: string[] }) => boolean,
  ms = 10_000,
): Promise<void> {
  const good = new Set<string>();
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const batch = await Promise.all([0, 1, 2, 3].map(() => query(port, name).catch(() => null)));
    for (const a of batch) if (a && ok(a)) good.add(a.worker);
    if (good.size >= 2) return;
  }
  assert.fail(`not every worker answered ${name} as expected (${[...good].join(',')})`);
}

const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {} };

describe('runStart (with an in-memory control plane)', () => {
  test('imports the examples, prints the key once, serves live changes from every worker', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-start-unit-'));
    const control = new FakeControl();
    const port = await findFreePort();
    const config = buildStartConfig({
      data: dataDir,
      dns: [`127.0.0.1:${port}`],
      http: '127.0.0.1:0',
      workers: 2,
      nsid: 'w{worker}',
    });
    const stop = new AbortController();
    let printed = '';
    let onStarted: () => void = () => {};
    const started = new Promise<void>((r) => {
      onStarted = r;
    });
    const errors: string[] = [];
    const exit = runStart(
      config,
      {
        log: { ...quiet, error: (m) => errors.push(m) },
        print: (t) => {
          printed += t;
          if (printed.includes(STARTED_LINE)) onStarted();
        },
        env: {},
        version: 'test',
        stopSignal: stop.signal,
        handleSignals: false,
      },
      { openControlPlane: async () => control.asControlPlane(), buildApi: async () => fakeApi() },
    );
    try {
      await Promise.race([
        started,
        exit.then((code) => assert.fail(`exited with ${code}: ${errors.join('\n')}`)),
      ]);
      assert.match(printed, /sb_printed_once/);
      // The new key is saved for its owner only, and the hint names the API (not the default).
      const keyFile = join(dataDir, ADMIN_KEY_FILE);
      assert.equal(readFileSync(keyFile, 'utf8'), 'sb_printed_once\n');
      assert.equal(statSync(keyFile).mode & 0o777, 0o600);
      assert.ok(printed.includes(`saved in ${keyFile} (readable by its owner only)`), printed);
      assert.match(printed, /^ {4}export SWITCHBOARD_API_KEY=sb_printed_once$/m);
      assert.match(printed, /^ {4}export SWITCHBOARD_URL=http:\/\/127\.0\.0\.1:18080$/m);
      assert.match(printed, /API\s+http:\/\/127\.0\.0\.1:18080\/api\/v1\//);
      assert.match(printed, /^ {2}CLI {7}export SWITCHBOARD_URL=http:\/\/127\.0\.0\.1:18080$/m);
      assert.match(printed, /2 workers, 2 zones/);
      assert.deepEqual(
        control.accounts.map((a) => a.name),
        ['example'],
      );
      assert.deepEqual((await query(port, 'www.example.com')).answers, ['192.0.2.10']);
      await untilEveryWorker(port, 'www.example.com', (a) => a.answers.includes('192.0.2.10'));

      control.setZone('live.test.', zoneText('live.test.', '192.0.2.1'));
      await untilEveryWorker(port, 'www.live.test', (a) => a.answers.includes('192.0.2.1'));
      // A burst: only the last one matters, and it must win in every worker.
      for (let i = 2; i <= 60; i++) control.setZone('live.test.', zoneText('live.test.', `192.0.2.${i}`));
      await untilEveryWorker(
        port,
        'www.live.test',
        (a) => a.answers.length === 1 && a.answers[0] === '192.0.2.60',
      );

      // A worker killed hard comes back with the full set.
      const workers = listChildren(process.pid);
      assert.equal(workers.length, 2);
      process.kill(workers[0], 'SIGKILL');
      await new Promise((r) => setTimeout(r, 300));
      await untilEveryWorker(port, 'www.live.test', (a) => a.answers.includes('192.0.2.60'));
      await untilEveryWorker(port, 'www.example.com', (a) => a.answers.includes('192.0.2.10'));

      control.deleteZone('live.test.');
      await untilEveryWorker(port, 'www.live.test', (a) => a.rcode === 5);
      assert.deepEqual(errors, []);
    } finally {
      stop.abort();
      assert.equal(await exit, 0);
      rmSync(dataDir, { recursive: true, force: true });
    }
    assert.equal(control.closed, true);
  });

  test('--images on: a stop during the cold compile exits 0, starts no worker and removes the packs', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-start-unit-'));
    // The pack writer makes its folder under os.tmpdir(), which follows TMPDIR.
    const packTmp = mkdtempSync(join(tmpdir(), 'sb-start-packs-'));
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = packTmp;
    const control = new FakeControl();
    for (let i = 0; i < 200; i++) control.setZone(`z${i}.test.`, zoneText(`z${i}.test.`, '192.0.2.1'));
    const config = buildStartConfig({
      data: dataDir,
      dns: [`127.0.0.1:${await findFreePort()}`],
      http: '127.0.0.1:0',
      workers: 2,
      images: 'on',
    });
    const stop = new AbortController();
    stop.abort(); // already stopping when the compile starts
    const infos: string[] = [];
    const errors: string[] = [];
    let printed = '';
    try {
      const code = await runStart(
        config,
        {
          log: { ...quiet, info: (m) => infos.push(m), error: (m) => errors.push(m) },
          print: (t) => {
            printed += t;
          },
          env: {},
          version: 'test',
          stopSignal: stop.signal,
          handleSignals: false,
        },
        { openControlPlane: async () => control.asControlPlane(), buildApi: async () => fakeApi() },
      );
      assert.equal(code, 0);
      assert.ok(infos.includes('stop while starting: stopping'), infos.join('\n'));
      assert.ok(!printed.includes(STARTED_LINE), printed);
      assert.deepEqual(errors, []);
      assert.deepEqual(readdirSync(packTmp), []);
      assert.equal(control.closed, true);
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(packTmp, { recursive: true, force: true });
    }
  });

  test('a DNS address that cannot be bound stops the start with exit code 1', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-start-unit-'));
    const control = new FakeControl();
    // 192.0.2.1 is not on this host: binding fails in every worker.
    const config = buildStartConfig({
      data: dataDir,
      dns: ['192.0.2.1:5300'],
      http: '127.0.0.1:0',
      workers: 1,
    });
    const errors: string[] = [];
    const code = await runStart(
      config,
      {
        log: { ...quiet, error: (m) => errors.push(m) },
        print: () => {},
        env: {},
        version: 'test',
        handleSignals: false,
      },
      { openControlPlane: async () => control.asControlPlane(), buildApi: async () => fakeApi() },
    );
    rmSync(dataDir, { recursive: true, force: true });
    assert.equal(code, 1);
    assert.ok(
      errors.some((e) => /cannot serve/.test(e)),
      errors.join('\n'),
    );
    assert.equal(control.closed, true);
  });
});

describe('the new administrator key block', () => {
  test('sets SWITCHBOARD_URL only when the API is not at the default address', () => {
    const atDefault = formatNewKeyBlock('sb_k', '/d/admin-key', 'http://127.0.0.1:8080');
    assert.match(atDefault, /^ {2}sb_k$/m);
    assert.match(atDefault, /saved in \/d\/admin-key/);
    assert.doesNotMatch(atDefault, /SWITCHBOARD_URL/);
    const elsewhere = formatNewKeyBlock('sb_k', undefined, 'http://[::1]:9000');
    assert.match(elsewhere, /^ {4}export SWITCHBOARD_URL=http:\/\/\[::1\]:9000$/m);
    assert.doesNotMatch(elsewhere, /saved in/);
  });
});
