/**
 * The edge's state store: a zone replaced whole, differences applied in order, a difference
 * whose removals are not all held rolled back whole, a zone dropped, and the file reopened
 * (what a restart reads), versions going forward across a drop and a re-add; a writer SIGKILLed
 * in the middle of a big transaction leaves the zone as it was.
 * @module
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseZoneText } from '../zone/parser.js';
import { DiffMismatchError, EdgeStore } from './store.js';

const origin = 'store.test.';
const recs = (...lines: string[]) => parseZoneText(`${lines.join('\n')}\n`, { origin });
const soa = (serial: number) => `@ 300 IN SOA ns1 hostmaster ${serial} 60 10 3600 300`;
const timers = (serial: number) => ({ serial, refresh: 60, retry: 10, expire: 3600 });

test('replace, diff, a diff that does not apply, drop, reopen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-edge-store-'));
  try {
    let store = new EdgeStore(dir);
    const v1 = store.replace(
      origin,
      'm1',
      timers(1),
      recs(soa(1), '@ 300 IN NS ns1', 'www 300 IN A 192.0.2.1'),
    );
    assert.equal(store.recordCount(origin), 3);
    const v2 = store.applyDiff(
      origin,
      [{ removed: recs(soa(1), 'www 300 IN A 192.0.2.1'), added: recs(soa(2), 'www 300 IN A 192.0.2.2') }],
      timers(2),
    );
    assert.ok(v2 > v1);
    assert.match(store.text(origin) ?? '', /192\.0\.2\.2/);
    assert.doesNotMatch(store.text(origin) ?? '', /192\.0\.2\.1\b/);
    // A removal not held: nothing of the difference is written.
    assert.throws(
      () =>
        store.applyDiff(
          origin,
          [{ removed: recs(soa(2), 'nope 300 IN A 192.0.2.9'), added: recs(soa(3)) }],
          timers(3),
        ),
      DiffMismatchError,
    );
    assert.equal(store.zone(origin)?.serial, 2);
    assert.match(store.text(origin) ?? '', /SOA ns1\.store\.test\. hostmaster\.store\.test\. 2 /);
    store.close();
    store = new EdgeStore(dir);
    assert.equal(store.zone(origin)?.memberId, 'm1');
    assert.equal(store.recordCount(origin), 3);
    const dropped = store.drop(origin);
    assert.ok(dropped > v2);
    assert.equal(store.zone(origin), undefined);
    assert.equal(store.drop(origin), 0);
    const v3 = store.replace(origin, 'm2', timers(1), recs(soa(1)));
    assert.ok(v3 > dropped, 'versions go forward across a drop and a re-add');
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGKILL in the middle of a write: the zone is whole, as before the write', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-edge-store-kill-'));
  try {
    const store = new EdgeStore(dir);
    store.replace(origin, 'm1', timers(1), recs(soa(1), '@ 300 IN NS ns1', 'www 300 IN A 192.0.2.1'));
    store.close();
    // A child replaces the zone with 300,000 records in one transaction and is killed while at it.
    const script = `
      import { EdgeStore } from ${JSON.stringify(new URL('./store.js', import.meta.url).href)};
      import { parseZoneText } from ${JSON.stringify(new URL('../zone/parser.js', import.meta.url).href)};
      const lines = ['@ 300 IN SOA ns1 hostmaster 2 60 10 3600 300'];
      for (let i = 0; i < 300000; i++) lines.push('h' + i + ' 300 IN A 10.0.' + ((i >> 8) & 255) + '.' + (i & 255));
      const records = parseZoneText(lines.join('\\n') + '\\n', { origin: '${origin}' });
      const store = new EdgeStore(${JSON.stringify(dir)});
      process.stdout.write('writing\\n');
      store.replace('${origin}', 'm1', { serial: 2, refresh: 60, retry: 10, expire: 3600 }, records);
      process.stdout.write('done\\n');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('writing')) setTimeout(() => child.kill('SIGKILL'), 150);
      });
      child.on('exit', () => resolve());
    });
    assert.ok(!out.includes('done'), 'the write finished before the kill: nothing was tested');
    const after = new EdgeStore(dir);
    assert.equal(after.zone(origin)?.serial, 1);
    assert.equal(after.recordCount(origin), 3);
    assert.match(after.text(origin) ?? '', /www\.store\.test\. 300 IN A 192\.0\.2\.1/);
    after.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The step from serial `from` to `from + 1`: www's address `from` → `from + 1`. */
const step = (from: number) => ({
  from,
  to: from + 1,
  removed: recs(soa(from), `www 300 IN A 192.0.2.${from}`),
  added: recs(soa(from + 1), `www 300 IN A 192.0.2.${from + 1}`),
});

