/**
 * A zone's own shield settings through the control plane (docs/SHIELD.md "Per-zone
 * settings"): what `--shield-zone NAME:min-nx=…,budget=…,responses=…,metrics=on` sets for a
 * process, stored with the zone (table `zone_shield`, migration 9) and checked with the flag's
 * rules (src/shield/config.ts ZONE_NUMBERS) and caps: at most 1,024 zones platform-wide, 100 of
 * them in the metrics — less the zones the process flags already set, so the workers' merged
 * table never passes the bound. Not content: no version, no serial bump.
 *
 * Who may set what: an administrator any valid value; a tenant's token with write access only
 * the fields the operator opened (`ShieldPolicy.tenant`, `start --shield-tenant`), each up to
 * the operator's value, never a rate of 0 (no limit), and never over settings an
 * administrator wrote (a tenant cannot undo the operator's pin). Another account's zone is
 * NOT_FOUND, as everywhere.
 * @module
 */
import {
  DEFAULT_TENANT_METRICS_ZONES,
  DEFAULT_TENANT_SHIELD_ZONES,
  MAX_METRICS_ZONES,
  MAX_SHIELD_ZONES,
  ZONE_NUMBERS,
} from '../shield/config.js';
import type { Repo } from '../store/index.js';
import { requireWrite } from './access.js';
import { invalid, now, type PlaneContext } from './context.js';
import {
  ControlError,
  type Principal,
  type ServedShieldZone,
  type ShieldPolicy,
  type ZoneShieldInfo,
  type ZoneShieldSettings,
} from './types.js';

type RrlKind = keyof NonNullable<ZoneShieldSettings['rrl']>;
const RRL_KINDS: readonly RrlKind[] = ['responses', 'nxdomains', 'nodata', 'referrals', 'errors'];
const TOP_FIELDS = ['minNxPerSecond', 'budgetFloor', 'rrl', 'metrics'];

function range(flagKey: string): [number, number] {
  const spec = ZONE_NUMBERS[flagKey];
  return [spec[2], spec[3]];
}

function checkNumber(v: unknown, field: string, flagKey: string): number {
  const [lo, hi] = range(flagKey);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi)
    throw invalid(`${field} must be a number in ${lo}..${hi} (the flag's ${flagKey}=N)`, field);
  return v;
}

/**
 * The API's settings checked (unknown members, types and ranges: VALIDATION naming the
 * field, as `settings.rrl.responses`), in a canonical form (members in a fixed order, an
 * empty `rrl` dropped).
 */
export function parseZoneShieldSettings(input: unknown, prefix = 'settings'): ZoneShieldSettings {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw invalid(`${prefix} must be an object`, prefix);
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!TOP_FIELDS.includes(k))
      throw invalid(`unknown shield setting '${k}' (known: ${TOP_FIELDS.join(', ')})`, `${prefix}.${k}`);
  const out: ZoneShieldSettings = {};
  if (o.minNxPerSecond !== undefined)
    out.minNxPerSecond = checkNumber(o.minNxPerSecond, `${prefix}.minNxPerSecond`, 'min-nx');
  if (o.budgetFloor !== undefined)
    out.budgetFloor = checkNumber(o.budgetFloor, `${prefix}.budgetFloor`, 'budget');
  if (o.rrl !== undefined) {
    const r = o.rrl;
    if (typeof r !== 'object' || r === null || Array.isArray(r))
      throw invalid(`${prefix}.rrl must be an object`, `${prefix}.rrl`);
    const rr = r as Record<string, unknown>;
    for (const k of Object.keys(rr))
      if (!(RRL_KINDS as readonly string[]).includes(k))
        throw invalid(`unknown RRL rate '${k}' (known: ${RRL_KINDS.join(', ')})`, `${prefix}.rrl.${k}`);
    const rates: NonNullable<ZoneShieldSettings['rrl']> = {};
    for (const k of RRL_KINDS)
      if (rr[k] !== undefined) rates[k] = checkNumber(rr[k], `${prefix}.rrl.${k}`, k);
    if (Object.keys(rates).length > 0) out.rrl = rates;
  }
  if (o.metrics !== undefined) {
    if (typeof o.metrics !== 'boolean')
      throw invalid(`${prefix}.metrics must be true or false`, `${prefix}.metrics`);
    if (o.metrics) out.metrics = true;
  }
  return out;
}

