/**
 * `servedChanges`: a zone's changes since a version, read from the stored diffs. Applying them
 * to the zone's served text at that version gives its served text now (record changes, RRsets
 * added, replaced and deleted, disabled records, TTL changes, imports, rollbacks, SOA bumps);
 * null when the diffs cannot say it (another zone of that name, too many changes, a version
 * in between pruned).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { StoreControlPlane } from './plane.js';
import type { ServedChanges } from './types.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function open(zoneWork: 'thread' | 'inline'): Promise<StoreControlPlane> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-served-changes-'));
  dirs.push(dataDir);
  return StoreControlPlane.open({ dataDir, zoneWork });
}

/** Lines of served text by RRset (`owner-key type`), as sorted line lists. */
function byRRset(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [owner, , , type] = line.split('\t');
    const key = `${owner.toLowerCase()} ${type}`;
    out.set(key, [...(out.get(key) ?? []), line].sort());
  }
  return out;
}

const TYPE_CODES: Record<string, number> = { A: 1, NS: 2, SOA: 6, MX: 15, TXT: 16, AAAA: 28 };

/** `before` (served text) with `changes` applied, as byRRset. */
function apply(before: string, changes: ServedChanges): Map<string, string[]> {
  const sets = byRRset(before);
  const name = (code: number) => Object.keys(TYPE_CODES).find((k) => TYPE_CODES[k] === code) ?? `TYPE${code}`;
  for (const c of changes.changes) {
    const key = `${c.owner.toLowerCase()} ${name(c.type)}`;
    if (c.text === '') sets.delete(key);
    else sets.set(key, [...(byRRset(c.text).get(key) ?? [])]);
  }
  return sets;
}

const NS = ['ns1.example.net.', 'ns2.example.net.'];

for (const zoneWork of ['inline', 'thread'] as const)
  describe(`servedChanges (zone work: ${zoneWork})`, () => {
    test('applied to the served text of a version, give the served text now', async () => {
      const cp = await open(zoneWork);
      try {
        const admin = cp.systemPrincipal();
        await cp.createZone(admin, {
          name: 'sc.test',
          nameservers: NS,
          rrsets: [
            {
              name: 'www.sc.test',
              type: 'A',
              ttl: 300,
              records: [{ content: '192.0.2.1' }, { content: '192.0.2.2' }],
            },
            { name: 'old.sc.test', type: 'TXT', ttl: 300, records: [{ content: '"x"' }] },
          ],
        });
        const v1 = await cp.servedZone('sc.test');
        assert.ok(v1?.id);
        const since = { id: v1.id, version: v1.version };
        const none = await cp.servedChanges('sc.test', since);
        assert.deepEqual(none?.changes, []);

        const steps: (() => Promise<unknown>)[] = [
          () =>
            cp.changeRRsets(admin, 'sc.test', [
              { op: 'add', name: 'www.sc.test', type: 'A', ttl: 300, records: [{ content: '192.0.2.3' }] },
              {
                op: 'replace',
                name: 'sc.test',
                type: 'MX',
                ttl: 600,
                records: [{ content: '10 mx.sc.test.' }],
              },
            ]),
          () =>
            cp.changeRRsets(admin, 'sc.test', [
              { op: 'remove', name: 'www.sc.test', type: 'A', records: [{ content: '192.0.2.1' }] },
              { op: 'delete', name: 'old.sc.test', type: 'TXT' },
              {
                op: 'replace',
                name: 'new.deep.sc.test',
                type: 'AAAA',
                ttl: 60,
                records: [{ content: '2001:db8::1' }, { content: '2001:db8::2', disabled: true }],
              },
            ]),
          // A TTL change, and an RRset whose only record is disabled (not served).
          () =>
            cp.changeRRsets(admin, 'sc.test', [
              { op: 'replace', name: 'www.sc.test', type: 'A', ttl: 30, records: [{ content: '192.0.2.2' }] },
              {
                op: 'replace',
                name: 'sc.test',
                type: 'MX',
                ttl: 600,
                records: [{ content: '10 mx.sc.test.', disabled: true }],
              },
            ]),
          () =>
            cp.importZone(
              admin,
              'sc.test',
              'www 300 A 192.0.2.9\nfresh 300 TXT "imported"\n@ 300 NS ns1.example.net.\n',
            ),
          () => cp.rollback(admin, 'sc.test', 2),
        ];
        const texts = [v1.text];
        for (const step of steps) {
          await step();
          const now = await cp.servedZone('sc.test');
          assert.ok(now);
          texts.push(now.text);
          // From every earlier version to this one.
          for (let from = 1; from < now.version; from++) {
            const changes = await cp.servedChanges('sc.test', { id: v1.id, version: from });
            assert.ok(changes, `changes from version ${from}`);
            assert.equal(changes.version, now.version);
            assert.equal(changes.serial, now.serial);
            assert.deepEqual(
              apply(texts[from - 1], changes),
              byRRset(now.text),
              `from ${from} to ${now.version}`,
            );
          }
        }
      } finally {
        await cp.close();
      }
    });

    test('null when the diffs cannot say: another zone of the name, too many changes, unknown zone', async () => {
      const cp = await open(zoneWork);
      try {
        const admin = cp.systemPrincipal();
        await cp.createZone(admin, { name: 'gone.test', nameservers: NS });
        const v1 = await cp.servedZone('gone.test');
        assert.ok(v1?.id);
        await cp.changeRRsets(admin, 'gone.test', [
          { op: 'replace', name: 'a.gone.test', type: 'A', ttl: 60, records: [{ content: '192.0.2.1' }] },
          { op: 'replace', name: 'b.gone.test', type: 'A', ttl: 60, records: [{ content: '192.0.2.2' }] },
        ]);
        // The change and the SOA: 3 RRsets.
        assert.equal((await cp.servedChanges('gone.test', { id: v1.id, version: 1 }))?.changes.length, 3);
        assert.equal(await cp.servedChanges('gone.test', { id: v1.id, version: 1 }, 2), null);
        // A change of many records goes the whole way before its diff is parsed (records added
        // + removed over 4× the RRset limit), even when it touches few RRsets.
        const v2 = await cp.servedZone('gone.test');
        assert.ok(v2?.id);
        const many = Array.from({ length: 50 }, (_, i) => ({ content: `192.0.2.${i + 10}` }));
        await cp.changeRRsets(admin, 'gone.test', [
          { op: 'replace', name: 'c.gone.test', type: 'A', ttl: 60, records: many },
        ]);
        assert.equal(await cp.servedChanges('gone.test', { id: v2.id, version: v2.version }, 10), null);
        assert.equal(
          (await cp.servedChanges('gone.test', { id: v2.id, version: v2.version }, 20))?.changes.length,
          2,
        );
        assert.equal(await cp.servedChanges('gone.test', { id: 'not-this-zone', version: 1 }), null);
        assert.equal(await cp.servedChanges('gone.test', { id: v1.id, version: 4 }), null);
        assert.equal(await cp.servedChanges('nowhere.test', { id: v1.id, version: 1 }), null);
        assert.equal(await cp.servedChanges('bad name!', { id: v1.id, version: 1 }), null);
        await cp.deleteZone(admin, 'gone.test');
        await cp.createZone(admin, { name: 'gone.test', nameservers: NS });
        assert.equal(await cp.servedChanges('gone.test', { id: v1.id, version: 1 }), null);
      } finally {
        await cp.close();
      }
    });
  });
