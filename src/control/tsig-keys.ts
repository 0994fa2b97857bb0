/**
 * TSIG keys and zone transfer settings (migration 10; docs/TRANSFERS.md).
 *
 * A key belongs to an account: it is created, listed, read, changed and deleted only through a
 * token of that account (an administrator's token names the account's keys through a zone of
 * the account — `master_tsig_key_ids` — but never lists or creates keys without one), and a
 * zone's `master_tsig_key_ids` may name only keys of the zone's own account. Key names are
 * unique within an account, not across accounts: the DNS workers look a request's key up among
 * the keys of the zone it asks for, so two tenants' `transfer.` keys never meet. Secrets are
 * returned only by `getTsigKey`/create/update (as PowerDNS), never listed, logged or audited.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Repo } from '../store/index.js';
import { isTransferPrefix } from '../xfr/acl.js';
import { formatOutboundTarget, OutboundPolicy } from '../xfr/outbound.js';
import { generateTsigSecret, makeTsigKey, TsigKeyError, tsigAlgorithmOf } from '../xfr/tsig.js';
import { requireAccountWide, requireWrite } from './access.js';
import type { PlaneContext } from './context.js';
import { quoted } from './records.js';
import { ControlError, type Principal } from './types.js';

/** A TSIG key as the API shows it (`key` only where PowerDNS shows it). */
export interface TsigKeyInfo {
  /** Absolute, folded (`transfer.example.`). */
  name: string;
  algorithm: string;
  key?: string;
}

/** Who may transfer a zone: PowerDNS's `master_tsig_key_ids` and `ALLOW-AXFR-FROM`. */
export interface ZoneTransferInfo {
  /** Key names (absolute, folded) of the zone's account. */
  masterTsigKeyIds: string[];
  /** `ALLOW-AXFR-FROM` values: addresses, prefixes, `AUTO-NS`. */
  allowAxfrFrom: string[];
  /** `ALSO-NOTIFY` targets (`ADDR`, `ADDR:PORT`, `[V6]:PORT`), allowed by the outbound policy. */
  alsoNotify: string[];
}

/** A zone's transfer settings with its account's keys, for the DNS workers (secrets included). */
export interface ServedTransferZone {
  name: string;
  keys: { name: string; algorithm: string; secret: string }[];
  allowKeys: string[];
  allowFrom: string[];
  autoNs: boolean;
  /** `ALSO-NOTIFY` targets, and the zone's account (NOTIFY's rate limits). */
  alsoNotify: string[];
  account: string;
  /**
   * A catalog zone (kind Producer, RFC 9432): the workers answer its ordinary queries REFUSED
   * unless the query may transfer it (docs/TRANSFERS.md "Catalog zones").
   */
  catalog?: boolean;
}

/** Most keys per account, and values per setting. */
export const MAX_TSIG_KEYS = 100;
export const MAX_TRANSFER_VALUES = 100;

/** One zone's row of keys and prefixes (transfer or update settings), as followKeyIn reads it. */
export interface KeyListRow {
  zone_id: string;
  name: string;
  tsig_keys: string;
  allow_from: string;
  /** Transfer settings: ALSO-NOTIFY targets (a row keeps living while it has any). */
  also_notify?: string;
}

/**
 * A key renamed (`to`) or deleted (`to` undefined) follows into `rows` (zone settings that name
 * keys: transfer's `master_tsig_key_ids`, update's `TSIG-ALLOW-DNSUPDATE`): each row naming it
 * is rewritten through `put`, or removed through `remove` when left with no key, no prefix and
 * no ALSO-NOTIFY target.
 * Returns the zones changed.
 */
export async function followKeyIn(
  rows: readonly KeyListRow[],
  from: string,
  to: string | undefined,
  put: (row: {
    zone_id: string;
    tsig_keys: string;
    allow_from: string;
    also_notify?: string;
    updated_at: string;
  }) => Promise<void>,
  remove: (zoneId: string) => Promise<void>,
): Promise<string[]> {
  const changed: string[] = [];
  for (const row of rows) {
    const keys = parseList(row.tsig_keys);
    if (!keys.includes(from)) continue;
    const next = [...new Set(keys.flatMap((k) => (k !== from ? [k] : to === undefined ? [] : [to])))];
    const also = parseList(row.also_notify ?? '[]');
    if (next.length === 0 && parseList(row.allow_from).length === 0 && also.length === 0)
      await remove(row.zone_id);
    else
      await put({
        zone_id: row.zone_id,
        tsig_keys: JSON.stringify(next),
        allow_from: row.allow_from,
        ...(row.also_notify !== undefined ? { also_notify: row.also_notify } : {}),
        updated_at: now(),
      });
    changed.push(row.name);
  }
  return changed;
}

