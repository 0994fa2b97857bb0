/**
 * What the parts of the control plane share: the store, the options and limits, the change
 * events, the write transaction, the audit helper and the checks every operation makes.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { isUniqueViolation, type Repo, type Store, type ZoneRow } from '../store/index.js';
import type { Name } from '../wire/name.js';
import { canSeeZone, SYSTEM_PRINCIPAL, zoneNotFound } from './access.js';
import type { EditLimits } from './edit.js';
import type { ChangeEvents } from './events.js';
import { DEFAULT_MAX_TTL, parseZoneName } from './records.js';
import {
  type ChangeOptions,
  ControlError,
  type ControlPlaneOptions,
  type Principal,
  type ServedZone,
} from './types.js';

/** The account zones go to when an administrator creates one without naming an account. */
export const DEFAULT_ACCOUNT = 'default';

const DEFAULTS = {
  maxTtl: DEFAULT_MAX_TTL,
  maxRecordsPerRRset: 1000,
  defaultMaxZones: 1000,
  defaultMaxRecords: 100000,
  maxRecordsPerRequest: 200000,
};
export const INT32_MAX = 2147483647;
/** Big zones whose served text is kept after a change (see rememberServed). */
const SERVED_CACHE = 8;

/** The limits in force: the operator's, or the defaults. */
export type PlaneLimits = EditLimits & {
  defaultMaxZones: number;
  defaultMaxRecords: number;
  maxRecordsPerRequest: number;
};

export function invalid(message: string, field?: string): ControlError {
  return new ControlError('CTL_ERR_VALIDATION', message, field);
}

export function now(): string {
  return new Date().toISOString();
}

/** Checks a short free-text name (account, user, token). */
export function checkLabel(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.trim().length === 0) throw invalid(`${field} is required`, field);
  if (v.length > 200) throw invalid(`${field} is longer than 200 characters`, field);
  return v;
}

export function checkIfMatch(opts: ChangeOptions | undefined, zone: ZoneRow): void {
  const want = opts?.ifMatch;
  if (want === undefined || want === null) return;
  if (want !== zone.version)
    throw new ControlError(
      'CTL_ERR_PRECONDITION',
      `zone ${zone.name} is at version ${zone.version}, not ${want}: reload it and apply the change again`,
    );
}

/**
 * The account a listing covers: an administrator's choice (undefined = every account); for
 * anyone else their own account — asking for another is NOT_FOUND (its existence is not
 * revealed) — or null when the token belongs to no account (nothing to list).
 */
export function listedAccount(p: Principal, requested: string | undefined): string | undefined | null {
  if (p.scope.admin) return requested;
  if (requested !== undefined && requested !== p.accountId)
    throw new ControlError('CTL_ERR_NOT_FOUND', `account ${requested} not found`, 'accountId');
  return p.accountId;
}

/** The state and helpers shared by the parts of one control plane. */
export class PlaneContext {
  readonly store: Store;
  readonly opts: ControlPlaneOptions;
  readonly limits: PlaneLimits;
  readonly events: ChangeEvents;
  readonly #tokenNames = new Map<string, string | null>();
  /** Served text of big zones as last changed here, by zone id (see rememberServed). */
  readonly #served = new Map<string, ServedZone>();
  #closed = false;

  constructor(store: Store, opts: ControlPlaneOptions, events: ChangeEvents) {
    this.store = store;
    this.opts = opts;
    this.events = events;
    const l = opts.limits ?? {};
    this.limits = {
      maxTtl: Math.min(l.maxTtl ?? DEFAULTS.maxTtl, INT32_MAX),
      maxRecordsPerRRset: l.maxRecordsPerRRset ?? DEFAULTS.maxRecordsPerRRset,
      defaultMaxZones: l.defaultMaxZones ?? DEFAULTS.defaultMaxZones,
      defaultMaxRecords: l.defaultMaxRecords ?? DEFAULTS.defaultMaxRecords,
      maxRecordsPerRequest: l.maxRecordsPerRequest ?? DEFAULTS.maxRecordsPerRequest,
    };
  }

  /**
   * Keeps the served text of a big zone's new version (rendered in the zone-work thread), so
   * that publishing it does not read and render every row on the request loop.
   */
  rememberServed(zone: ServedZone | undefined, zoneId: string): void {
    this.#served.delete(zoneId);
    if (!zone) return;
    this.#served.set(zoneId, zone);
    while (this.#served.size > SERVED_CACHE) {
      const oldest = this.#served.keys().next().value;
      if (oldest === undefined) break;
      this.#served.delete(oldest);
    }
  }

  /** The served zone kept for zone `zoneId` if it is that version. */
  servedAt(zoneId: string, version: number): ServedZone | undefined {
    const z = this.#served.get(zoneId);
    return z && z.version === version ? z : undefined;
  }

  /** Marks the plane closed: every later operation throws. False when it already was. */
  markClosed(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    return true;
  }

  /** A write transaction; unique violations (a name taken meanwhile) become CONFLICT. */
  async write<T>(fn: (repo: Repo) => Promise<T>): Promise<T> {
    this.checkOpen();
    try {
      return await this.store.transaction(fn);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ControlError('CTL_ERR_CONFLICT', 'the name is already taken');
      throw err;
    }
  }

  checkOpen(): void {
    if (this.#closed) throw new Error('the control plane is closed');
  }

  async audit(
    repo: Repo,
    p: Principal,
    action: string,
    target: string,
    accountId: string | null,
    detail?: unknown,
  ): Promise<void> {
    await repo.insertAudit({
      id: randomUUID(),
      at: now(),
      token_id: p.tokenId,
      account_id: accountId,
      action,
      target,
      remote: p.remote ?? null,
      detail: detail === undefined ? null : JSON.stringify(detail),
    });
  }

  async actorName(repo: Repo, p: Principal): Promise<string | null> {
    if (p.tokenId === SYSTEM_PRINCIPAL.tokenId) return null;
    const cached = this.#tokenNames.get(p.tokenId);
    if (cached !== undefined) return cached;
    const t = await repo.getToken(p.tokenId);
    const name = t?.name ?? null;
    if (t) this.#tokenNames.set(p.tokenId, name);
    return name;
  }

  /** Parses a zone name given to an operation on an existing zone (bad names: not found). */
  zoneName(name: unknown): Name {
    try {
      return parseZoneName(name, 'name');
    } catch {
      throw zoneNotFound(String(name));
    }
  }

  /** The zone, if `p` may see it; NOT_FOUND otherwise (other tenants' zones included). */
  async visibleZone(repo: Repo, p: Principal, name: string, lock = false): Promise<ZoneRow> {
    const zone = await repo.getZoneByName(name, lock);
    if (!zone || !canSeeZone(p, zone.name, zone.account_id)) throw zoneNotFound(name);
    return zone;
  }
}
