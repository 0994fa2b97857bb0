/**
 * `switchboard start` reads the zones' transfer and shield settings and the secondary zones from
 * the store asynchronously at start. A DNS worker must not serve before it holds them: greeted
 * before the reads were done, it bound its sockets with empty lists (catalog zones answered
 * instead of REFUSED, TSIG keys unknown, NOTIFYs to secondary zones refused) and the platform
 * said it had started. Here the transfer settings' table is held locked (PostgreSQL) while the
 * platform starts: no answer other than REFUSED may come for the fleet catalog while the read
 * waits, and after the lock is released the platform starts and refuses it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { RRType } from '../../src/wire/constants.js';
import { findFreePort } from '../helpers/peers.js';
import { type Platform, queryPlatform, startPlatform } from '../helpers/platform.js';
import { postgresSkipReason, startPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait-for.js';

const FLEET = 'catalog.switchboard.invalid.';
const RCODE_REFUSED = 5;
/** How long DNS is watched while the read waits (the workers bind within ~1 s on a quiet machine). */
const WATCH_MS = 8000;

describe('start: workers serve only once the settings are read', { skip: postgresSkipReason() }, () => {
  test('the transfer settings held by a lock: the fleet catalog never answered, REFUSED once started', async (t) => {
    const db = await startPostgres();
    // The database is dropped (WITH FORCE) last: the sessions' ends are not failures.
    const locker = new pg.Client({ connectionString: db.url });
    const watcher = new pg.Client({ connectionString: db.url });
    locker.on('error', () => undefined);
    watcher.on('error', () => undefined);
    let platform: Platform | undefined;
    let locked = false;
    const release = async (): Promise<void> => {
      if (!locked) return;
      locked = false;
      await locker.query('ROLLBACK');
    };
    t.after(async () => {
      await platform?.stop();
      await release().catch(() => undefined);
      await locker.end().catch(() => undefined);
      await watcher.end().catch(() => undefined);
      await db.stop();
    });
    // A first start makes the schema; stopped before the lock is taken.
    const first = await startPlatform({ database: db.url, workers: 1 });
    await first.stop();

    await locker.connect();
    await watcher.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE zone_transfer IN ACCESS EXCLUSIVE MODE');
    locked = true;

    const dnsPort = await findFreePort();
    const starting = startPlatform({ database: db.url, workers: 2, dnsPort, timeoutMs: 120_000 });
    let startError = '';
    starting.then(
      (p) => {
        platform = p;
      },
      (err: Error) => {
        startError = err.message;
      },
    );
    // The primary's read of the transfer settings waits for the lock.
    let activity = '';
    await waitFor(
      'the transfer settings read waiting for the lock',
      async () => {
        // Another session: within the locker's transaction pg_stat_activity stays its first snapshot.
        const r = await watcher.query(
          'SELECT wait_event_type, query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        activity = JSON.stringify(r.rows).slice(0, 2000);
        return r.rows.some(
          (row: { wait_event_type: string | null; query: string }) =>
            row.wait_event_type === 'Lock' && /zone_transfer/.test(row.query),
        );
      },
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; the database's sessions: ${activity}; the start: ${startError}`);
    });
    // Meanwhile the workers start: any answer they give the fleet catalog must be REFUSED.
    const seen: number[] = [];
    const until = performance.now() + WATCH_MS;
    while (performance.now() < until) {
      const r = await queryPlatform(dnsPort, FLEET, RRType.SOA).catch(() => undefined);
      if (r !== undefined) seen.push(r.rcode);
    }
    const wrong = seen.filter((rc) => rc !== RCODE_REFUSED);
    assert.equal(
      wrong.length,
      0,
      `${wrong.length} of ${seen.length} answers for ${FLEET} while the settings were unread were not REFUSED (rcodes ${[...new Set(wrong)].join(', ')})`,
    );

    await release();
    platform = await starting;
    const r = await queryPlatform(platform.dnsPort, FLEET, RRType.SOA);
    assert.equal(r.rcode, RCODE_REFUSED, `the fleet catalog once started: rcode ${r.rcode}`);
  });
});