/**
 * A key renamed or deleted in one transaction with the zones of its account that name it in
 * `master_tsig_key_ids` or `TSIG-ALLOW-DNSUPDATE`: they follow the rename, or lose the key.
 */
async function followKey(
  repo: Repo,
  account: string,
  from: string,
  to: string | undefined,
): Promise<string[]> {
  return [
    ...(await followKeyIn(
      await repo.zoneTransfersOfAccount(account),
      from,
      to,
      (r) => repo.putZoneTransfer(r),
      (id) => repo.deleteZoneTransfer(id),
    )),
    ...(await followKeyIn(
      await repo.zoneUpdatesOfAccount(account),
      from,
      to,
      (r) =>
        repo.putZoneUpdate({
          zone_id: r.zone_id,
          tsig_keys: r.tsig_keys,
          allow_from: r.allow_from,
          updated_at: r.updated_at,
        }),
      (id) => repo.deleteZoneUpdate(id),
    )),
  ];
}

function invalid(message: string, field: string): ControlError {
  return new ControlError('CTL_ERR_VALIDATION', message, field);
}

function now(): string {
  return new Date().toISOString();
}

/** A key name as stored: absolute, folded, checked. */
export function tsigKeyName(v: unknown, field = 'name'): string {
  if (typeof v !== 'string' || v.trim() === '') throw invalid('a TSIG key needs a name', field);
  try {
    return makeTsigKey(v, 'hmac-sha256', 'AAAA').name.toString().toLowerCase();
  } catch {
    throw invalid(`'${quoted(v)}' is not a valid TSIG key name`, field);
  }
}

function algorithmOf(v: unknown, field = 'algorithm'): string {
  const alg = typeof v === 'string' ? tsigAlgorithmOf(v) : undefined;
  if (alg === undefined)
    throw invalid(
      `Unknown TSIG algorithm: '${quoted(String(v))}' (hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512)`,
      field,
    );
  return alg;
}

function secretOf(v: unknown, name: string, algorithm: string, field = 'key'): string {
  if (typeof v !== 'string') throw invalid('the key must be base64 text', field);
  try {
    makeTsigKey(name, algorithm, v);
  } catch (err) {
    if (err instanceof TsigKeyError) throw invalid(err.message, field);
    throw err;
  }
  return v;
}

function accountOf(p: Principal): string {
  requireAccountWide(p);
  if (p.accountId === null)
    throw invalid('TSIG keys belong to an account: use a token of the account the key is for', 'account');
  return p.accountId;
}

function keyNotFound(name: string): ControlError {
  return new ControlError('CTL_ERR_NOT_FOUND', `TSIG key with name '${quoted(name)}' not found`);
}

/** The ALLOW-AXFR-FROM values, checked (as PowerDNS: an address, a prefix, or AUTO-NS). */
export function checkAllowAxfrFrom(values: unknown, field = 'metadata'): string[] {
  if (!Array.isArray(values) || values.length > MAX_TRANSFER_VALUES)
    throw invalid(`ALLOW-AXFR-FROM takes a list of at most ${MAX_TRANSFER_VALUES} values`, field);
  const out: string[] = [];
  values.forEach((v, i) => {
    if (typeof v !== 'string') throw invalid('ALLOW-AXFR-FROM values are strings', `${field}[${i}]`);
    const t = v.trim();
    if (t.toUpperCase() === 'AUTO-NS') out.push('AUTO-NS');
    else if (isTransferPrefix(t)) out.push(t);
    else throw invalid(`'${quoted(v)}' is not an IP address, a prefix or AUTO-NS`, `${field}[${i}]`);
  });
  return [...new Set(out)];
}

export class TsigKeys {
  readonly #ctx: PlaneContext;

  constructor(ctx: PlaneContext) {
    this.#ctx = ctx;
  }

