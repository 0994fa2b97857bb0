/**
 * The secondary zones' refresher (`start`'s primary process; docs/TRANSFERS.md "Secondary
 * role"): for each zone of kind Slave, the SOA timers of RFC 1035 §4.3.5 — a SOA query to each
 * master in order every `refresh` seconds (every `retry` after a failure), an AXFR when the
 * master's serial is greater (RFC 1982) or the zone was never transferred — and expiry when no
 * check succeeded for `expire` seconds. A NOTIFY from a master (relayed by a DNS worker) or
 * PowerDNS's `axfr-retrieve` checks at once.
 *
 * A master that does not answer (no answer to the SOA query, connection refused or unreachable)
 * is held back, for every zone it serves, beyond the zone's `retry`: the first failure holds it
 * for `retry`, each further one doubles the hold, up to MAX_MASTER_HOLD_S (after BIND's cache of
 * unreachable primaries and Knot's growing retry); while held it is not asked (the next master
 * is), and a zone whose masters are all held is checked again when the first hold ends. A good
 * answer, a NOTIFY from the master's address or `axfr-retrieve` ends the hold.
 *
 * Timers are clamped: refresh to [60 s, 1 day], retry to [30 s, 1 hour] and at most refresh,
 * expire to [1 hour, 30 days] and at least refresh + retry. Transfers run at most
 * `maxActive` at a time (platform) and `maxPerAccount` per account, queued in due order:
 * one slow master holds one slot, nobody else's. Transfers from one master share a persistent,
 * pipelined TCP connection (src/xfr/secondary/connection.ts, the edge's mechanism), not a
 * connection each: at most 4 transfers outstanding per master, the rest waiting their turn
 * (BIND 9 runs a connection's transfers at once and answers SERVFAIL past its transfers-out
 * quota of 10, which pipelined transfers reached at 8 outstanding: its quota is given back a
 * moment after each transfer ends). Everything here is I/O and timers; the
 * transferred text is parsed and checked by the control plane's zone work (a worker thread for
 * big zones), never on this loop in one piece.
 * @module
 */

import { serialGreater } from '../../control/serial.js';
import type { TransferStep } from '../../control/transfer-diff.js';
import type { ControlPlane } from '../../control/types.js';
import { Name } from '../../wire/name.js';
import { type OutboundPolicy, type OutboundTarget, parseOutboundTarget } from '../../xfr/outbound.js';
import {
  DEFAULT_TRANSFER_LIMITS,
  querySoa,
  type SoaTimers,
  type TransferLimits,
  transferZone,
} from '../../xfr/secondary/client.js';
import { TransferConnections } from '../../xfr/secondary/connection.js';
import { recordLine, transferIn, type XfrInResult } from '../../xfr/secondary/ixfr-in.js';
import { makeTsigKey, type TsigKey } from '../../xfr/tsig.js';

/**
 * Zones whose text is bigger than this (characters) are not patched by `patchZoneText` (it
 * parses on the caller's loop): a keeper refuses them, and the refresher transfers them by AXFR.
 */
export const IXFR_MAX_TEXT = 1024 * 1024;

/** No limit of the control plane's API applies to a transferred zone but RFC 2181 §8's TTL. */
const PATCH_LIMITS = { maxTtl: 2 ** 31 - 1, maxRecordsPerRRset: Number.MAX_SAFE_INTEGER };

/**
 * An IXFR's differences applied to a zone's master-file text, for a keeper that holds its
 * zones as text and has no zone-work thread (`serve`'s folder of copies, the tests' in-memory
 * keeper): its `transferInSteps`. The same rule as `start`'s control plane, by the same code
 * (control/transfer-diff.ts `applyTransferSteps` over the text parsed as an imported zone file
 * is): every record a step removes must be held, and no RRset may be left with records of two
 * TTLs; else it throws, and the refresher transfers the zone whole (AXFR). Returns the zone's
 * text after, SOA first (control/records.ts `renderServedText`). Parsed here, on the caller's
 * loop: a text over IXFR_MAX_TEXT is refused. The control modules are loaded on first use
 * (`serve` loads them only for a secondary zone's IXFR).
 */
