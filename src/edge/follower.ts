/**
 * The edge's follower (docs/EDGE.md): follows the fleet catalog (RFC 9432 v2) of one primary
 * and every member zone it lists, with the edge's key, and keeps them in the edge's store.
 *
 * - One timer per zone (a 250 ms tick for all): a check asks the primary the zone's SOA (UDP,
 *   TCP when truncated, signed, the answer's TSIG checked); a newer serial (RFC 1982), or a zone
 *   never transferred, brings an IXFR (AXFR for a zone not held; a difference that does not
 *   apply to what is held falls back to AXFR). Success: the next check after the SOA refresh;
 *   failure: after its retry (both clamped, `clampTimers`).
 * - NOTIFY (relayed by the DNS workers once checked: from the primary's address, signed with
 *   the edge key) makes a zone's check due now.
 * - The catalog's members are reconciled after each change of the catalog: new members are
 *   transferred, members gone are dropped, members whose ID changed are dropped and
 *   transferred anew (src/xfr/catz/consume.ts).
 * - Each write is one store transaction; the changed zones' texts are handed to `publish` in
 *   batches (the edge compiles and ships them to the DNS workers).
 * - Staleness: a zone whose last successful check is older than `maxStaleMs` is `stale` — the
 *   DNS workers answer it SERVFAIL until a check succeeds again (`onStale`, the whole list).
 * @module
 */
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { diffCatalog, parseCatalog } from '../xfr/catz/consume.js';
import type { OutboundTarget } from '../xfr/outbound.js';
import {
  DEFAULT_TRANSFER_LIMITS,
  EDGE_NOTIFY_OPTION,
  querySoa,
  type SoaTimers,
  TransferError,
  type TransferLimits,
} from '../xfr/secondary/client.js';
import { TransferConnections } from '../xfr/secondary/connection.js';
import { type IxfrStep, serialAfter, transferIn } from '../xfr/secondary/ixfr-in.js';
import type { TsigKey } from '../xfr/tsig.js';
import { parseZoneText } from '../zone/parser.js';
import { DiffMismatchError, type EdgeStore, recordLine } from './store.js';
import { EDGE_TRACE, traceLine } from './trace.js';

/** The default fleet catalog's name (what `start` produces). */
export const DEFAULT_FLEET_CATALOG = 'catalog.switchboard.invalid.';

/**
 * A zone change for the DNS workers: its new text, or null when no longer served (with
 * `diffsOnly`, a change by IXFR has `steps` and `from` and an empty text: not read).
 */
export interface EdgeZoneChange {
  name: string;
  version: number;
  serial: number;
  text: string | null;
  /** The IXFR differences that made this version (absent: transferred whole, or dropped). */
  steps?: IxfrStep[];
  /** With `steps`: the version they apply to (the zone's image is patched from it). */
  from?: number;
}

/** Minimal logger (server/shared/log.ts's Logger fits). */
export interface EdgeLog {
  info(text: string): void;
  warn(text: string): void;
  error(text: string): void;
}

/** Floors of the SOA timers, in seconds: refresh, retry (`SWITCHBOARD_EDGE_MIN_TIMERS=R,R` in tests). */
export interface TimerFloors {
  refresh: number;
  retry: number;
}

export const DEFAULT_TIMER_FLOORS: TimerFloors = { refresh: 60, retry: 10 };

/** The environment variable lowering the timer floors (tests only). */
export const EDGE_MIN_TIMERS_ENV = 'SWITCHBOARD_EDGE_MIN_TIMERS';

/** Reads `SWITCHBOARD_EDGE_MIN_TIMERS=REFRESH,RETRY` (seconds), else the defaults. */
export function timerFloorsFromEnv(env: NodeJS.ProcessEnv = process.env): TimerFloors {
  const v = env[EDGE_MIN_TIMERS_ENV];
  if (!v) return DEFAULT_TIMER_FLOORS;
  const [r, t] = v.split(',').map((x) => Number(x));
  if (!(r > 0) || !(t > 0)) return DEFAULT_TIMER_FLOORS;
  return { refresh: r, retry: t };
}

