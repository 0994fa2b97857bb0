/**
 * The data folder is private (issue 6 item 4): created 0700, the SQLite database and its WAL
 * and shared-memory files 0600, whatever the umask.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore, SQLITE_FILE } from './index.js';

test('the data folder is 0700 and the database, WAL and shm files 0600', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'sb-perm-'));
  const old = process.umask(0o022);
  try {
    const dir = join(parent, 'data');
    const store = await openStore({ dataDir: dir });
    // A write makes sure the WAL and shm files exist.
    await store.transaction(async (repo) =>
      repo.insertAccount({ id: 'a', name: 'a', max_zones: 1, max_records: 1, created_at: 'now' }),
    );
    const mode = (p: string) => statSync(p).mode & 0o777;
    assert.equal(mode(dir), 0o700);
    const db = join(dir, SQLITE_FILE);
    for (const f of [db, `${db}-wal`, `${db}-shm`]) assert.equal(mode(f), 0o600, f);
    await store.close();
  } finally {
    process.umask(old);
    rmSync(parent, { recursive: true, force: true });
  }
});
