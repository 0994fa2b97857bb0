/**
 * Issue 3 §8, durability: `switchboard start` (SQLite) is SIGKILLed in the middle of a stream
 * of API changes, restarted on the same data, and then every acknowledged change must be
 * there, and every zone's version history must be whole: versions 1..N without gaps, serials
 * strictly increasing, and the diffs applied in order give exactly the current content.
 * Repeated at several random kill points on the same store.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  callApi,
  type Json,
  makeDataDir,
  type Platform,
  removeDataDir,
  startPlatform,
} from '../helpers/platform.js';

const ZONES = ['d0.test.', 'd1.test.', 'd2.test.', 'd3.test.'];
const ROUNDS = 3;

interface Acked {
  zone: string;
  name: string;
  value: string;
}

/** `name ttl class type rdata` with single spaces and the owner case-folded. */
function normalizeRecord(line: string): string {
  const f = line.trim().split(/\s+/);
  f[0] = f[0].toLowerCase();
  return f.join(' ');
}

async function listAll(base: string, key: string, path: string): Promise<Json[]> {
  const out: Json[] = [];
  let cursor: string | undefined;
  do {
    const q = new URLSearchParams({ limit: '1000' });
    if (cursor) q.set('cursor', cursor);
    const r = await callApi(base, key, 'GET', `${path}?${q}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    out.push(...r.body.items);
    cursor = r.body.next ?? undefined;
  } while (cursor);
  return out;
}

/** Streams PATCHes (one writer per zone, each change awaited) until the server goes away. */
async function streamChanges(p: Platform, key: string, round: number, acked: Acked[]): Promise<number> {
  let sent = 0;
  const writer = async (zone: string) => {
    for (let i = 0; ; i++) {
      const name = `r${round}-${i}.${zone}`;
      const value = `"v${round}-${i}"`;
      const change =
        i % 5 === 4
          ? // Some changes touch two RRsets at once (all or nothing).
            [
              { op: 'replace', name, type: 'TXT', ttl: 60, records: [{ content: value }] },
              { op: 'replace', name: `m.${zone}`, type: 'TXT', ttl: 60, records: [{ content: value }] },
            ]
          : [{ op: 'replace', name, type: 'TXT', ttl: 60, records: [{ content: value }] }];
      let status: number;
      try {
        sent++;
        status = (await callApi(p.api, key, 'PATCH', `/api/v1/zones/${zone}/rrsets`, { changes: change }))
          .status;
      } catch {
        return; // the server is gone: this change was never acknowledged
      }
      assert.equal(status, 200);
      acked.push({ zone, name, value });
    }
  };
  await Promise.all(ZONES.map(writer));
  return sent;
}

async function checkZone(p: Platform, key: string, zone: string): Promise<void> {
  const detail = await callApi(p.api, key, 'GET', `/api/v1/zones/${zone}`);
  assert.equal(detail.status, 200);
  const versions = (await listAll(p.api, key, `/api/v1/zones/${zone}/versions`)).sort(
    (a, b) => a.version - b.version,
  );
  assert.deepEqual(
    versions.map((v) => v.version),
    Array.from({ length: detail.body.version }, (_, i) => i + 1),
    `${zone}: versions 1..${detail.body.version} without gaps`,
  );
  const state = new Set<string>();
  let lastSerial = -1;
  let diffsHaveSoa = false;
  for (const v of versions) {
    const diff = await callApi(p.api, key, 'GET', `/api/v1/zones/${zone}/versions/${v.version}`);
    assert.equal(diff.status, 200, JSON.stringify(diff.body));
    // No wrap-around here: the serials start small.
    assert.ok(
      diff.body.serial > lastSerial,
      `${zone} v${v.version}: serial ${diff.body.serial} after ${lastSerial}`,
    );
    lastSerial = diff.body.serial;
    for (const r of diff.body.removedRecords as string[]) {
      const n = normalizeRecord(r);
      if (/ SOA /i.test(n)) diffsHaveSoa = true;
      assert.ok(state.delete(n), `${zone} v${v.version} removes ${n}, which was not there`);
    }
    for (const r of diff.body.addedRecords as string[]) {
      const n = normalizeRecord(r);
      if (/ SOA /i.test(n)) diffsHaveSoa = true;
      assert.ok(!state.has(n), `${zone} v${v.version} adds ${n}, which was already there`);
      state.add(n);
    }
  }
  assert.equal(detail.body.serial, lastSerial, `${zone}: the current serial is the last version's`);
  const current = new Set<string>();
  for (const rr of detail.body.rrsets)
    for (const rec of rr.records) {
      if (rec.disabled) continue;
      if (rr.type === 'SOA' && !diffsHaveSoa) continue;
      current.add(normalizeRecord(`${rr.name} ${rr.ttl} IN ${rr.type} ${rec.content}`));
    }
  assert.deepEqual(
    [...state].sort(),
    [...current].sort(),
    `${zone}: the diffs applied in order give the content`,
  );
}

test('SIGKILL during a stream of API changes loses no acknowledged change and leaves no half-written version', async (t) => {
  const key = `sb_${randomBytes(32).toString('base64url')}`;
  const dataDir = makeDataDir();
  let p = await startPlatform({ dataDir, workers: 1, apiKey: key });
  t.after(async () => {
    await p.stop();
    removeDataDir(dataDir);
  });
  for (const zone of ZONES) {
    const r = await callApi(p.api, key, 'POST', '/api/v1/zones', {
      name: zone,
      rrsets: [{ name: zone, type: 'NS', ttl: 300, records: [{ content: 'ns1.example.net.' }] }],
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const acked: Acked[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const before = acked.length;
    const killAfterMs = 300 + Math.floor(Math.random() * 1200);
    const streaming = streamChanges(p, key, round, acked);
    await new Promise((r) => setTimeout(r, killAfterMs));
    await p.kill();
    const sent = await streaming;
    t.diagnostic(
      `round ${round}: killed after ${killAfterMs} ms; ${acked.length - before} acknowledged of ${sent} sent`,
    );
    assert.ok(acked.length > before, `round ${round}: some changes were acknowledged before the kill`);

    p = await startPlatform({ dataDir, workers: 1, apiKey: key });
    // Every acknowledged change is there (the `m` RRset holds only its latest value).
    const byZone = new Map<string, Map<string, string[]>>();
    for (const zone of ZONES) {
      const rrsets = (await callApi(p.api, key, 'GET', `/api/v1/zones/${zone}/rrsets?type=TXT`)).body
        .items as {
        name: string;
        records: { content: string }[];
      }[];
      byZone.set(zone, new Map(rrsets.map((r) => [r.name.toLowerCase(), r.records.map((x) => x.content)])));
    }
    for (const a of acked) {
      const have = byZone.get(a.zone)?.get(a.name.toLowerCase());
      assert.deepEqual(have, [a.value], `acknowledged ${a.name} TXT ${a.value} is missing after restart`);
    }
    for (const zone of ZONES) await checkZone(p, key, zone);
  }
});