  async listTsigKeys(p: Principal): Promise<TsigKeyInfo[]> {
    this.#ctx.checkOpen();
    const account = accountOf(p);
    const rows = await this.#ctx.store.repo.listTsigKeys(account);
    return rows.map((r) => ({ name: r.name, algorithm: r.algorithm }));
  }

  async getTsigKey(p: Principal, name: string): Promise<TsigKeyInfo> {
    this.#ctx.checkOpen();
    const account = accountOf(p);
    const row = await this.#ctx.store.repo.getTsigKey(account, tsigKeyNameOrMissing(name));
    if (!row) throw keyNotFound(name);
    return { name: row.name, algorithm: row.algorithm, key: row.secret };
  }

  async createTsigKey(
    p: Principal,
    input: { name?: unknown; algorithm?: unknown; key?: unknown },
  ): Promise<TsigKeyInfo> {
    this.#ctx.checkOpen();
    const account = accountOf(p);
    const name = tsigKeyName(input.name);
    const algorithm = algorithmOf(input.algorithm);
    const secret =
      input.key === undefined || input.key === null || input.key === ''
        ? generateTsigSecret(algorithm as Parameters<typeof generateTsigSecret>[0])
        : secretOf(input.key, name, algorithm);
    requireWrite(p);
    await this.#ctx.write(async (repo) => {
      if (await repo.getTsigKey(account, name))
        throw new ControlError(
          'CTL_ERR_CONFLICT',
          `A TSIG key with the name '${name}' already exists`,
          'name',
        );
      const keys = await repo.listTsigKeys(account);
      if (keys.length >= MAX_TSIG_KEYS)
        throw new ControlError('CTL_ERR_QUOTA', `an account has at most ${MAX_TSIG_KEYS} TSIG keys`, 'name');
      const at = now();
      await repo.insertTsigKey({
        id: randomUUID(),
        account_id: account,
        name,
        algorithm,
        secret,
        created_at: at,
        updated_at: at,
      });
      await this.#ctx.audit(repo, p, 'tsigkey.create', name, account, { algorithm });
      // A key's change concerns every zone of its account that names it (zone unsaid).
      await this.#ctx.events.notifySettings(repo, '', ['transfer']);
    });
    this.#changed();
    return { name, algorithm, key: secret };
  }

  /** PowerDNS's PUT: any of name (a rename), algorithm, key. */
  async updateTsigKey(
    p: Principal,
    current: string,
    input: { name?: unknown; algorithm?: unknown; key?: unknown },
  ): Promise<TsigKeyInfo> {
    this.#ctx.checkOpen();
    const account = accountOf(p);
    const from = tsigKeyNameOrMissing(current);
    requireWrite(p);
    const out = await this.#ctx.write(async (repo) => {
      const row = await repo.getTsigKey(account, from);
      if (!row) throw keyNotFound(current);
      const name = input.name === undefined || input.name === null ? row.name : tsigKeyName(input.name);
      const algorithm =
        input.algorithm === undefined || input.algorithm === null
          ? row.algorithm
          : algorithmOf(input.algorithm);
      const secret =
        input.key === undefined || input.key === null || input.key === ''
          ? row.secret
          : secretOf(input.key, name, algorithm);
      if (name !== row.name && (await repo.getTsigKey(account, name)))
        throw new ControlError(
          'CTL_ERR_CONFLICT',
          `A TSIG key with the name '${name}' already exists`,
          'name',
        );
      await repo.updateTsigKey(row.id, { name, algorithm, secret, updated_at: now() });
      const zones = name !== row.name ? await followKey(repo, account, row.name, name) : [];
      await this.#ctx.audit(repo, p, 'tsigkey.update', name, account, {
        ...(name !== row.name ? { renamedFrom: row.name } : {}),
        algorithm,
        keyChanged: secret !== row.secret,
        ...(zones.length > 0 ? { zones } : {}),
      });
      // A key's change concerns every zone of its account that names it (zone unsaid).
      await this.#ctx.events.notifySettings(repo, '', ['transfer']);
      return { name, algorithm, key: secret };
    });
    this.#changed();
    return out;
  }

  async deleteTsigKey(p: Principal, name: string): Promise<void> {
    this.#ctx.checkOpen();
    const account = accountOf(p);
    const folded = tsigKeyNameOrMissing(name);
    requireWrite(p);
    await this.#ctx.write(async (repo) => {
      const row = await repo.getTsigKey(account, folded);
      if (!row) throw keyNotFound(name);
      await repo.deleteTsigKey(row.id);
      const zones = await followKey(repo, account, row.name, undefined);
      await this.#ctx.audit(
        repo,
        p,
        'tsigkey.delete',
        row.name,
        account,
        zones.length > 0 ? { zones } : undefined,
      );
      await this.#ctx.events.notifySettings(repo, '', ['transfer']);
    });
    this.#changed();
  }

  async getZoneTransfer(p: Principal, zoneName: string): Promise<ZoneTransferInfo> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(zoneName).toString();
    const repo = this.#ctx.store.repo;
    const zone = await this.#ctx.visibleZone(repo, p, zname);
    return infoOf(await repo.getZoneTransfer(zone.id));
  }

  /**
   * Sets the given members: `masterTsigKeyIds` (each a key of the zone's account, else
   * VALIDATION as PowerDNS: the key does not exist) and `allowAxfrFrom`.
   */
  async setZoneTransfer(
    p: Principal,
    zoneName: string,
    input: Partial<ZoneTransferInfo>,
  ): Promise<ZoneTransferInfo> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(zoneName).toString();
    const out = await this.#ctx.write(async (repo) => {
      const zone = await this.#ctx.visibleZone(repo, p, zname, true);
      const before = infoOf(await repo.getZoneTransfer(zone.id));
      const after = { ...before };
      if (input.masterTsigKeyIds !== undefined) {
        if (!Array.isArray(input.masterTsigKeyIds) || input.masterTsigKeyIds.length > MAX_TRANSFER_VALUES)
          throw invalid(
            `master_tsig_key_ids takes a list of at most ${MAX_TRANSFER_VALUES} key ids`,
            'master_tsig_key_ids',
          );
        const names: string[] = [];
        for (const [i, id] of input.masterTsigKeyIds.entries()) {
          const n = tsigKeyName(id, `master_tsig_key_ids[${i}]`);
          // Only the zone's own account's keys: another account's key of that name is "not found".
          if (!(await repo.getTsigKey(zone.account_id, n)))
            throw invalid(
              `A TSIG key with the name '${quoted(String(id))}' does not exist`,
              `master_tsig_key_ids[${i}]`,
            );
          names.push(n);
        }
        after.masterTsigKeyIds = [...new Set(names)];
      }
      if (input.allowAxfrFrom !== undefined) after.allowAxfrFrom = checkAllowAxfrFrom(input.allowAxfrFrom);
      if (input.alsoNotify !== undefined)
        after.alsoNotify = checkAlsoNotify(input.alsoNotify, this.#ctx.opts.outbound ?? DEFAULT_POLICY);
      requireWrite(p);
      if (JSON.stringify(before) === JSON.stringify(after)) return { info: after, changed: false };
      if (
        after.masterTsigKeyIds.length === 0 &&
        after.allowAxfrFrom.length === 0 &&
        after.alsoNotify.length === 0
      )
        await repo.deleteZoneTransfer(zone.id);
      else
        await repo.putZoneTransfer({
          zone_id: zone.id,
          tsig_keys: JSON.stringify(after.masterTsigKeyIds),
          allow_from: JSON.stringify(after.allowAxfrFrom),
          also_notify: JSON.stringify(after.alsoNotify),
          updated_at: now(),
        });
      await this.#ctx.audit(repo, p, 'zone.transfer', zone.name, zone.account_id, {
        from: before,
        to: after,
      });
      await this.#ctx.events.notifySettings(repo, zone.name, ['transfer']);
      return { info: after, changed: true };
    });
    if (out.changed) this.#changed();
    return out.info;
  }

  /**
   * Asks for a NOTIFY of the zone to its targets now (PowerDNS `PUT …/notify`): a write of the
   * zone's account (or an administrator). Heard by this replica's NOTIFY sender only
   * (`onSettingsChange`, kind `notify`); nothing is stored.
   */
  async notifyZone(p: Principal, zoneName: string): Promise<{ zone: string; serial: number }> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(zoneName).toString();
    const zone = await this.#ctx.visibleZone(this.#ctx.store.repo, p, zname);
    requireWrite(p);
    this.#ctx.events.emitSettings({ zone: zone.name, kinds: ['notify'] });
    return { zone: zone.name, serial: zone.serial };
  }

  /** Every zone with transfer settings, with its account's keys (for the DNS workers). */
  async transferZones(): Promise<ServedTransferZone[]> {
    this.#ctx.checkOpen();
    const repo = this.#ctx.store.repo;
    return servedTransferZones(repo);
  }

  /**
   * After a change committed: the settings' listeners (`onSettingsChange`, kind `transfer`) are
   * told here; other replicas hear it on the same channel (`notifySettings` in the transaction).
   */
  #changed(): void {
    this.#ctx.events.emitSettings({ kinds: ['transfer'] });
  }
}