export async function patchZoneText(
  text: string,
  name: string,
  steps: readonly TransferStep[],
): Promise<string> {
  if (text.length > IXFR_MAX_TEXT)
    throw new Error(`the zone's text is over ${IXFR_MAX_TEXT} characters: not patched here`);
  const [{ parseZonefile }, { applyTransferSteps }, { renderServedText }] = await Promise.all([
    import('../../control/edit.js'),
    import('../../control/transfer-diff.js'),
    import('../../control/records.js'),
  ]);
  const origin = Name.parse(name);
  const content = parseZonefile(text, origin, PATCH_LIMITS).content;
  applyTransferSteps(content, origin, PATCH_LIMITS, steps);
  return renderServedText(content.values());
}

/** Clamped SOA timers, in seconds. */
export interface Timers {
  refresh: number;
  retry: number;
  expire: number;
}

export const TIMER_BOUNDS = {
  refresh: [60, 86_400],
  retry: [30, 3_600],
  expire: [3_600, 30 * 86_400],
} as const;

/** Timers before any SOA was seen (the placeholder's, RFC 1912's suggestions). */
const INITIAL: Timers = { refresh: 3600, retry: 600, expire: 604_800 };

/**
 * The SOA's timers within the bounds stated in the module comment. `lower`: other lower bounds
 * (tests only: `SWITCHBOARD_SECONDARY_MIN_TIMERS=REFRESH,RETRY,EXPIRE` seconds, so that expiry
 * can be seen in seconds).
 */
export function clampTimers(
  t: { refresh: number; retry: number; expire: number },
  lower?: readonly [number, number, number],
): Timers {
  const clamp = (v: number, [lo, hi]: readonly [number, number], low?: number) =>
    Math.min(hi, Math.max(low ?? lo, v));
  const refresh = clamp(t.refresh, TIMER_BOUNDS.refresh, lower?.[0]);
  const retry = Math.min(clamp(t.retry, TIMER_BOUNDS.retry, lower?.[1]), refresh);
  const expire = Math.max(clamp(t.expire, TIMER_BOUNDS.expire, lower?.[2]), refresh + retry);
  return { refresh, retry, expire };
}

/** `SWITCHBOARD_SECONDARY_MIN_TIMERS` (tests): three positive integers, else undefined. */
export function testLowerBounds(text: string | undefined): [number, number, number] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(',').map(Number);
  if (parts.length !== 3 || !parts.every((n) => Number.isInteger(n) && n > 0)) return undefined;
  return [parts[0], parts[1], parts[2]];
}

/** The addresses of masters (`ADDR:PORT`): a NOTIFY's source is checked against them, any port. */
export function masterAddresses(masters: readonly string[]): string[] {
  return masters.flatMap((m) => {
    try {
      return [parseOutboundTarget(m).address];
    } catch {
      return [];
    }
  });
}

/** Transfer connections to one master: how many, and transfers outstanding on each (module comment). */
export const MASTER_CONNECTIONS = { connections: 1, pipeline: 4 } as const;

/** The least time between two checks of one zone that NOTIFY can cause (rate limit). */
export const NOTIFY_MIN_INTERVAL_MS = 2000;

/** The longest an unreachable master is held back (seconds). */
export const MAX_MASTER_HOLD_S = 3600;

/** Whether a failure says the master could not be reached (as opposed to a bad answer). */
export function unreachable(err: unknown): boolean {
  return /no answer from|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET/.test(
    (err as Error)?.message ?? '',
  );
}

/** The hold of a master after `fails` failures in a row (seconds): `retry`, doubled each time, capped. */
export function masterHold(retry: number, fails: number): number {
  return Math.min(MAX_MASTER_HOLD_S, retry * 2 ** Math.min(fails - 1, 20));
}

