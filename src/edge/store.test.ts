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
