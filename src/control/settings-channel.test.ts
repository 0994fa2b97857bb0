/**
 * The one zone-settings channel (docs/TRANSFERS.md, "The settings channel"): a transfer
 * settings change is heard as kind `transfer` naming its zone, a shield change as `shield`
 * (through `onShieldChange` too), a NOTIFY request as `notify` in its own replica only; with
 * PostgreSQL a second replica hears `transfer` and `shield` changes, and the payload of a replica
 * of before the channel (`{"shield": true}`) is read as both.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { postgresSkipReason, startPostgres } from '../../test/helpers/postgres.js';
import { openControlPlane } from './index.js';
import type { ControlPlane, ZoneSettingsChange } from './types.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'sb-settings-'));
  dirs.push(d);
  return d;
};

/** The next change heard by `cp` that `match` takes. */
function next(cp: ControlPlane, match: (c: ZoneSettingsChange) => boolean): Promise<ZoneSettingsChange> {
  return new Promise((resolve) => {
    const off = cp.onSettingsChange((c) => {
      if (!match(c)) return;
      off();
      resolve(c);
    });
  });
}

describe('zone settings channel (SQLite: this replica)', () => {
  test('transfer, notify and shield changes carry their kind', async () => {
    const cp = await openControlPlane({ dataDir: tempDir() });
    try {
      const admin = cp.systemPrincipal();
      await cp.createZone(admin, { name: 'chan.test', nameservers: ['ns1.example.net.'] });
      const heard: ZoneSettingsChange[] = [];
      let shield = 0;
      cp.onSettingsChange((c) => heard.push(c));
      cp.onShieldChange(() => shield++);
      await cp.setZoneTransfer(admin, 'chan.test', { allowAxfrFrom: ['192.0.2.0/24'] });
      await cp.notifyZone(admin, 'chan.test');
      await cp.setZoneShield(admin, 'chan.test', { budgetFloor: 3 });
      assert.deepEqual(
        heard.map((c) => c.kinds),
        [['transfer'], ['notify'], ['shield']],
      );
      assert.equal(heard[1].zone, 'chan.test.');
      assert.equal(shield, 1);
    } finally {
      await cp.close();
    }
  });
});

describe('zone settings channel (PostgreSQL: another replica)', { skip: postgresSkipReason() }, () => {
  test('a second replica hears transfer and shield changes with their kind, not NOTIFY requests', async () => {
    const db = await startPostgres();
    const dataDir = tempDir();
    const first = await openControlPlane({ dataDir, database: db.url });
    const second = await openControlPlane({ dataDir, database: db.url });
    try {
      const admin = first.systemPrincipal();
      await first.createZone(admin, { name: 'pg.test', nameservers: ['ns1.example.net.'] });
      const notifies: ZoneSettingsChange[] = [];
      second.onSettingsChange((c) => {
        if (c.kinds.includes('notify')) notifies.push(c);
      });
      const transfer = next(second, (c) => c.kinds.includes('transfer'));
      await first.setZoneTransfer(admin, 'pg.test', { allowAxfrFrom: ['192.0.2.0/24'] });
      assert.deepEqual(await transfer, { zone: 'pg.test.', kinds: ['transfer'] });
      const shield = next(second, (c) => c.kinds.includes('shield'));
      await first.setZoneShield(admin, 'pg.test', { budgetFloor: 3 });
      assert.deepEqual(await shield, { zone: 'pg.test.', kinds: ['shield'] });
      await first.notifyZone(admin, 'pg.test');
      // A later announced change arrives after where a NOTIFY request would have.
      const again = next(second, (c) => c.kinds.includes('transfer'));
      await first.setZoneTransfer(admin, 'pg.test', { allowAxfrFrom: [] });
      await again;
      assert.deepEqual(notifies, []);
    } finally {
      await second.close();
      await first.close();
      await db.stop();
    }
  });
});
