/**
 * The IXFR journal across a restart of `switchboard start` (issue 9 §1: "IXFR from the stored
 * version diffs"; docs/TRANSFERS.md "IXFR"): a zone changed through the API, the platform
 * stopped and started again on the same data, changed once more — `kdig IXFR=serial` with a
 * serial from before the restart gets the condensed difference (not the whole zone), equal to
 * the difference of the two AXFRs; a serial the store has no diff for (before the zone's
 * creation) still gets the whole zone.
 * @module
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { kdigAt } from '../helpers/dns-client.js';
import { kdigRecords, soaSerialOf } from '../helpers/kdig-records.js';
import { skipUnlessCommands } from '../helpers/peers.js';
import {
  callApi,
  type Platform,
  queryPlatform,
  removeDataDir,
  startPlatform,
  tenantToken,
} from '../helpers/platform.js';
import { createTransferZone, type TransferZone } from '../helpers/transfer-zone.js';
import { waitFor } from '../helpers/wait-for.js';

const skip = skipUnlessCommands('kdig');
const ADMIN = 'sb_e2e_ixfr_restart_admin_key_012345';
const ZONE = 'ixfr-restart.test.';

const records = kdigRecords;
const serialOf = soaSerialOf;

describe('start: IXFR from the stored history after a restart', { skip }, () => {
  let p: Platform;
  let tenant: string;
  let zone: TransferZone;
  const call = (method: string, path: string, body?: unknown) => callApi(p.api, tenant, method, path, body);
  const serial = () => zone.serial();
  const patch = (rrsets: unknown[]) => zone.patch(rrsets);
  const served = async (s: number): Promise<boolean> =>
    (await queryPlatform(p.dnsPort, ZONE, 6)).answers.some((x) => x.includes(` ${s} `));
  const tsig = () => zone.tsig();
  const start = (dataDir?: string) =>
    startPlatform({ apiKey: ADMIN, workers: 1, ...(dataDir !== undefined ? { dataDir } : {}) });

  before(async () => {
    p = await start();
    tenant = await tenantToken(p.api, ADMIN, 'tenant');
    zone = await createTransferZone(call, ZONE);
  });
  after(async () => {
    await p?.stop();
    if (p) removeDataDir(p.dataDir);
  });

  test('a change, a restart, a change: kdig IXFR=serial-before-the-restart gets the difference', async (t) => {
    const s0 = await serial();
    await waitFor('the zone served', () => served(s0), 10_000);
    const axfr0 = records(await kdigAt(p.dnsPort, ...tsig(), 'AXFR', ZONE));
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
      { name: `old.${ZONE}`, type: 'TXT', changetype: 'DELETE' },
    ]);
    const s1 = await serial();
    await waitFor('the first change served', () => served(s1), 10_000);

    // Stopped and started again on the same store: the journal is rebuilt from its versions.
    const dataDir = p.dataDir;
    assert.equal(await p.stop(), 0);
    p = await start(dataDir);
    await waitFor('served again after the restart', () => served(s1), 20_000);
    await patch([
      {
        name: `new.${ZONE}`,
        type: 'TXT',
        ttl: 60,
        changetype: 'REPLACE',
        records: [{ content: '"new"', disabled: false }],
      },
    ]);
    const s2 = await serial();
    await waitFor('the second change served', () => served(s2), 10_000);
    const axfr2 = records(await kdigAt(p.dnsPort, ...tsig(), 'AXFR', ZONE));

    // IXFR from s0 (before the restart): SOA(s2) SOA(s0) removals SOA(s2) additions SOA(s2).
    const fetchIxfr = async (from: number) =>
      records(await kdigAt(p.dnsPort, ...tsig(), `IXFR=${from}`, ZONE));
    let ixfr: string[] = [];
    // The journal is rebuilt in the background right after the store is read: give it a moment.
    await waitFor(
      'an IXFR difference from a serial before the restart',
      async () => {
        ixfr = await fetchIxfr(s0);
        return ixfr.length > 1 && ixfr[1].split(' ')[2] === 'SOA';
      },
      10_000,
    );
    t.diagnostic(`IXFR=${s0} after a restart: ${ixfr.length} records (the whole zone: ${axfr2.length})`);
    assert.equal(serialOf(ixfr[0]), s2);
    assert.equal(serialOf(ixfr[1]), s0);
    const second = ixfr.findIndex((l, i) => i > 1 && l.split(' ')[2] === 'SOA');
    assert.ok(second > 1, ixfr.join('\n'));
    assert.equal(serialOf(ixfr[second]), s2);
    assert.equal(serialOf(ixfr[ixfr.length - 1]), s2);
    const removed = ixfr.slice(2, second).sort();
    const added = ixfr.slice(second + 1, -1).sort();
    const soaless = (l: string[]) => l.filter((x) => x.split(' ')[2] !== 'SOA');
    assert.deepEqual(
      removed,
      soaless(axfr0)
        .filter((x) => !axfr2.includes(x))
        .sort(),
    );
    assert.deepEqual(
      added,
      soaless(axfr2)
        .filter((x) => !axfr0.includes(x))
        .sort(),
    );
    // From s1 (the version served when the platform stopped): the second change alone.
    const fromS1 = await fetchIxfr(s1);
    assert.equal(serialOf(fromS1[1]), s1);
    assert.deepEqual(
      fromS1.filter((x) => x.split(' ')[2] !== 'SOA'),
      [`new.${ZONE} 60 TXT "new"`],
    );
    // A serial with no stored diff from it: the whole zone in AXFR form.
    const full = await fetchIxfr((s0 - 1) >>> 0);
    assert.notEqual(full[1]?.split(' ')[2], 'SOA');
    assert.equal(full.length, axfr2.length);
  });
});