interface ZoneState {
  name: string;
  origin: Name;
  id: string;
  accountId: string;
  serial: number;
  masters: string[];
  key: TsigKey | undefined;
  keyBroken: boolean;
  /** Most records a transfer may bring (the account's quota left). */
  maxRecords: number;
  /** Ever transferred (else: transfer whatever the serials say). */
  loaded: boolean;
  timers: Timers;
  /** When the next check is due (ms since the epoch). */
  due: number;
  /** Last successful check (ms), for expiry. */
  lastSuccess: number;
  lastNotify: number;
  /** A forced transfer is asked (axfr-retrieve). */
  force: boolean;
  running: boolean;
  /** Asked again while running: check once more after. */
  again: boolean;
  expired: boolean;
}

export interface RefresherStats {
  transfersOk: number;
  transfersFailed: number;
  checksOk: number;
  checksFailed: number;
  zonesExpired: number;
  active: number;
  /** TCP connections opened for transfers (IXFR, AXFR) so far. */
  connections: number;
  /** Refreshes stored from an IXFR answer (of `transfersOk`). */
  ixfr: number;
}

/**
 * What the refresher needs of its zones' keeper: `start`'s control plane, or `serve`'s folder
 * of last good copies (serve/secondaries.ts).
 */
export type RefresherControl = Pick<
  ControlPlane,
  | 'secondaryZones'
  | 'transferIn'
  | 'transferInSteps'
  | 'servedZone'
  | 'recordSecondaryCheck'
  | 'onSecondaryRefresh'
  | 'onShieldChange'
  | 'onZoneChange'
>;

export interface RefresherOptions {
  control: RefresherControl;
  policy: OutboundPolicy;
  log: { info(m: string): void; error(m: string): void };
  maxActive?: number;
  maxPerAccount?: number;
  limits?: Partial<TransferLimits>;
  /** Called when a zone expires or comes back (the DNS workers' SERVFAIL list). */
  onExpiredChange?: (expired: readonly string[]) => void;
  /** Lower timer bounds instead of the stated ones (tests; see `clampTimers`). */
  lowerBounds?: readonly [number, number, number];
  /**
   * Transfers over persistent, pipelined TCP connections to each master (connection.ts; the
   * edge's follower uses the same): connections at most and queries outstanding on each
   * (default 1 × 4: see the module comment); `false`: a connection per transfer.
   */
  connections?: { connections: number; pipeline: number } | false;
}