async function servedTransferZones(repo: Repo): Promise<ServedTransferZone[]> {
  const rows = await repo.listZoneTransfers();
  const keys = await repo.tsigKeysOfAccounts([...new Set(rows.map((r) => r.account_id))]);
  const byAccount = new Map<string, { name: string; algorithm: string; secret: string }[]>();
  for (const k of keys) {
    let list = byAccount.get(k.account_id);
    if (!list) {
      list = [];
      byAccount.set(k.account_id, list);
    }
    list.push({ name: k.name, algorithm: k.algorithm, secret: k.secret });
  }
  // Catalog zones (kind Producer or Consumer) are listed with or without transfer settings, marked.
  const producers = await repo.db
    .selectFrom('zones')
    .select(['name', 'account_id'])
    .where('kind', 'in', ['Producer', 'Consumer'])
    .execute();
  const catalogs = new Set(producers.map((p) => p.name));
  const out: ServedTransferZone[] = rows.map((r) => {
    const allowFrom = parseList(r.allow_from);
    return {
      name: r.name,
      keys: byAccount.get(r.account_id) ?? [],
      allowKeys: parseList(r.tsig_keys),
      allowFrom: allowFrom.filter((v) => v !== 'AUTO-NS'),
      autoNs: allowFrom.includes('AUTO-NS'),
      alsoNotify: parseList(r.also_notify),
      account: r.account_id,
      ...(catalogs.has(r.name) ? { catalog: true } : {}),
    };
  });
  const listed = new Set(rows.map((r) => r.name));
  for (const p of producers)
    if (!listed.has(p.name))
      out.push({
        name: p.name,
        keys: [],
        allowKeys: [],
        allowFrom: [],
        autoNs: false,
        alsoNotify: [],
        account: p.account_id,
        catalog: true,
      });
  return out;
}

