/**
 * The edge's state (`switchboard edge --state DIR`): one SQLite file, `DIR/edge.sqlite`, in WAL
 * mode with `synchronous = NORMAL` (a power loss may roll back the last commits, never tear
 * one: the zones go back to a whole earlier version, re-checked at start), holding every zone it follows (the catalog included): its
 * member ID, serial, SOA timers, last check and last success, and its records, one row per
 * record. A transfer or a difference is written in one transaction: a crash (SIGKILL, power)
 * mid-write leaves the zone as it was before, never half-applied; a difference whose removals
 * are not all there rolls back whole (the caller then transfers the zone whole).
 *
 * One file for 100,000 zones: the records table is keyed by (zone, record key), `WITHOUT
 * ROWID`, so a zone's records are contiguous and read in one range scan.
 * @module
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { RR } from '../wire/message.js';
import {
  DEFAULT_JOURNAL_TOTAL_BYTES,
  DEFAULT_JOURNAL_VERSIONS,
  DEFAULT_JOURNAL_ZONE_BYTES,
  type JournalLimits,
  type WireJournalEntry,
} from '../xfr/journal.js';
import { type IxfrStep, recordLine } from '../xfr/secondary/ixfr-in.js';
import { entryOfStep } from './journal.js';

/** A zone as the store holds it (without its records). */
export interface EdgeZoneRow {
  name: string;
  /** The catalog's member ID ('' for the catalog itself). */
  memberId: string;
  serial: number;
  /** Set on every write from one sequence over all zones: the version the DNS workers are given. */
  version: number;
  refresh: number;
  retry: number;
  expire: number;
  /** Milliseconds since the epoch (0: never). */
  lastCheck: number;
  lastSuccess: number;
  /** 1: the catalog zone (followed, not served). */
  catalog: boolean;
}

interface DbZoneRow {
  id: number;
  name: string;
  member_id: string;
  serial: number;
  version: number;
  refresh: number;
  retry: number;
  expire: number;
  last_check: number;
  last_success: number;
  is_catalog: number;
}

/** A record's identity for differences: owner (folded), type, RDATA (not the TTL). */
export function recordKey(rr: RR): Buffer {
  const owner = Buffer.from(rr.name.key, 'latin1');
  const out = Buffer.allocUnsafe(owner.length + 2 + rr.rdata.length);
  owner.copy(out, 0);
  out.writeUInt16BE(rr.type, owner.length);
  out.set(rr.rdata, owner.length + 2);
  return out;
}

export { recordLine };

/** The timers and serial a write records. */
export interface ZoneSoa {
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
}

/** One difference sequence to apply: an IXFR step (without its serials: not journaled, the history starts over). */
export type DiffStep = Pick<IxfrStep, 'removed' | 'added'> & Partial<Pick<IxfrStep, 'from' | 'to'>>;

/** One zone of `replaceMany`: its records, and their lines when the caller made them already. */
export interface ZoneReplace {
  name: string;
  memberId: string;
  soa: ZoneSoa;
  records: readonly RR[];
  /** `recordLine` of each record, in order (made here when absent). */
  lines?: readonly string[];
  catalog?: boolean;
}

/** A difference could not be applied (a removal not there): nothing was written. */
export class DiffMismatchError extends Error {}

export class EdgeStore {
  readonly #db: BetterSqlite3.Database;
  /** Statements compiled once (better-sqlite3 compiles on every `prepare`: a 100,000-zone sync made ~600,000). */
  readonly #statements = new Map<string, BetterSqlite3.Statement>();
  readonly path: string;
  readonly #limits: Required<JournalLimits>;
  /** Octets of the stored journal (kept in step with the table: read once at open). */
  #journalBytes = 0;