test('the IXFR journal: written with each difference, read back after a reopen, bounded, reset by AXFR and drop', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-edge-store-'));
  try {
    let store = new EdgeStore(dir, { maxVersions: 3 });
    store.replace(origin, 'm1', timers(1), recs(soa(1), '@ 300 IN NS ns1', 'www 300 IN A 192.0.2.1'));
    assert.deepEqual(store.journalOf(origin), []);
    store.applyDiff(origin, [step(1)], timers(2));
    store.applyDiff(origin, [step(2), step(3)], timers(4));
    assert.deepEqual(
      store.journalOf(origin).map((e) => [e.from, e.to]),
      [
        [1, 2],
        [2, 3],
        [3, 4],
      ],
    );
    const bytes = store.journalBytes;
    assert.ok(bytes > 0);
    // A difference that does not apply writes no journal entry either.
    assert.throws(
      () =>
        store.applyDiff(
          origin,
          [{ ...step(4), removed: recs(soa(4), 'nope 300 IN A 192.0.2.9') }],
          timers(5),
        ),
      DiffMismatchError,
    );
    assert.equal(store.journalOf(origin).length, 3);
    assert.equal(store.journalBytes, bytes);
    // Past maxVersions the oldest goes.
    store.applyDiff(origin, [step(4)], timers(5));
    assert.deepEqual(
      store.journalOf(origin).map((e) => e.from),
      [2, 3, 4],
    );
    store.close();
    // Reopened (a restart): the same entries, in order, with their records.
    store = new EdgeStore(dir, { maxVersions: 3 });
    const all = [...store.journal()];
    assert.deepEqual(
      all.map(([z, e]) => [z, e.from, e.to]),
      [
        [origin, 2, 3],
        [origin, 3, 4],
        [origin, 4, 5],
      ],
    );
    assert.equal(all[2][1].add.length, 1);
    assert.equal(all[2][1].del.length, 1);
    assert.equal(
      store.journalBytes,
      [...store.journal()].reduce((n, [, e]) => n + e.bytes, 0),
    );
    // A difference without its serials (not an IXFR step) starts the history over.
    store.applyDiff(origin, [{ removed: step(5).removed, added: step(5).added }], timers(6));
    assert.deepEqual(store.journalOf(origin), []);
    store.applyDiff(origin, [step(6)], timers(7));
    assert.equal(store.journalOf(origin).length, 1);
    // Transferred whole: the history starts over.
    store.replace(origin, 'm1', timers(9), recs(soa(9), '@ 300 IN NS ns1', 'www 300 IN A 192.0.2.9'));
    assert.deepEqual(store.journalOf(origin), []);
    store.applyDiff(origin, [step(9)], timers(10));
    store.drop(origin);
    assert.deepEqual([...store.journal()], []);
    assert.equal(store.journalBytes, 0);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the IXFR journal in all: past its octets the zones changed least recently lose theirs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-edge-store-'));
  try {
    const zoneRecs = (o: string) =>
      parseZoneText(`${soa(1)}\n@ 300 IN NS ns1\nwww 300 IN A 192.0.2.1\n`, { origin: o });
    const stepOf = (o: string) => ({
      from: 1,
      to: 2,
      removed: parseZoneText(`${soa(1)}\nwww 300 IN A 192.0.2.1\n`, { origin: o }),
      added: parseZoneText(`${soa(2)}\nwww 300 IN A 192.0.2.2\n`, { origin: o }),
    });
    // Room for about two zones' entries.
    const probe = new EdgeStore(mkdtempSync(join(dir, 'probe-')));
    probe.replace('a.test.', 'a', timers(1), zoneRecs('a.test.'));
    probe.applyDiff('a.test.', [stepOf('a.test.')], timers(2));
    const one = probe.journalBytes;
    probe.close();
    const store = new EdgeStore(dir, { maxTotalBytes: one * 2 + one / 2 });
    for (const z of ['a.test.', 'b.test.', 'c.test.']) store.replace(z, z, timers(1), zoneRecs(z));
    for (const z of ['a.test.', 'b.test.', 'c.test.']) store.applyDiff(z, [stepOf(z)], timers(2));
    assert.deepEqual(
      [...store.journal()].map(([z]) => z),
      ['b.test.', 'c.test.'],
    );
    assert.equal(store.journalBytes, one * 2);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replaceMany: several zones in one transaction, versions in order, a zone held replaced whole', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-edge-store-many-'));
  try {
    const store = new EdgeStore(dir);
    const other = 'other.store.test.';
    const v0 = store.replace(origin, 'm1', timers(1), recs(soa(1), 'old 300 IN A 192.0.2.9'));
    const otherRecs = parseZoneText(
      '@ 300 IN SOA ns1 hostmaster 7 60 10 3600 300\nwww 300 IN A 192.0.2.7\n',
      {
        origin: other,
      },
    );
    const mine = recs(soa(2), 'www 300 IN A 192.0.2.2');
    const [va, vb] = store.replaceMany([
      // Lines given by the caller are stored as given.
      {
        name: origin,
        memberId: 'm1',
        soa: timers(2),
        records: mine,
        lines: mine.map((r) => `; line ${r.type}`),
      },
      { name: other, memberId: 'm2', soa: { ...timers(7) }, records: otherRecs },
    ]);
    assert.ok(v0 < va && va < vb, `versions ${v0} < ${va} < ${vb}`);
    assert.equal(store.zone(origin)?.serial, 2);
    assert.equal(store.zone(origin)?.version, va);
    assert.equal(store.recordCount(origin), 2, 'the zone held is replaced whole (its old record gone)');
    assert.match(store.text(origin) ?? '', /^; line 6$/m);
    assert.equal(store.zone(other)?.memberId, 'm2');
    assert.match(store.text(other) ?? '', /^www\.other\.store\.test\. 300 IN A 192\.0\.2\.7$/m);
    assert.ok(
      store.replace(origin, 'm1', timers(3), recs(soa(3))) > vb,
      'the sequence goes on after a batch',
    );
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