function isEmpty(s: ZoneShieldSettings): boolean {
  return Object.keys(s).length === 0;
}

/**
 * Throws FORBIDDEN unless a tenant may write `s` under the operator's ceilings `tenant`:
 * each field opened and at most its ceiling; no rate of 0 (that turns the zone's limit off).
 */
export function checkTenantShield(s: ZoneShieldSettings, tenant: ZoneShieldSettings | undefined): void {
  const deny = (field: string, why: string): never => {
    throw new ControlError('CTL_ERR_FORBIDDEN', why, field);
  };
  if (tenant === undefined)
    deny(
      'settings',
      "a zone's shield settings are set by the operator (start --shield-tenant opens some to tenants)",
    );
  const t = tenant as ZoneShieldSettings;
  const within = (v: number | undefined, max: number | undefined, field: string, flagKey: string): void => {
    if (v === undefined) return;
    if (max === undefined)
      deny(field, `tenants may not set ${field} (the operator has not opened ${flagKey})`);
    if (v > (max as number))
      deny(field, `${field} may be at most ${max} for tenants (the operator's ceiling)`);
  };
  within(s.minNxPerSecond, t.minNxPerSecond, 'settings.minNxPerSecond', 'min-nx');
  within(s.budgetFloor, t.budgetFloor, 'settings.budgetFloor', 'budget');
  for (const k of RRL_KINDS) {
    const v = s.rrl?.[k];
    if (v === 0) deny(`settings.rrl.${k}`, `tenants may not set a rate of 0 (no limit): settings.rrl.${k}`);
    within(v, t.rrl?.[k], `settings.rrl.${k}`, k);
  }
  if (s.metrics && !t.metrics)
    deny(
      'settings.metrics',
      'tenants may not put a zone in the metrics (the operator has not opened metrics=on)',
    );
}

/** The settings as stored (JSON), or {} for a row that cannot be read back. */
function settingsOf(text: string): ZoneShieldSettings {
  try {
    return parseZoneShieldSettings(JSON.parse(text));
  } catch {
    return {};
  }
}

/** The shield settings part of the control plane. */
export class ZoneShields {
  readonly #ctx: PlaneContext;
  readonly #maxZones: number;
  readonly #maxMetrics: number;
  readonly #tenant: ZoneShieldSettings | undefined;
  readonly #tenantZones: number;
  readonly #tenantMetrics: number;

  constructor(ctx: PlaneContext, policy: ShieldPolicy | undefined) {
    this.#ctx = ctx;
    this.#maxZones = Math.max(0, Math.min(policy?.maxZones ?? MAX_SHIELD_ZONES, MAX_SHIELD_ZONES));
    this.#maxMetrics = Math.max(0, Math.min(policy?.maxMetricsZones ?? MAX_METRICS_ZONES, MAX_METRICS_ZONES));
    this.#tenant = policy?.tenant;
    this.#tenantZones = policy?.tenantZones ?? DEFAULT_TENANT_SHIELD_ZONES;
    this.#tenantMetrics = policy?.tenantMetricsZones ?? DEFAULT_TENANT_METRICS_ZONES;
  }