  /** `journal`: the bounds of the stored IXFR journal (those of the in-memory one by default). */
  constructor(dir: string, journal: JournalLimits = {}) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, 'edge.sqlite');
    this.#db = new BetterSqlite3(this.path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS zones (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        member_id TEXT NOT NULL,
        serial INTEGER NOT NULL,
        version INTEGER NOT NULL,
        refresh INTEGER NOT NULL,
        retry INTEGER NOT NULL,
        expire INTEGER NOT NULL,
        last_check INTEGER NOT NULL,
        last_success INTEGER NOT NULL,
        is_catalog INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS records (
        zone_id INTEGER NOT NULL,
        rkey BLOB NOT NULL,
        line TEXT NOT NULL,
        PRIMARY KEY (zone_id, rkey)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS journal (
        seq INTEGER PRIMARY KEY,
        zone_id INTEGER NOT NULL,
        from_serial INTEGER NOT NULL,
        to_serial INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        entry TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS journal_zone ON journal (zone_id, seq);
    `);
    this.#limits = {
      maxVersions: journal.maxVersions ?? DEFAULT_JOURNAL_VERSIONS,
      maxZoneBytes: journal.maxZoneBytes ?? DEFAULT_JOURNAL_ZONE_BYTES,
      maxTotalBytes: journal.maxTotalBytes ?? DEFAULT_JOURNAL_TOTAL_BYTES,
    };
    this.#journalBytes =
      (this.#stmt('SELECT coalesce(sum(bytes), 0) FROM journal').pluck().get() as number) ?? 0;
  }

  /** Octets (record wire size) of the stored journal, all zones. */
  get journalBytes(): number {
    return this.#journalBytes;
  }

  /**
   * The stored journal, oldest first (one order over every zone: the order it was written in):
   * what the edge's IXFR journal starts from after a restart (docs/EDGE.md "An edge as a primary").
   */
  *journal(): Generator<[string, WireJournalEntry]> {
    const rows = this.#stmt(
      'SELECT zones.name AS name, journal.entry AS entry FROM journal JOIN zones ON zones.id = journal.zone_id ORDER BY journal.seq',
    ).iterate() as IterableIterator<{ name: string; entry: string }>;
    for (const r of rows) yield [r.name, JSON.parse(r.entry) as WireJournalEntry];
  }

  /** A zone's stored journal entries, oldest first (tests). */
  journalOf(name: string): WireJournalEntry[] {
    return (
      this.#stmt(
        'SELECT entry FROM journal WHERE zone_id = (SELECT id FROM zones WHERE name = ?) ORDER BY seq',
      )
        .pluck()
        .all(name) as string[]
    ).map((e) => JSON.parse(e) as WireJournalEntry);
  }

  /** Forgets a zone's journal (inside a transaction); returns the octets removed. */
  #clearJournal(zoneId: number): number {
    const bytes = this.#stmt('SELECT sum(bytes) FROM journal WHERE zone_id = ?').pluck().get(zoneId) as
      | number
      | null;
    if (bytes === null) return 0;
    this.#stmt('DELETE FROM journal WHERE zone_id = ?').run(zoneId);
    return bytes;
  }

  /**
   * Appends the journal entries of IXFR `steps` to a zone's journal (inside applyDiff's
   * transaction), under the rules of the in-memory journal (src/xfr/journal.ts): a step that is
   * not a difference sequence, one too big, or one that does not follow the last entry starts
   * the zone's history over; the oldest entries go beyond the versions and octets per zone.
   * Returns the change of the stored octets.
   */
  #journalSteps(zoneId: number, steps: readonly DiffStep[]): number {
    const { maxVersions, maxZoneBytes } = this.#limits;
    let delta = 0;
    const entries: WireJournalEntry[] = [];
    for (const step of steps) {
      const e = step.from === undefined || step.to === undefined ? undefined : entryOfStep(step as IxfrStep);
      if (e === undefined || e.bytes > maxZoneBytes || maxVersions < 1) return -this.#clearJournal(zoneId);
      entries.push(e);
    }
    if (entries.length === 0) return -this.#clearJournal(zoneId);
    const last = this.#stmt('SELECT to_serial FROM journal WHERE zone_id = ? ORDER BY seq DESC LIMIT 1')
      .pluck()
      .get(zoneId) as number | undefined;
    if (last !== undefined && last !== entries[0].from) delta -= this.#clearJournal(zoneId);
    const ins = this.#stmt(
      'INSERT INTO journal (zone_id, from_serial, to_serial, bytes, entry) VALUES (?, ?, ?, ?, ?)',
    );
    for (const e of entries) {
      ins.run(zoneId, e.from, e.to, e.bytes, JSON.stringify(e));
      delta += e.bytes;
    }
    // The per-zone bounds: the oldest entries go.
    const rows = this.#stmt('SELECT seq, bytes FROM journal WHERE zone_id = ? ORDER BY seq').all(zoneId) as {
      seq: number;
      bytes: number;
    }[];
    let count = rows.length;
    let bytes = rows.reduce((n, r) => n + r.bytes, 0);
    const del = this.#stmt('DELETE FROM journal WHERE seq = ?');
    for (const r of rows) {
      if (count <= maxVersions && bytes <= maxZoneBytes) break;
      del.run(r.seq);
      count--;
      bytes -= r.bytes;
      delta -= r.bytes;
    }
    return delta;
  }

  /**
   * Past the octets in all (the stored count and `pending`, this transaction's change so far):
   * whole journals of the zones changed least recently go, not `keep`'s. Returns the change.
   */
  #trimJournal(keep: number, pending: number): number {
    let delta = pending;
    if (this.#journalBytes + delta <= this.#limits.maxTotalBytes) return 0;
    const zones = this.#stmt(
      'SELECT zone_id, sum(bytes) AS bytes FROM journal GROUP BY zone_id ORDER BY max(seq)',
    ).all() as { zone_id: number; bytes: number }[];
    for (const z of zones) {
      if (this.#journalBytes + delta <= this.#limits.maxTotalBytes) break;
      if (z.zone_id === keep) continue;
      delta -= this.#clearJournal(z.zone_id);
    }
    return delta - pending;
  }

  /** Versions are one sequence over every zone: a zone dropped and added again goes forward. */
  #nextVersion(): number {
    const next = this.#version() + 1;
    this.#setVersion(next);
    return next;
  }

  /** The last version given (0: none yet). */
  #version(): number {
    const row = this.#stmt("SELECT value FROM meta WHERE key = 'version'").pluck().get() as
      | string
      | undefined;
    return row === undefined ? 0 : Number(row);
  }

  #setVersion(v: number): void {
    this.#stmt("INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)").run(String(v));
  }

  close(): void {
    this.#db.close();
  }

  #row(r: DbZoneRow): EdgeZoneRow {
    return {
      name: r.name,
      memberId: r.member_id,
      serial: r.serial,
      version: r.version,
      refresh: r.refresh,
      retry: r.retry,
      expire: r.expire,
      lastCheck: r.last_check,
      lastSuccess: r.last_success,
      catalog: r.is_catalog === 1,
    };
  }

  /** Every zone held (the catalog included). */
  zones(): EdgeZoneRow[] {
    return (this.#stmt('SELECT * FROM zones ORDER BY name').all() as DbZoneRow[]).map((r) => this.#row(r));
  }

  zone(name: string): EdgeZoneRow | undefined {
    const r = this.#stmt('SELECT * FROM zones WHERE name = ?').get(name) as DbZoneRow | undefined;
    return r ? this.#row(r) : undefined;
  }

  /** The zone's records as master-file text (one line each), or undefined when not held. */
  text(name: string): string | undefined {
    const z = this.#stmt('SELECT id FROM zones WHERE name = ?').get(name) as { id: number } | undefined;
    if (!z) return undefined;
    const lines = this.#stmt('SELECT line FROM records WHERE zone_id = ?').pluck().all(z.id) as string[];
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }

  /** Count of records of a zone. */
  recordCount(name: string): number {
    return this.#stmt('SELECT count(*) FROM records WHERE zone_id = (SELECT id FROM zones WHERE name = ?)')
      .pluck()
      .get(name) as number;
  }

  /** The statement for `sql`, compiled on first use. */
  #stmt(sql: string): BetterSqlite3.Statement {
    let st = this.#statements.get(sql);
    if (st === undefined) {
      st = this.#db.prepare(sql);
      this.#statements.set(sql, st);
    }
    return st;
  }

  /**
   * Replaces a zone's records whole (a transfer in AXFR form), in one transaction; creates the
   * zone when new. Returns the new version.
   */
  replace(
    name: string,
    memberId: string,
    soa: ZoneSoa,
    records: readonly RR[],
    catalog = false,
    now = Date.now(),
  ): number {
    return this.replaceMany([{ name, memberId, soa, records, catalog }], now)[0];
  }

  /**
   * Replaces several zones whole in ONE transaction (a catalog sync's transfers, batched: one
   * commit for many zones instead of one each). Each zone is whole in it, so a crash leaves
   * every zone of the batch as it was before (a new member: not held, transferred again).
   * Returns the new versions, in order.
   */
  replaceMany(zones: readonly ZoneReplace[], now = Date.now()): number[] {
    const tx = this.#db.transaction(() => {
      const versions: number[] = [];
      let version = this.#version();
      // A zone transferred whole starts its history over (its journal cleared).
      let delta = 0;
      const find = this.#stmt('SELECT id FROM zones WHERE name = ?');
      const clear = this.#stmt('DELETE FROM records WHERE zone_id = ?');
      // One row per name: created, or its fields replaced.
      const upsert = this.#stmt(
        `INSERT INTO zones (name, member_id, serial, version, refresh, retry, expire, last_check, last_success, is_catalog)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET member_id = excluded.member_id, serial = excluded.serial,
           version = excluded.version, refresh = excluded.refresh, retry = excluded.retry,
           expire = excluded.expire, last_check = excluded.last_check,
           last_success = excluded.last_success, is_catalog = excluded.is_catalog
         RETURNING id`,
      );
      const ins = this.#stmt('INSERT OR REPLACE INTO records (zone_id, rkey, line) VALUES (?, ?, ?)');
      for (const z of zones) {
        const have = find.get(z.name) as { id: number } | undefined;
        version++;
        if (have) {
          clear.run(have.id);
          delta -= this.#clearJournal(have.id);
        }
        const { soa } = z;
        const id = (
          upsert.get(
            z.name,
            z.memberId,
            soa.serial,
            version,
            soa.refresh,
            soa.retry,
            soa.expire,
            now,
            now,
            z.catalog ? 1 : 0,
          ) as { id: number }
        ).id;
        const { records, lines } = z;
        for (let i = 0; i < records.length; i++)
          ins.run(id, recordKey(records[i]), lines?.[i] ?? recordLine(records[i]));
        versions.push(version);
      }
      this.#setVersion(version);
      return { versions, delta };
    });
    const r = tx.immediate();
    this.#journalBytes += r.delta;
    return r.versions;
  }

  /**
   * Applies IXFR differences in order, in one transaction. Every removal must be there (else
   * DiffMismatchError and nothing written). Returns the new version.
   */
  applyDiff(name: string, steps: readonly DiffStep[], soa: ZoneSoa, now = Date.now()): number {
    const tx = this.#db.transaction(() => {
      const have = this.#stmt('SELECT id, version FROM zones WHERE name = ?').get(name) as
        | { id: number; version: number }
        | undefined;
      if (!have) throw new DiffMismatchError(`zone ${name} is not held`);
      const del = this.#stmt('DELETE FROM records WHERE zone_id = ? AND rkey = ?');
      const ins = this.#stmt('INSERT OR REPLACE INTO records (zone_id, rkey, line) VALUES (?, ?, ?)');
      for (const step of steps) {
        for (const rr of step.removed)
          if (del.run(have.id, recordKey(rr)).changes !== 1)
            throw new DiffMismatchError(`${recordLine(rr)}: removed by the difference but not held`);
        for (const rr of step.added) ins.run(have.id, recordKey(rr), recordLine(rr));
      }
      const version = this.#nextVersion();
      this.#stmt(
        'UPDATE zones SET serial = ?, version = ?, refresh = ?, retry = ?, expire = ?, last_check = ?, last_success = ? WHERE id = ?',
      ).run(soa.serial, version, soa.refresh, soa.retry, soa.expire, now, now, have.id);
      // The differences join the zone's journal in this transaction: a crash keeps both or neither.
      const added = this.#journalSteps(have.id, steps);
      return { version, delta: added + this.#trimJournal(have.id, added) };
    });
    // Counted once committed (a difference that does not apply rolls back, counts nothing).
    const r = tx.immediate();
    this.#journalBytes += r.delta;
    return r.version;
  }

  /** A check that found the zone current (`ok`) or failed. */
  checked(name: string, ok: boolean, now = Date.now()): void {
    if (ok)
      this.#stmt('UPDATE zones SET last_check = ?, last_success = ? WHERE name = ?').run(now, now, name);
    else this.#stmt('UPDATE zones SET last_check = ? WHERE name = ?').run(now, name);
  }

  /** Drops a zone and its records (one transaction); the version of the removal, or 0 when not held. */
  drop(name: string): number {
    const tx = this.#db.transaction(() => {
      const have = this.#stmt('SELECT id FROM zones WHERE name = ?').get(name) as { id: number } | undefined;
      if (!have) return { version: 0, delta: 0 };
      this.#stmt('DELETE FROM records WHERE zone_id = ?').run(have.id);
      const delta = -this.#clearJournal(have.id);
      this.#stmt('DELETE FROM zones WHERE id = ?').run(have.id);
      return { version: this.#nextVersion(), delta };
    });
    const r = tx.immediate();
    this.#journalBytes += r.delta;
    return r.version;
  }
}