/** A JSON list of strings as stored (anything else: empty). */
export function parseList(text: string): string[] {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

function infoOf(
  row: { tsig_keys: string; allow_from: string; also_notify?: string } | undefined,
): ZoneTransferInfo {
  return row
    ? {
        masterTsigKeyIds: parseList(row.tsig_keys),
        allowAxfrFrom: parseList(row.allow_from),
        alsoNotify: parseList(row.also_notify ?? '[]'),
      }
    : { masterTsigKeyIds: [], allowAxfrFrom: [], alsoNotify: [] };
}

/** Without `start --outbound-allow`: every special-purpose range refused. */
const DEFAULT_POLICY = new OutboundPolicy([]);

/**
 * The ALSO-NOTIFY values, checked (form and the operator's outbound policy: a loopback, private
 * or link-local address is refused unless opened with --outbound-allow), in the form
 * `formatOutboundTarget` gives; the field named is `ALSO-NOTIFY[i]`.
 */
function checkAlsoNotify(values: unknown, policy: OutboundPolicy, field = 'ALSO-NOTIFY'): string[] {
  if (!Array.isArray(values) || values.length > MAX_TRANSFER_VALUES)
    throw invalid(`${field} takes a list of at most ${MAX_TRANSFER_VALUES} values`, field);
  const out: string[] = [];
  for (const [i, v] of values.entries()) {
    if (typeof v !== 'string') throw invalid(`${field} values are strings`, `${field}[${i}]`);
    try {
      out.push(formatOutboundTarget(policy.check(v.trim())));
    } catch (err) {
      throw invalid(`${field}: '${quoted(v)}': ${(err as Error).message}`, `${field}[${i}]`);
    }
  }
  return [...new Set(out)];
}

/** A key name from a URL (a bad name finds nothing: NOT_FOUND, as for zones). */
function tsigKeyNameOrMissing(name: string): string {
  try {
    return tsigKeyName(name);
  } catch {
    throw keyNotFound(name);
  }
}