  async getZoneShield(p: Principal, name: string): Promise<ZoneShieldInfo> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(name).toString();
    return this.#ctx.store.read(async (repo) => {
      const zone = await this.#ctx.visibleZone(repo, p, zname);
      return infoOf(zone.name, await repo.getZoneShield(zone.id));
    });
  }

  setZoneShield(
    p: Principal,
    name: string,
    input: unknown,
    opts?: { comment?: string },
  ): Promise<ZoneShieldInfo> {
    return this.#write(p, name, input, opts);
  }

  deleteZoneShield(p: Principal, name: string, opts?: { comment?: string }): Promise<ZoneShieldInfo> {
    return this.#write(p, name, undefined, opts);
  }

  async shieldZones(): Promise<ServedShieldZone[]> {
    this.#ctx.checkOpen();
    const rows = await this.#ctx.store.repo.listZoneShields();
    return rows
      .map((r) => ({ name: r.name, settings: settingsOf(r.settings) }))
      .filter((z) => !isEmpty(z.settings));
  }

  /** `input` undefined: delete. */
  async #write(
    p: Principal,
    name: string,
    input: unknown,
    opts?: { comment?: string },
  ): Promise<ZoneShieldInfo> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(name).toString();
    const comment = typeof opts?.comment === 'string' ? opts.comment : undefined;
    let changed = false;
    const info = await this.#ctx.write(async (repo) => {
      // Visibility first (another account's zone is NOT_FOUND whatever the body), then the
      // body, then the rights: nothing is written before every check passed.
      const zone = await this.#ctx.visibleZone(repo, p, zname, true);
      const after = input === undefined ? {} : parseZoneShieldSettings(input);
      requireWrite(p);
      const row = await repo.getZoneShield(zone.id);
      const before = row ? settingsOf(row.settings) : {};
      if (!p.scope.admin) {
        if (row && row.set_by_admin === 1)
          throw new ControlError(
            'CTL_ERR_FORBIDDEN',
            `the shield settings of ${zone.name} were set by the operator: only an administrator changes them`,
            'settings',
          );
        checkTenantShield(after, this.#tenant);
      }
      if (JSON.stringify(before) === JSON.stringify(after)) return infoOf(zone.name, row);
      if (isEmpty(after)) {
        await repo.deleteZoneShield(zone.id);
      } else {
        await this.#checkCaps(repo, p, zone, before, after);
        await repo.putZoneShield({
          zone_id: zone.id,
          settings: JSON.stringify(after),
          metrics: after.metrics ? 1 : 0,
          set_by_admin: p.scope.admin ? 1 : 0,
          updated_at: now(),
        });
      }
      await this.#ctx.audit(repo, p, 'zone.shield', zone.name, zone.account_id, {
        from: before,
        to: after,
        ...(comment !== undefined ? { comment } : {}),
      });
      await this.#ctx.events.notifyShield(repo, zone.name);
      changed = true;
      return infoOf(zone.name, isEmpty(after) ? undefined : await repo.getZoneShield(zone.id));
    });
    if (changed) this.#ctx.events.emitShield();
    return info;
  }

  /**
   * The platform-wide caps, and a tenant's per-account ones (so that one account cannot take
   * the platform's places), counted under a lock that orders every replica's writers.
   */
  async #checkCaps(
    repo: Repo,
    p: Principal,
    z: { name: string; account_id: string },
    before: ZoneShieldSettings,
    after: ZoneShieldSettings,
  ): Promise<void> {
    const zone = z.name;
    const adding = isEmpty(before);
    const addingMetrics = after.metrics === true && before.metrics !== true;
    if (!adding && !addingMetrics) return;
    await repo.lockZoneShields();
    if (!p.scope.admin) {
      const mine = await repo.countTenantZoneShields(z.account_id);
      if (adding && mine.zones + 1 > this.#tenantZones)
        throw new ControlError(
          'CTL_ERR_QUOTA',
          `an account's tenants may give at most ${this.#tenantZones} of its zones shield settings of their ` +
            `own (start --shield-tenant zones=N): ${zone} cannot be added`,
          'settings',
        );
      if (addingMetrics && mine.metrics + 1 > this.#tenantMetrics)
        throw new ControlError(
          'CTL_ERR_QUOTA',
          `an account's tenants may put at most ${this.#tenantMetrics} of its zones in the per-zone metrics ` +
            '(start --shield-tenant metrics-zones=N)',
          'settings.metrics',
        );
    }
    const n = await repo.countZoneShields();
    if (adding && n.zones + 1 > this.#maxZones)
      throw new ControlError(
        'CTL_ERR_QUOTA',
        `at most ${this.#maxZones} zones have shield settings of their own on this platform (the native ` +
          `shield's table holds ${MAX_SHIELD_ZONES}, less the zones set by --shield-zone): ${zone} cannot be added`,
        'settings',
      );
    if (addingMetrics && n.metrics + 1 > this.#maxMetrics)
      throw new ControlError(
        'CTL_ERR_QUOTA',
        `at most ${this.#maxMetrics} zones are in the per-zone metrics on this platform (${MAX_METRICS_ZONES}, ` +
          'less the zones set by --shield-zone …,metrics=on)',
        'settings.metrics',
      );
  }
}

function infoOf(
  zone: string,
  row: { settings: string; set_by_admin: number; updated_at: string } | undefined,
): ZoneShieldInfo {
  if (!row) return { zone, settings: {} };
  return {
    zone,
    settings: settingsOf(row.settings),
    setBy: row.set_by_admin === 1 ? 'operator' : 'tenant',
    updatedAt: row.updated_at,
  };
}