export class SecondaryRefresher {
  readonly #opts: RefresherOptions;
  readonly #zones = new Map<string, ZoneState>();
  readonly #perAccount = new Map<string, number>();
  readonly #stats: RefresherStats = {
    transfersOk: 0,
    transfersFailed: 0,
    checksOk: 0,
    checksFailed: 0,
    zonesExpired: 0,
    active: 0,
    connections: 0,
    ixfr: 0,
  };
  /** The persistent transfer connections, per master (`ADDR:PORT`). */
  readonly #conns = new Map<string, TransferConnections>();
  /** Connections opened by the sets closed since (stats). */
  #connsClosed = 0;
  /** Unreachable masters (`ADDR:PORT`): failures in a row and when their hold ends (ms). */
  readonly #held = new Map<string, { fails: number; until: number }>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #reloading: Promise<void> | undefined;
  #reloadAgain = false;
  readonly #unsubscribe: Array<() => void> = [];

  constructor(opts: RefresherOptions) {
    this.#opts = opts;
  }

  get stats(): RefresherStats {
    let connections = this.#connsClosed;
    for (const c of this.#conns.values()) connections += c.opened;
    return { ...this.#stats, connections };
  }

  /**
   * How transfers reach `target`: over its persistent connections (opened at the first use),
   * or a connection each when `connections` is false.
   */
  #exchange(target: OutboundTarget): Parameters<typeof transferIn>[5] {
    const opts = this.#opts.connections;
    if (opts === false) return undefined;
    const at = `${target.address}:${target.port}`;
    let conns = this.#conns.get(at);
    if (conns === undefined) {
      conns = new TransferConnections(target, opts ?? MASTER_CONNECTIONS);
      this.#conns.set(at, conns);
    }
    const c = conns;
    return (t, query, limits, onMessage) => c.exchange(t, query, limits, onMessage);
  }

  /** Closes the connections to masters no zone names any more (all of them: `keep` empty). */
  #closeConnections(keep: ReadonlySet<string>): void {
    for (const [at, c] of this.#conns)
      if (!keep.has(at)) {
        this.#connsClosed += c.opened;
        c.close();
        this.#conns.delete(at);
      }
  }

  /** Reads the secondary zones and starts the timers; re-reads on every settings or zone change. */
  async start(): Promise<void> {
    const c = this.#opts.control;
    this.#unsubscribe.push(c.onSecondaryRefresh((zone) => this.retrieve(zone)));
    this.#unsubscribe.push(c.onShieldChange(() => void this.reload()));
    this.#unsubscribe.push(
      c.onZoneChange((ev) => {
        // Settings changes come on the settings channel; a deleted secondary zone here.
        if (ev.deleted && this.#zones.has(ev.zone)) void this.reload();
      }),
    );
    await this.reload();
    this.#timer = setInterval(() => this.#tick(), 1000);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const u of this.#unsubscribe) u();
    this.#closeConnections(new Set());
  }

  /** Re-reads the list of secondary zones (one read at a time; asked again meanwhile: once more). */
  reload(): Promise<void> {
    if (this.#reloading) {
      this.#reloadAgain = true;
      return this.#reloading;
    }
    this.#reloading = this.#reload()
      .catch((err) => this.#opts.log.error(`secondary zones: cannot read them: ${(err as Error).message}`))
      .finally(() => {
        this.#reloading = undefined;
        if (this.#reloadAgain && !this.#closed) {
          this.#reloadAgain = false;
          void this.reload();
        }
      });
    return this.#reloading;
  }

  async #reload(): Promise<void> {
    if (this.#closed) return;
    const list = await this.#opts.control.secondaryZones();
    const seen = new Set<string>();
    const now = Date.now();
    for (const z of list) {
      seen.add(z.name);
      let key: TsigKey | undefined;
      let keyBroken = false;
      if (z.key) {
        try {
          key = makeTsigKey(z.key.name, z.key.algorithm, z.key.secret);
        } catch {
          keyBroken = true;
        }
      }
      const old = this.#zones.get(z.name);
      if (old && old.id === z.id) {
        const mastersChanged = old.masters.join(' ') !== z.masters.join(' ');
        const keyChanged = old.key?.name.key !== key?.name.key;
        old.masters = z.masters;
        old.key = key;
        old.keyBroken = keyBroken;
        old.serial = z.serial;
        old.maxRecords = z.maxRecords;
        if (mastersChanged || keyChanged) old.due = now;
        continue;
      }
      const lastSuccess = z.lastSuccess === null ? now : Date.parse(z.lastSuccess);
      this.#zones.set(z.name, {
        name: z.name,
        origin: Name.parse(z.name),
        id: z.id,
        accountId: z.accountId,
        serial: z.serial,
        masters: z.masters,
        key,
        keyBroken,
        maxRecords: z.maxRecords,
        loaded: z.lastSuccess !== null,
        timers: INITIAL,
        due: now,
        lastSuccess,
        lastNotify: 0,
        force: false,
        running: false,
        again: false,
        expired: false,
      });
    }
    let expiredChanged = false;
    for (const [name, z] of this.#zones)
      if (!seen.has(name)) {
        this.#zones.delete(name);
        if (z.expired) expiredChanged = true;
      }
    if (expiredChanged) this.#expiredChanged();
    const masters = new Set<string>();
    for (const z of this.#zones.values())
      for (const m of z.masters)
        try {
          const t = parseOutboundTarget(m);
          masters.add(`${t.address}:${t.port}`);
        } catch {
          // not a master anyone can reach
        }
    this.#closeConnections(masters);
    this.#tick();
  }

  /** PowerDNS's axfr-retrieve: a transfer now, whatever the serials. */
  retrieve(zone: string): void {
    const z = this.#zones.get(zone);
    if (!z) {
      // Created a moment ago: the list is read again, then it is due anyway.
      void this.reload();
      return;
    }
    z.force = true;
    for (const m of z.masters) this.#held.delete(m);
    this.#askNow(z);
  }

  /**
   * A NOTIFY for `zone` from `address` (already checked by the DNS worker against the zone's
   * masters and key): a check now, at most once per NOTIFY_MIN_INTERVAL_MS per zone. Returns
   * false when the zone is not a secondary zone here or `address` is not one of its masters.
   */
  notify(zone: string, address: string, serial?: number): boolean {
    const z = this.#zones.get(zone);
    if (!z) return false;
    if (!this.isMaster(zone, address)) return false;
    const now = Date.now();
    if (serial !== undefined)
      void this.#opts.control.recordSecondaryCheck(z.id, { notifiedSerial: serial }).catch(() => {});
    if (now - z.lastNotify < NOTIFY_MIN_INTERVAL_MS) {
      z.due = Math.min(z.due, z.lastNotify + NOTIFY_MIN_INTERVAL_MS);
      return true;
    }
    z.lastNotify = now;
    // The master is up again: its hold ends.
    for (const m of z.masters) if (masterAddresses([m])[0] === plainAddress(address)) this.#held.delete(m);
    this.#askNow(z);
    return true;
  }

  /** Whether `address` is one of the zone's masters (any port). */
  isMaster(zone: string, address: string): boolean {
    const z = this.#zones.get(zone);
    if (!z) return false;
    const a = address.startsWith('::ffff:') ? address.slice(7) : address;
    return z.masters.some((m) => {
      try {
        return parseOutboundTarget(m).address === a;
      } catch {
        return false;
      }
    });
  }

  /** The secondary zones' names with their masters' addresses and keys (the DNS workers' NOTIFY check). */
  notifySettings(): Array<{ zone: string; masters: string[]; key: string | null }> {
    return [...this.#zones.values()].map((z) => ({
      zone: z.name,
      masters: masterAddresses(z.masters),
      key: z.key ? z.key.name.toString() : null,
    }));
  }

  /** Names of the zones expired now. */
  expired(): string[] {
    return [...this.#zones.values()].filter((z) => z.expired).map((z) => z.name);
  }

  #askNow(z: ZoneState): void {
    if (z.running) z.again = true;
    else z.due = Date.now();
    this.#tick();
  }

  #tick(): void {
    if (this.#closed) return;
    const now = Date.now();
    let expiredChanged = false;
    for (const z of this.#zones.values()) {
      // Expiry (RFC 1035 §4.3.5): no successful check for `expire` seconds.
      const expired = z.loaded && now - z.lastSuccess > z.timers.expire * 1000;
      if (expired !== z.expired) {
        z.expired = expired;
        expiredChanged = true;
        if (expired)
          this.#opts.log.error(
            `secondary zone ${z.name}: expired (no successful refresh for ${z.timers.expire} s): answered SERVFAIL`,
          );
      }
    }
    if (expiredChanged) this.#expiredChanged();
    const maxActive = this.#opts.maxActive ?? 8;
    const maxPer = this.#opts.maxPerAccount ?? 2;
    const due = [...this.#zones.values()]
      .filter((z) => !z.running && z.due <= now)
      .sort((a, b) => a.due - b.due);
    for (const z of due) {
      if (this.#stats.active >= maxActive) break;
      if ((this.#perAccount.get(z.accountId) ?? 0) >= maxPer) continue;
      this.#run(z);
    }
  }

  #expiredChanged(): void {
    const list = this.expired();
    this.#stats.zonesExpired = list.length;
    this.#opts.onExpiredChange?.(list);
  }

  #run(z: ZoneState): void {
    z.running = true;
    z.again = false;
    this.#stats.active++;
    this.#perAccount.set(z.accountId, (this.#perAccount.get(z.accountId) ?? 0) + 1);
    const force = z.force;
    z.force = false;
    this.#check(z, force)
      .catch((err) => this.#opts.log.error(`secondary zone ${z.name}: ${(err as Error).message}`))
      .finally(() => {
        z.running = false;
        this.#stats.active--;
        this.#perAccount.set(z.accountId, (this.#perAccount.get(z.accountId) ?? 1) - 1);
        if (z.again) z.due = Date.now();
        this.#tick();
      });
  }

  /** One refresh: each master in order until one answers (and transfers, when needed). */
  async #check(z: ZoneState, force: boolean): Promise<void> {
    const errors: string[] = [];
    if (z.keyBroken) errors.push('its TSIG key cannot be used');
    /** The earliest end of a hold that kept a master from being asked (ms). */
    let heldUntil: number | undefined;
    for (const m of z.keyBroken ? [] : z.masters) {
      const held = this.#held.get(m);
      if (held !== undefined && !force && held.until > Date.now()) {
        errors.push(`${m}: unreachable, not asked again before ${new Date(held.until).toISOString()}`);
        heldUntil = Math.min(heldUntil ?? held.until, held.until);
        continue;
      }
      let target: ReturnType<OutboundPolicy['check']>;
      try {
        // The policy again: the operator may have closed a prefix since the zone was set up.
        target = this.#opts.policy.check(m);
      } catch (err) {
        errors.push(`${m}: ${(err as Error).message}`);
        continue;
      }
      try {
        let soa: SoaTimers | undefined;
        if (!force && z.loaded) {
          soa = await querySoa(target, z.origin, z.key);
          this.#held.delete(m);
          if (!serialGreater(soa.serial, z.serial)) {
            // Current (or the master is behind: RFC 1982 says keep ours).
            z.timers = clampTimers(soa, this.#opts.lowerBounds);
            this.#held.delete(m);
            this.#succeeded(z);
            this.#stats.checksOk++;
            await this.#opts.control.recordSecondaryCheck(z.id, { ok: true, masterUsed: m });
            return;
          }
        }
        const limits = { ...DEFAULT_TRANSFER_LIMITS, ...this.#opts.limits };
        // The account's record quota bounds the transfer itself.
        limits.maxRecords = Math.min(limits.maxRecords, z.maxRecords);
        // IXFR first (RFC 1995) when we hold the zone: a difference, or the whole zone in AXFR
        // form; anything that does not apply (or fails) falls back to AXFR below.
        if (soa !== undefined && (await this.#ixfr(z, target, m, limits))) return;
        const t0 = performance.now();
        const got = await transferZone(target, z.origin, z.key, limits, this.#exchange(target));
        const t1 = performance.now();
        const result = await this.#opts.control.transferIn(
          z.id,
          z.name,
          got.text,
          `AXFR from ${m}: serial ${got.serial}, ${got.records} records`,
        );
        z.serial = Number(result.serial);
        z.loaded = true;
        z.timers = clampTimers(got.timers, this.#opts.lowerBounds);
        this.#held.delete(m);
        this.#succeeded(z);
        this.#stats.transfersOk++;
        this.#opts.log.info(
          `secondary zone ${z.name}: AXFR from ${m}: serial ${got.serial}, ${got.records} records, ${got.bytes} octets in ${Math.round(t1 - t0)} ms, stored in ${Math.round(performance.now() - t1)} ms${result.changed ? '' : ' (no change)'}`,
        );
        await this.#opts.control.recordSecondaryCheck(z.id, { ok: true, masterUsed: m });
        return;
      } catch (err) {
        errors.push(`${m}: ${(err as Error).message}`);
        if (unreachable(err)) {
          const was = this.#held.get(m);
          // Checks of other zones that ran at the same time count as one failure.
          if (was === undefined || was.until <= Date.now()) {
            const fails = (was?.fails ?? 0) + 1;
            const hold = masterHold(z.timers.retry, fails);
            this.#held.set(m, { fails, until: Date.now() + hold * 1000 });
            this.#opts.log.info(
              `secondary master ${m}: unreachable (${fails} in a row): held back ${hold} s`,
            );
          }
          const until = this.#held.get(m)?.until ?? 0;
          heldUntil = Math.min(heldUntil ?? until, until);
        }
      }
    }
    this.#stats.transfersFailed++;
    // Again after `retry`, or when the first hold of its masters ends if that is later.
    z.due = Math.max(Date.now() + z.timers.retry * 1000, heldUntil ?? 0);
    const error = errors.join('; ') || 'no masters';
    this.#opts.log.error(`secondary zone ${z.name}: refresh failed: ${error}`);
    await this.#opts.control
      .recordSecondaryCheck(z.id, { ok: false, error: error.slice(0, 1000) })
      .catch(() => {});
  }

  /**
   * IXFR in: true when it brought the zone up to date (stored, or found current). A difference
   * goes to the keeper as it is (`transferInSteps`: `start`'s control plane applies it to the
   * stored content in its zone-work thread, whatever the zone's size; `serve`'s folder with
   * `patchZoneText`, by the same rule); the whole zone in AXFR form as a transfer's text. A
   * keeper without `transferInSteps`, a difference it refuses, or a failure: AXFR follows.
   */
  async #ixfr(z: ZoneState, target: OutboundTarget, m: string, limits: TransferLimits): Promise<boolean> {
    const t0 = performance.now();
    let got: XfrInResult;
    try {
      got = await transferIn(target, z.origin, z.key, z.serial, limits, this.#exchange(target));
    } catch (err) {
      this.#opts.log.info(
        `secondary zone ${z.name}: IXFR from ${m} failed (${(err as Error).message}); AXFR`,
      );
      return false;
    }
    if (got.kind === 'current') return false; // the SOA said newer: let AXFR settle it
    if (got.kind === 'full') {
      const text = `${got.records.map(recordLine).join('\n')}\n`;
      const what = `IXFR (whole zone) from ${m}: serial ${got.serial}, ${got.records.length} records`;
      const t1 = performance.now();
      const result = await this.#opts.control.transferIn(z.id, z.name, text, what);
      this.#ixfrDone(z, got, what, result, t0, t1);
      await this.#opts.control.recordSecondaryCheck(z.id, { ok: true, masterUsed: m });
      return true;
    }
    if (this.#opts.control.transferInSteps === undefined) return false;
    const what = `IXFR from ${m}: serial ${z.serial} → ${got.serial}, ${got.steps.length} differences`;
    const steps = got.steps.map((st) => ({
      removed: `${st.removed.map(recordLine).join('\n')}\n`,
      added: `${st.added.map(recordLine).join('\n')}\n`,
    }));
    const t1 = performance.now();
    let result: Awaited<ReturnType<RefresherControl['transferIn']>>;
    try {
      result = await this.#opts.control.transferInSteps(z.id, z.name, steps, what);
    } catch (err) {
      this.#opts.log.info(
        `secondary zone ${z.name}: IXFR from ${m} not stored (${(err as Error).message}); AXFR`,
      );
      return false;
    }
    this.#ixfrDone(z, got, what, result, t0, t1);
    await this.#opts.control.recordSecondaryCheck(z.id, { ok: true, masterUsed: m });
    return true;
  }

  /** An IXFR stored: the zone's state and the log line. */
  #ixfrDone(
    z: ZoneState,
    got: XfrInResult,
    what: string,
    result: { serial: number | string; changed: boolean },
    t0: number,
    t1: number,
  ): void {
    z.serial = Number(result.serial);
    z.loaded = true;
    z.timers = clampTimers(got.timers, this.#opts.lowerBounds);
    this.#succeeded(z);
    this.#stats.transfersOk++;
    this.#stats.ixfr++;
    this.#opts.log.info(
      `secondary zone ${z.name}: ${what}, ${got.bytes} octets in ${Math.round(t1 - t0)} ms, stored in ${Math.round(performance.now() - t1)} ms${result.changed ? '' : ' (no change)'}`,
    );
  }

  #succeeded(z: ZoneState): void {
    z.lastSuccess = Date.now();
    z.due = z.lastSuccess + z.timers.refresh * 1000;
    if (z.expired) {
      z.expired = false;
      this.#expiredChanged();
    }
  }
}

function plainAddress(a: string): string {
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}