/** Refresh within [floor, 1 day], retry within [floor, 1 h] and at most refresh (seconds). */
export function clampTimers(t: { refresh: number; retry: number }, floors: TimerFloors): TimerFloors {
  const refresh = Math.min(Math.max(t.refresh, floors.refresh), 86_400);
  const retry = Math.min(Math.max(t.retry, floors.retry), 3600, refresh);
  return { refresh, retry };
}

export interface EdgeFollowerOptions {
  store: EdgeStore;
  primary: OutboundTarget;
  key: TsigKey;
  catalog: Name;
  /** Past this long without a successful check a zone is answered SERVFAIL. */
  maxStaleMs: number;
  publish: (changes: EdgeZoneChange[]) => void;
  onStale: (zones: string[]) => void;
  /** A successful check of the catalog (the edge's contact with its primary), ms since the epoch. */
  onContact?: (at: number) => void;
  log: EdgeLog;
  floors?: TimerFloors;
  /** Checks and transfers at once (default 16). */
  concurrency?: number;
  limits?: TransferLimits;
  /**
   * `ADDR:PORT` where the primary may NOTIFY this edge, sent in every SOA check (signed):
   * `start` learns its edges' NOTIFY addresses so (docs/EDGE.md).
   */
  notifyAddress?: string;
  /** SOA query timeout (ms; default 3000). */
  queryTimeoutMs?: number;
  /**
   * Transfers over persistent, pipelined TCP connections to the primary (connection.ts):
   * connections at most and queries outstanding on each (default 4 × 8); `false`: a connection
   * per transfer.
   */
  connections?: { connections: number; pipeline: number } | false;
  /**
   * A zone changed by IXFR is published with its steps and `from` and an empty text (its
   * image is patched by the difference; the reader of the publication reads the store's text
   * itself if it needs it): the zone's whole text is not read from the store per change.
   */
  diffsOnly?: boolean;
}

interface ZoneState {
  name: string;
  origin: Name;
  memberId: string;
  catalog: boolean;
  /** Data held in the store (served unless stale). */
  held: boolean;
  serial: number;
  refresh: number;
  retry: number;
  lastSuccess: number;
  nextAt: number;
  busy: boolean;
  /** A NOTIFY came while a check ran: check again after it. */
  again: boolean;
  /** Not followed any more (removed from the catalog while its check ran). */
  gone: boolean;
  failures: number;
  lastError?: string;
  /** The serial a NOTIFY carried (RFC 1996 §3.7), newer than ours: the check goes straight to IXFR. */
  hint?: number;
}

/** Counts for logs, metrics and tests. */
export interface FollowerStats {
  checks: number;
  current: number;
  axfr: number;
  ixfr: number;
  ixfrFallbacks: number;
  failures: number;
  notifies: number;
  /** Checks that went straight to IXFR on a NOTIFY's serial (no SOA query). */
  hinted: number;
}

/** A zone's text for the compile threads: its record lines. */
function textOf(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

const TICK_MS = 250;
/** How often the timers and staleness of every zone are scanned (ms). */
const SCAN_MS = 1000;
/** Changes are handed over at most this often (ms): a catalog of many new members compiles in batches. */
const PUBLISH_DELAY_MS = 20;
/**
 * Members transferred whole are stored in batches (one transaction, one commit, for many zones:
 * a commit per zone was most of a catalog sync's CPU): at most this many zones a batch, written
 * at most this long (ms) after the first of them arrived.
 */
const WRITE_BATCH = 500;
const WRITE_DELAY_MS = 20;

/** A member's whole transfer waiting for its batch's transaction. */
interface PendingWrite {
  z: ZoneState;
  memberId: string;
  records: RR[];
  lines: string[];
  timers: SoaTimers;
}

export class EdgeFollower {
  readonly #o: EdgeFollowerOptions;
  readonly #floors: TimerFloors;
  readonly #zones = new Map<string, ZoneState>();
  readonly #catalogKey: string;
  #running = 0;
  #timer: NodeJS.Timeout | undefined;
  #pending: EdgeZoneChange[] = [];
  #flush: NodeJS.Timeout | NodeJS.Immediate | undefined;
  #stale = new Set<string>();
  #closed = false;
  /** Whole transfers of members not stored yet (`#flushWrites`), and its timer. */
  #writes: PendingWrite[] = [];
  #writeTimer: NodeJS.Timeout | undefined;
  /** Members added by the catalog and not transferred yet; when the catalog changed them. */
  #syncing = 0;
  #syncSince = 0;
  /** Checks due now, in order (new members, NOTIFYs, timers found due by the scan). */
  readonly #ready = new Set<ZoneState>();
  #lastScan = 0;
  /**
   * No zone's timer is due and none goes stale before this (ms since the epoch; a lower bound,
   * lowered whenever a timer is set): the scan skips its pass over every zone until then.
   */
  #nextScan = 0;
  /** A `#drain` is queued for the next turn. */
  #drainQueued = false;
  readonly stats: FollowerStats = {
    checks: 0,
    current: 0,
    axfr: 0,
    ixfr: 0,
    ixfrFallbacks: 0,
    failures: 0,
    notifies: 0,
    hinted: 0,
  };

  /** The persistent transfer connections (none: one connection per transfer). */
  readonly #conns: TransferConnections | undefined;
  readonly #exchange: Parameters<typeof transferIn>[5];

  /** The EDNS options of the SOA checks (the NOTIFY address), or none. */
  readonly #options: { code: number; data: Uint8Array }[] | undefined;

  constructor(opts: EdgeFollowerOptions) {
    this.#o = opts;
    this.#options = opts.notifyAddress
      ? [{ code: EDGE_NOTIFY_OPTION, data: new Uint8Array(Buffer.from(opts.notifyAddress, 'utf8')) }]
      : undefined;
    this.#floors = opts.floors ?? DEFAULT_TIMER_FLOORS;
    this.#catalogKey = opts.catalog.toString().toLowerCase();
    if (opts.connections !== false) {
      const conns = new TransferConnections(opts.primary, opts.connections ?? {});
      this.#conns = conns;
      this.#exchange = (target, query, limits, onMessage) => conns.exchange(target, query, limits, onMessage);
    }
  }

  /** Zones held and served (the catalog not counted). */
  served(): { name: string; serial: number; memberId: string; lastSuccess: number }[] {
    return [...this.#zones.values()]
      .filter((z) => z.held && !z.catalog)
      .map((z) => ({ name: z.name, serial: z.serial, memberId: z.memberId, lastSuccess: z.lastSuccess }));
  }

  /** Every zone followed, held or not (for tests and logs). */
  zoneState(name: string): Readonly<ZoneState> | undefined {
    return this.#zones.get(name.toLowerCase());
  }

  /** The stale zones now. */
  stale(): string[] {
    return [...this.#stale];
  }

  /**
   * Loads the store's zones (their checks due at once: the edge catches up after a restart)
   * and the members of the stored catalog, then runs.
   */
  start(now = Date.now()): void {
    for (const row of this.#o.store.zones()) {
      const catalog = row.name === this.#catalogKey;
      if (row.catalog && !catalog) {
        // A catalog followed before under another name: no longer.
        this.#o.store.drop(row.name);
        continue;
      }
      const t = clampTimers(row, this.#floors);
      this.#zones.set(row.name, {
        name: row.name,
        origin: Name.parse(row.name),
        memberId: row.memberId,
        catalog,
        held: true,
        serial: row.serial,
        refresh: t.refresh,
        retry: t.retry,
        lastSuccess: row.lastSuccess,
        nextAt: 0,
        busy: false,
        again: false,
        gone: false,
        failures: 0,
      });
    }
    if (!this.#zones.has(this.#catalogKey)) this.#addPending(this.#catalogKey, '', true, now);
    else this.#reconcile(now);
    this.#updateStale(now);
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#tick();
  }

  close(): void {
    // What was transferred is stored before the store closes (else transferred again at start).
    this.#flushWrites();
    this.#closed = true;
    this.#conns?.close();
    if (this.#timer) clearInterval(this.#timer);
    if (this.#flush) {
      clearTimeout(this.#flush as NodeJS.Timeout);
      clearImmediate(this.#flush as NodeJS.Immediate);
    }
  }

  /**
   * A NOTIFY for `zone` (checked by a DNS worker: from the primary, signed with the edge key):
   * its check is due now. `serial`, the serial in the NOTIFY's answer section when it had one:
   * newer than ours, the check skips its SOA query and asks IXFR at once (the IXFR's answer
   * says whether we are current all the same).
   */
  notify(zone: string, serial?: number): boolean {
    const z = this.#zones.get(zone.toLowerCase());
    if (!z) return false;
    this.stats.notifies++;
    if (
      serial !== undefined &&
      z.held &&
      serialAfter(serial, z.serial) &&
      (z.hint === undefined || serialAfter(serial, z.hint))
    )
      z.hint = serial;
    if (EDGE_TRACE) this.#o.log.info(traceLine('edge-notify', z.name, z.serial));
    if (z.busy) z.again = true;
    else this.#due(z);
    this.#drain();
    return true;
  }

  /** `z`'s check is due now: queued (a zone in the queue twice runs once). */
  #due(z: ZoneState): void {
    z.nextAt = 0;
    this.#ready.add(z);
  }

  /** Runs queued checks up to the concurrency limit: O(1) per check started. */
  #drain(): void {
    if (this.#closed) return;
    const limit = this.#o.concurrency ?? 16;
    const cat = this.#zones.get(this.#catalogKey);
    // The catalog first: members follow from it.
    if (cat && this.#ready.has(cat) && !cat.busy && this.#running < limit) {
      this.#ready.delete(cat);
      this.#run(cat);
    }
    for (const z of this.#ready) {
      if (this.#running >= limit) break;
      this.#ready.delete(z);
      if (z.busy || z.gone) continue;
      this.#run(z);
    }
  }

  #addPending(name: string, memberId: string, catalog: boolean, now: number): ZoneState {
    const z: ZoneState = {
      name,
      origin: Name.parse(name),
      memberId,
      catalog,
      held: false,
      serial: 0,
      refresh: this.#floors.refresh,
      retry: this.#floors.retry,
      lastSuccess: now,
      nextAt: 0,
      busy: false,
      again: false,
      gone: false,
      failures: 0,
    };
    this.#zones.set(name, z);
    this.#ready.add(z);
    return z;
  }

  /**
   * The timer: every TICK_MS the queue is drained; once a second every zone whose timer is due
   * joins the queue and staleness is recomputed (one pass over the zones a second, not one per
   * check: a catalog sync of 100,000 zones would otherwise walk them 100,000 times).
   */
  #tick(): void {
    if (this.#closed) return;
    const now = Date.now();
    if (now - this.#lastScan >= SCAN_MS && now >= this.#nextScan) {
      this.#lastScan = now;
      let next = Number.POSITIVE_INFINITY;
      for (const z of this.#zones.values())
        if (!z.busy && z.nextAt <= now) this.#ready.add(z);
        else if (!z.busy && z.nextAt < next) next = z.nextAt;
      this.#nextScan = Math.min(next, this.#updateStale(now));
    }
    this.#drain();
  }

  /** A timer set to `at`: the scan looks again by then. */
  #timerAt(at: number): void {
    if (at < this.#nextScan) this.#nextScan = at;
  }

  /** Recomputes the stale set; returns when the next zone goes stale (a lower bound). */
  #updateStale(now: number): number {
    const stale = new Set<string>();
    let next = Number.POSITIVE_INFINITY;
    for (const z of this.#zones.values())
      if (z.held && !z.catalog)
        if (now - z.lastSuccess > this.#o.maxStaleMs) stale.add(z.name);
        else if (z.lastSuccess + this.#o.maxStaleMs < next) next = z.lastSuccess + this.#o.maxStaleMs;
    this.#updateStaleSet(stale);
    return next;
  }

  #updateStaleSet(stale: Set<string>): void {
    if (stale.size === this.#stale.size && [...stale].every((n) => this.#stale.has(n))) return;
    const added = [...stale].filter((n) => !this.#stale.has(n));
    if (added.length > 0)
      this.#o.log.warn(
        `${added.length} zones past --max-stale without a successful check: answered SERVFAIL (${added.slice(0, 5).join(', ')}${added.length > 5 ? ', …' : ''})`,
      );
    this.#stale = stale;
    this.#o.onStale([...stale]);
  }

  #run(z: ZoneState): void {
    z.busy = true;
    this.#running++;
    this.stats.checks++;
    void this.#check(z)
      .then(
        () => {
          z.failures = 0;
          z.lastError = undefined;
          z.nextAt = Date.now() + z.refresh * 1000;
          this.#timerAt(z.nextAt);
        },
        (err: unknown) => {
          this.stats.failures++;
          z.failures++;
          const why = (err as Error).message;
          if (z.failures === 1 || why !== z.lastError)
            this.#o.log.warn(`zone ${z.name}: check failed (retry in ${z.retry} s): ${why}`);
          z.lastError = why;
          z.nextAt = Date.now() + z.retry * 1000;
          this.#timerAt(z.nextAt);
          if (z.held && !z.gone) {
            try {
              this.#flushWrites();
              this.#o.store.checked(z.name, false);
            } catch {
              // the store is closing
            }
          }
        },
      )
      .finally(() => {
        z.busy = false;
        this.#running--;
        if (z.again) {
          z.again = false;
          this.#due(z);
        }
        if (!this.#closed && !this.#drainQueued) {
          // One drain for every check that ended in this turn.
          this.#drainQueued = true;
          setImmediate(() => {
            this.#drainQueued = false;
            this.#drain();
          });
        }
      });
  }

  async #check(z: ZoneState): Promise<void> {
    const { primary, key } = this.#o;
    // Every store call below (after the awaits) goes through `#store`: the pending batch first.
    const store = {
      checked: (name: string, ok: boolean) => this.#store().checked(name, ok),
      applyDiff: (...a: Parameters<EdgeStore['applyDiff']>) => this.#store().applyDiff(...a),
      text: (name: string) => this.#store().text(name),
      zone: (name: string) => this.#store().zone(name),
    };
    const limits = this.#o.limits ?? DEFAULT_TRANSFER_LIMITS;
    if (z.held) {
      let soa: SoaTimers | undefined;
      const hint = z.hint;
      z.hint = undefined;
      if (hint !== undefined && serialAfter(hint, z.serial)) {
        // The NOTIFY said a newer serial: no SOA query (one round trip less); the IXFR's answer
        // is the check (a hint that was wrong: `current`).
        this.stats.hinted++;
      } else {
        try {
          soa = await querySoa(primary, z.origin, key, this.#o.queryTimeoutMs ?? 3000, this.#options);
        } catch (err) {
          // A primary that refuses plain queries for the zone (Knot for a catalog it generates)
          // is asked by IXFR instead, whose answer says whether we are current.
          if (!(err instanceof TransferError) || !/the master answered/.test(err.message)) throw err;
        }
        if (z.gone || this.#closed) return;
        if (EDGE_TRACE) this.#o.log.info(traceLine('edge-soa', z.name, soa?.serial ?? '-'));
      }
      if (soa !== undefined && !serialAfter(soa.serial, z.serial)) {
        // Current (or the primary is behind us: left alone, as RFC 1982 secondaries do).
        this.stats.current++;
        this.#succeeded(z, soa);
        store.checked(z.name, true);
        return;
      }
      const r = await transferIn(primary, z.origin, key, z.serial, limits, this.#exchange);
      if (z.gone || this.#closed) return;
      if (EDGE_TRACE)
        this.#o.log.info(traceLine('edge-xfr', z.name, r.kind === 'current' ? '-' : r.serial, r.kind));
      if (r.kind === 'current') {
        this.stats.current++;
        this.#succeeded(z, r.timers);
        store.checked(z.name, true);
        return;
      }
      if (r.kind === 'incremental') {
        try {
          const from = store.zone(z.name)?.version;
          const version = store.applyDiff(z.name, r.steps, r.timers);
          if (EDGE_TRACE) this.#o.log.info(traceLine('edge-stored', z.name, r.serial));
          this.stats.ixfr++;
          this.#o.log.info(
            `zone ${z.name}: serial ${z.serial} → ${r.serial} by IXFR (${r.steps.length} difference${r.steps.length === 1 ? '' : 's'}, ${r.steps.reduce((n, s) => n + s.removed.length + s.added.length, 0)} records)`,
          );
          this.#succeeded(z, r.timers);
          // With `diffsOnly` the text is not read: the image is patched by the difference.
          const text = this.#o.diffsOnly && from !== undefined ? '' : (store.text(z.name) ?? '');
          this.#changed(z, version, text, r.steps, from);
          return;
        } catch (err) {
          if (!(err instanceof DiffMismatchError)) throw err;
          this.stats.ixfrFallbacks++;
          this.#o.log.warn(`zone ${z.name}: IXFR does not apply (${err.message}); transferring it whole`);
        }
      } else {
        this.#write(z, r.records, r.timers);
        return;
      }
    }
    // The catalog not held yet: its SOA first all the same (the check carries the NOTIFY address:
    // a new edge announces itself at once), then AXFR. Members go straight to AXFR.
    if (!z.held && z.catalog) {
      await querySoa(primary, z.origin, key, this.#o.queryTimeoutMs ?? 3000, this.#options).catch(() => {
        // the AXFR says what is wrong, if anything
      });
      if (z.gone || this.#closed) return;
    }
    const r = await transferIn(primary, z.origin, key, undefined, limits, this.#exchange);
    if (z.gone || this.#closed) return;
    if (r.kind !== 'full') throw new Error('AXFR answered in another form');
    if (EDGE_TRACE) this.#o.log.info(traceLine('edge-xfr', z.name, r.serial, 'axfr'));
    this.#write(z, r.records, r.timers);
  }

  /**
   * A whole zone transferred: stored and published (the catalog: reconciled). A member not held
   * yet (a catalog sync) joins the next batch (`#flushWrites`: one transaction for many zones);
   * a zone held is replaced at once, after the pending batch.
   */
  #write(z: ZoneState, records: RR[], timers: SoaTimers): void {
    this.stats.axfr++;
    if (z.catalog) {
      // Checked before it replaces the stored catalog: a broken one changes nothing.
      const parsed = parseCatalog(z.origin, records);
      if (!parsed.ok) throw new Error(`catalog ${z.name} not taken: ${parsed.why}`);
    }
    const lines = z.catalog ? [] : records.map(recordLine);
    if (!z.held && !z.catalog) {
      this.#succeeded(z, timers);
      this.#writes.push({ z, memberId: z.memberId, records, lines, timers });
      if (this.#writes.length >= WRITE_BATCH) this.#flushWrites();
      else this.#writeTimer ??= setTimeout(() => this.#flushWrites(), WRITE_DELAY_MS);
      return;
    }
    const [version] = this.#store().replaceMany([
      {
        name: z.name,
        memberId: z.memberId,
        soa: timers,
        records,
        catalog: z.catalog,
        ...(z.catalog ? {} : { lines }),
      },
    ]);
    if (EDGE_TRACE) this.#o.log.info(traceLine('edge-stored', z.name, timers.serial));
    this.#succeeded(z, timers);
    z.held = true;
    this.#changed(z, version, z.catalog ? '' : textOf(lines), undefined, undefined, records);
  }

  /** The store, once the pending batch of whole transfers is written (the order of events kept). */
  #store(): EdgeStore {
    if (this.#writes.length > 0) this.#flushWrites();
    return this.#o.store;
  }

  /**
   * Stores the pending whole transfers of new members in one transaction, then publishes them.
   * A batch that cannot be written leaves its zones not held: each is transferred again after
   * its retry.
   */
  #flushWrites(): void {
    if (this.#writeTimer) clearTimeout(this.#writeTimer);
    this.#writeTimer = undefined;
    const list = this.#writes;
    if (list.length === 0 || this.#closed) return;
    this.#writes = [];
    let versions: number[];
    try {
      versions = this.#o.store.replaceMany(
        list.map((w) => ({
          name: w.z.name,
          memberId: w.memberId,
          soa: w.timers,
          records: w.records,
          lines: w.lines,
        })),
      );
    } catch (err) {
      this.#o.log.error(`${list.length} transferred zones not stored: ${(err as Error).message}`);
      const at = Date.now();
      for (const { z } of list) {
        this.stats.failures++;
        z.failures++;
        z.nextAt = at + z.retry * 1000;
        this.#timerAt(z.nextAt);
      }
      return;
    }
    for (let i = 0; i < list.length; i++) {
      const { z, lines } = list[i];
      if (!z.held && this.#syncing > 0 && --this.#syncing === 0)
        this.#o.log.info(
          `catalog sync: every new member transferred and stored in ${Math.round(performance.now() - this.#syncSince)} ms (${this.served().length + 1} zones held)`,
        );
      z.held = true;
      this.#changed(z, versions[i], textOf(lines));
    }
  }

  #succeeded(z: ZoneState, timers: SoaTimers): void {
    const t = clampTimers(timers, this.#floors);
    z.refresh = t.refresh;
    z.retry = t.retry;
    z.serial = timers.serial;
    z.lastSuccess = Date.now();
    // A stale zone answered again: the next tick says so; else it goes stale after this.
    this.#timerAt(this.#stale.has(z.name) ? 0 : z.lastSuccess + this.#o.maxStaleMs);
    if (z.catalog) this.#o.onContact?.(z.lastSuccess);
  }

  /** The catalog's last successful check (ms since the epoch; 0: never). */
  contactAt(): number {
    return this.#zones.get(this.#catalogKey)?.lastSuccess ?? 0;
  }

  /**
   * `records`: the catalog's whole, when transferred so (not read back from the store); `from`:
   * the version the IXFR steps apply to.
   */
  #changed(
    z: ZoneState,
    version: number,
    text: string,
    steps?: IxfrStep[],
    from?: number,
    records?: RR[],
  ): void {
    if (z.catalog) {
      this.#reconcile(Date.now(), records);
      return;
    }
    this.#queue({
      name: z.name,
      version,
      serial: z.serial,
      text,
      ...(steps ? { steps } : {}),
      ...(steps && from !== undefined ? { from } : {}),
    });
  }

  #queue(c: EdgeZoneChange): void {
    this.#pending.push(c);
    if (this.#flush !== undefined) return;
    const flush = () => {
      this.#flush = undefined;
      const list = this.#pending;
      this.#pending = [];
      if (list.length > 0 && !this.#closed) this.#o.publish(list);
    };
    // A change outside a catalog sync (NOTIFY → IXFR: one zone) goes out on the next turn of the
    // loop; during a sync the changes gather for PUBLISH_DELAY_MS into fewer, bigger batches.
    this.#flush = this.#syncing > 0 ? setTimeout(flush, PUBLISH_DELAY_MS) : setImmediate(flush);
  }

  /** Members from the stored catalog: added, dropped, reset. */
  #reconcile(now: number, given?: RR[]): void {
    let records: RR[];
    if (given) records = given;
    else {
      const text = this.#store().text(this.#catalogKey);
      if (text === undefined) return;
      try {
        records = parseZoneText(text, { origin: this.#o.catalog });
      } catch (err) {
        this.#o.log.error(`catalog ${this.#catalogKey} as stored cannot be read: ${(err as Error).message}`);
        return;
      }
    }
    const have = new Map<string, string>();
    for (const z of this.#zones.values()) if (!z.catalog) have.set(z.origin.key, z.memberId);
    const parsed = parseCatalog(this.#o.catalog, records, have);
    if (!parsed.ok) {
      this.#o.log.error(`catalog ${this.#catalogKey} not taken: ${parsed.why}`);
      return;
    }
    for (const why of parsed.ignored.slice(0, 10)) this.#o.log.warn(`catalog ${this.#catalogKey}: ${why}`);
    const byKey = new Map<string, ZoneState>();
    for (const z of this.#zones.values()) if (!z.catalog) byKey.set(z.origin.key, z);
    const diff = diffCatalog(have, parsed.members);
    for (const k of diff.removed) {
      const z = byKey.get(k);
      if (z) this.#drop(z);
    }
    for (const m of diff.reset) {
      const z = byKey.get(m.zone.key);
      if (z) this.#drop(z);
      this.#addPending(m.zone.toString().toLowerCase(), m.id, false, now);
    }
    for (const m of diff.added) this.#addPending(m.zone.toString().toLowerCase(), m.id, false, now);
    const fresh = diff.added.length + diff.reset.length;
    if (fresh > 0) {
      if (this.#syncing === 0) this.#syncSince = performance.now();
      this.#syncing += fresh;
    }
    if (diff.added.length + diff.removed.length + diff.reset.length > 0)
      this.#o.log.info(
        `catalog ${this.#catalogKey}: ${parsed.members.length} members (${diff.added.length} new, ${diff.removed.length} removed, ${diff.reset.length} with a new ID)`,
      );
  }

  #drop(z: ZoneState): void {
    z.gone = true;
    if (this.#stale.has(z.name)) this.#timerAt(0);
    if (!z.held && !z.catalog && this.#syncing > 0) this.#syncing--;
    this.#zones.delete(z.name);
    const version = this.#store().drop(z.name);
    if (version > 0) this.#queue({ name: z.name, version, serial: z.serial, text: null });
  }
}
