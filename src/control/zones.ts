/**
 * Zone changes: zones created, changed (RRsets), imported, rolled back, deleted and their
 * metadata updated — each one transaction that validates the whole new content, then writes
 * it as the zone's next version (settle, write version) — and the content cache of big zones.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Repo, ZoneRow } from '../store/index.js';
import { RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import { isAccountWide, requireWrite, scopeAllowsZone } from './access.js';
import { checkIfMatch, DEFAULT_ACCOUNT, invalid, listedAccount, now, type PlaneContext } from './context.js';
import {
  applyChanges,
  buildAndCheck,
  changeLines,
  checkContentRules,
  countChangeLines,
  diffContent,
  exportContent,
  type Locate,
  locateInChanges,
  locateInZonefile,
  parseZonefile,
  prepareChanges,
  type RRsetChangeRecord,
  settleSerial,
} from './edit.js';
import { decodeCursor, isStringCursor, makePage, pageLimit } from './paging.js';
import {
  countRecords,
  nameKeyOf,
  parseHostName,
  parseZoneName,
  quoted,
  type RecordMemo,
  type RRsetState,
  rrsetKey,
  toOctets,
  toRRsetData,
  type ZoneContent,
} from './records.js';
import { prunedVersion, retentionOf } from './retention.js';
import { contentOf, parseChanges, rrsetRow, sortedRRsets, toZoneInfo } from './rows.js';
import {
  type ChangeOptions,
  ControlError,
  type Page,
  type PageRequest,
  type Principal,
  type RRsetChange,
  type RRsetData,
  type ZoneChangeEvent,
  type ZoneChangeResult,
  type ZoneDetail,
  type ZoneInfo,
  type ZoneMetadataInput,
} from './types.js';
import { DEFAULT_METADATA, diffMetadata, mergeMetadata, metadataOfRow } from './zone-metadata.js';

/** TTL of the SOA and NS records made for a zone created without them. */
const GENERATED_TTL = 3600;
/** Above this many changed RRsets (and half the zone), rewrite the zone's rows in bulk. */
const BULK_REWRITE = 64;
/** Zones of at least this many records keep their parsed content in memory between changes. */
const CACHE_MIN_RECORDS = 2000;
/** How many such zones are kept (least recently changed dropped first). */
const CACHE_ZONES = 4;

/** A zone's new content, validated, with what to write. */
interface Settled {
  draft: ZoneContent;
  /** Parsed records of the draft's RRsets (for the zone cache). */
  memo: RecordMemo;
  diff: RRsetChangeRecord[];
  serial: number;
  recordCount: number;
  added: number;
  removed: number;
  /** NS findings that do not refuse the content (see buildAndCheck). */
  warnings: string[];
}

/** The zone operations of the control plane. */
export class Zones {
  readonly #ctx: PlaneContext;
  /**
   * Large zones' content at a version, with their parsed records: a change to a big zone
   * then re-parses only the RRsets it touches. Keyed by zone id (a zone created again gets a
   * new id) and used only when the version still matches the row read under the lock, so a
   * change made by another replica is never missed.
   */
  readonly #cache = new Map<string, { version: number; content: ZoneContent; memo: RecordMemo }>();

  constructor(ctx: PlaneContext) {
    this.#ctx = ctx;
  }

  /** Checks the account's record quota when a change adds records (admins are exempt). */
  async #checkRecordQuota(repo: Repo, p: Principal, accountId: string, delta: number): Promise<void> {
    if (p.scope.admin || delta <= 0) return;
    // The account row lock serialises quota checks of concurrent changes (PostgreSQL).
    const account = await repo.getAccount(accountId, true);
    if (!account) return;
    const total = (await repo.sumRecords(accountId)) + delta;
    if (total > Number(account.max_records))
      throw new ControlError(
        'CTL_ERR_QUOTA',
        `the account's record quota (${account.max_records}) would be exceeded (${total} records)`,
        'rrsets',
      );
  }

  /** Validates a draft as the zone's next content and computes what to write. */
  #settle(
    draft: ZoneContent,
    current: ZoneContent,
    origin: Name,
    oldSerial: number | undefined,
    locate: Locate,
    memo: RecordMemo = new Map(),
  ): Settled {
    checkContentRules(draft, origin, locate);
    const warnings: string[] = [];
    buildAndCheck(draft, origin, locate, memo, warnings);
    const serial = settleSerial(draft, origin, oldSerial);
    const diff = diffContent(current, draft);
    const { added, removed } = countChangeLines(diff);
    return { draft, memo, diff, serial, recordCount: countRecords(draft.values()), added, removed, warnings };
  }

  /** The zone's current content: from the cache when it holds this version, else the rows. */
  async #currentContent(repo: Repo, zone: ZoneRow): Promise<{ content: ZoneContent; memo: RecordMemo }> {
    const hit = this.#cache.get(zone.id);
    // A copy of the memo: a change that fails must not leave its parsed RRsets in the cache.
    if (hit && hit.version === Number(zone.version)) return { content: hit.content, memo: new Map(hit.memo) };
    return { content: contentOf(await repo.getRRsets(zone.id)), memo: new Map() };
  }

  /** Remembers a big zone's content after a committed change (see #cache). */
  #remember(zoneId: string, version: number, s: Settled): void {
    this.#cache.delete(zoneId);
    if (s.recordCount < CACHE_MIN_RECORDS) return;
    // Keep only the parsed records of RRsets still in the content.
    const memo: RecordMemo = new Map();
    for (const r of s.draft.values()) {
      const rrs = s.memo.get(r);
      if (rrs) memo.set(r, rrs);
    }
    this.#cache.set(zoneId, { version, content: s.draft, memo });
    while (this.#cache.size > CACHE_ZONES) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }

  /** Writes a settled change: RRset rows, zone row, version row. Returns the new version. */
  async #writeVersion(
    repo: Repo,
    p: Principal,
    zone: ZoneRow,
    s: Settled,
    kind: 'change' | 'import' | 'rollback',
    comment: string | null,
  ): Promise<ZoneRow> {
    if (s.diff.length > BULK_REWRITE && s.diff.length * 2 > s.draft.size) {
      await repo.deleteAllRRsets(zone.id);
      await repo.insertRRsets([...s.draft.values()].map((r) => rrsetRow(zone.id, r)));
    } else {
      for (const c of s.diff) {
        const key = c.before ?? c.after;
        if (!key) continue;
        if (c.before) await repo.deleteRRset(zone.id, c.before.nameKey, c.before.type);
        if (c.after) await repo.insertRRsets([rrsetRow(zone.id, c.after)]);
      }
    }
    const version = Number(zone.version) + 1;
    const at = now();
    await repo.updateZone(zone.id, {
      version,
      serial: s.serial,
      record_count: s.recordCount,
      updated_at: at,
    });
    await repo.insertVersion({
      zone_id: zone.id,
      version,
      serial: s.serial,
      from_serial: zone.serial,
      created_at: at,
      actor: p.tokenId,
      actor_name: await this.#ctx.actorName(repo, p),
      remote: p.remote ?? null,
      comment,
      kind,
      added: s.added,
      removed: s.removed,
      changes: JSON.stringify(s.diff),
    });
    await this.#ctx.audit(repo, p, `zone.${kind}`, zone.name, zone.account_id, {
      version,
      serial: s.serial,
      added: s.added,
      removed: s.removed,
      ...(comment !== null ? { comment } : {}),
    });
    await this.#ctx.events.notify(repo, { zone: zone.name, version, deleted: false });
    return { ...zone, version, serial: s.serial, record_count: s.recordCount, updated_at: at };
  }

  async listZones(p: Principal, input?: { accountId?: string } & PageRequest): Promise<Page<ZoneInfo>> {
    this.#ctx.checkOpen();
    const limit = pageLimit(input);
    const after = decodeCursor(input, isStringCursor);
    const accountId = listedAccount(p, input?.accountId);
    if (accountId === null) return { items: [] };
    const names = isAccountWide(p)
      ? undefined
      : (p.scope.zones ?? []).map((z) => (z.endsWith('.') ? z : `${z}.`).toLowerCase());
    const rows = await this.#ctx.store.repo.listZones({ accountId, names, after, limit: limit + 1 });
    return makePage(rows, limit, toZoneInfo, (r) => r.name);
  }

  async createZone(
    p: Principal,
    input: {
      name: string;
      accountId?: string;
      rrsets?: RRsetData[];
      zonefile?: string;
      nameservers?: string[];
    } & ZoneMetadataInput,
  ): Promise<ZoneDetail & { warnings?: string[] }> {
    // Authorization and a taken name come first: PowerDNS answers a duplicate zone with 409
    // whatever else is wrong with the request.
    const origin = await this.#precheckCreate(p, input);
    const zname = origin.toString();
    const metadata = mergeMetadata(DEFAULT_METADATA, input);
    const { content, locate } = this.#initialContent(origin, input);
    const settled = this.#settle(content, new Map(), origin, undefined, locate);
    const at = now();
    const zoneId = randomUUID();

    const zone = await this.#ctx.write(async (repo) => {
      const accountId = await this.#zoneAccount(repo, p, input.accountId);
      const quota = !p.scope.admin;
      const account = await repo.getAccount(accountId, quota);
      if (!account)
        throw new ControlError('CTL_ERR_NOT_FOUND', `account ${accountId} not found`, 'accountId');
      // Again, under the transaction: another request may have taken the name meanwhile.
      await this.#checkNameFree(repo, origin, accountId);
      if (quota) {
        const zones = await repo.countZones(accountId);
        if (zones >= Number(account.max_zones))
          throw new ControlError(
            'CTL_ERR_QUOTA',
            `the account's zone quota (${account.max_zones}) is reached`,
            'name',
          );
        const total = (await repo.sumRecords(accountId)) + settled.recordCount;
        if (total > Number(account.max_records))
          throw new ControlError(
            'CTL_ERR_QUOTA',
            `the account's record quota (${account.max_records}) would be exceeded (${total} records)`,
            input.zonefile !== undefined ? 'zonefile' : 'rrsets',
          );
      }
      const row: ZoneRow = {
        id: zoneId,
        name: zname,
        account_id: accountId,
        version: 1,
        serial: settled.serial,
        record_count: settled.recordCount,
        created_at: at,
        updated_at: at,
        kind: metadata.kind,
        soa_edit_api: metadata.soaEditApi,
        account_label: metadata.accountLabel,
      };
      await repo.insertZone(row);
      await repo.insertRRsets([...settled.draft.values()].map((r) => rrsetRow(zoneId, r)));
      await repo.insertVersion({
        zone_id: zoneId,
        version: 1,
        serial: settled.serial,
        from_serial: 0,
        created_at: at,
        actor: p.tokenId,
        actor_name: await this.#ctx.actorName(repo, p),
        remote: p.remote ?? null,
        comment: null,
        kind: 'create',
        added: settled.added,
        removed: 0,
        changes: JSON.stringify(settled.diff),
      });
      await this.#ctx.audit(repo, p, 'zone.create', zname, accountId, {
        version: 1,
        serial: settled.serial,
        records: settled.recordCount,
        ...metadata,
      });
      await this.#ctx.events.notify(repo, { zone: zname, version: 1, deleted: false });
      return row;
    });
    this.#remember(zoneId, 1, settled);
    this.#ctx.events.emit({ zone: zname, version: 1, deleted: false });
    return {
      ...toZoneInfo(zone),
      rrsets: sortedRRsets(settled.draft).map(toRRsetData),
      ...(settled.warnings.length > 0 ? { warnings: settled.warnings } : {}),
    };
  }

  async checkNewZone(p: Principal, input: { name: string; accountId?: string }): Promise<void> {
    await this.#precheckCreate(p, input);
  }

  /**
   * What createZone checks before reading the rest of its input: the token may create the
   * zone, the name parses, and the name is free. The read is outside any transaction (the
   * creating transaction checks again); it is a cheap early answer, so a duplicate is a
   * CONFLICT even when the rest of the request is invalid.
   */
  async #precheckCreate(p: Principal, input: { name: string; accountId?: string }): Promise<Name> {
    this.#ctx.checkOpen();
    requireWrite(p);
    const origin = parseZoneName(input?.name, 'name');
    const zname = origin.toString();
    if (!scopeAllowsZone(p, zname))
      throw new ControlError(
        'CTL_ERR_FORBIDDEN',
        `this token is limited to other zones than ${zname}`,
        'name',
      );
    if (!p.scope.admin) {
      if (p.accountId === null)
        throw new ControlError('CTL_ERR_FORBIDDEN', 'this token belongs to no account');
      if (input.accountId !== undefined && input.accountId !== p.accountId)
        throw new ControlError('CTL_ERR_NOT_FOUND', `account ${input.accountId} not found`, 'accountId');
    }
    const repo = this.#ctx.store.repo;
    await this.#checkNameFree(repo, origin, await this.#likelyZoneAccount(repo, p, input.accountId));
    return origin;
  }

  /**
   * The account a new zone would go to, without creating the default account ('' when it
   * does not exist yet: it owns no zone, so every other zone is another account's).
   */
  async #likelyZoneAccount(repo: Repo, p: Principal, requested: unknown): Promise<string> {
    if (!p.scope.admin) return p.accountId as string;
    if (requested !== undefined) return typeof requested === 'string' ? requested : '';
    if (p.accountId !== null) return p.accountId;
    return (await repo.getAccountByName(DEFAULT_ACCOUNT))?.id ?? '';
  }

  /** For restoring a deleted zone (deleted.ts): the checks of a new zone's name. */
  checkNameFreeFor(repo: Repo, origin: Name, accountId: string): Promise<void> {
    return this.#checkNameFree(repo, origin, accountId);
  }

  /** CONFLICT when the name is taken, or lies inside or around a zone of another account. */
  async #checkNameFree(repo: Repo, origin: Name, accountId: string): Promise<void> {
    // A taken name is a taken name, whoever holds it (as in any registry): saying so leaks
    // nothing a creation attempt would not.
    if (await repo.getZoneByName(origin.toString()))
      throw new ControlError('CTL_ERR_CONFLICT', `zone ${origin} already exists`, 'name');
    await this.#checkNesting(repo, origin, accountId);
  }

  /** The account a new zone goes to. Admins without one get the built-in default account. */
  async #zoneAccount(repo: Repo, p: Principal, requested: string | undefined): Promise<string> {
    if (!p.scope.admin) return p.accountId as string;
    if (requested !== undefined) {
      if (typeof requested !== 'string') throw invalid('accountId must be a string', 'accountId');
      return requested;
    }
    if (p.accountId !== null) return p.accountId;
    const account = await repo.ensureAccount({
      id: randomUUID(),
      name: DEFAULT_ACCOUNT,
      max_zones: this.#ctx.limits.defaultMaxZones,
      max_records: this.#ctx.limits.defaultMaxRecords,
      created_at: now(),
    });
    return account.id;
  }

  /**
   * One zone name belongs to one account — and so does the tree under it: a zone inside
   * (or around) another account's zone would answer for names that tenant owns.
   */
  async #checkNesting(repo: Repo, origin: Name, accountId: string): Promise<void> {
    const ancestors: string[] = [];
    for (let n = origin.parent(); !n.isRoot; n = n.parent()) ancestors.push(n.toString());
    for (const z of await repo.zonesNamed(ancestors))
      if (z.account_id !== accountId)
        throw new ControlError('CTL_ERR_CONFLICT', `${origin} is inside a zone of another account`, 'name');
    const below = await repo.zonesBelow(origin.toString(), 1, accountId);
    if (below.length > 0)
      throw new ControlError('CTL_ERR_CONFLICT', `${origin} contains a zone of another account`, 'name');
  }

  /** The content of a new zone from RRsets or a zone file, with SOA and NS filled in. */
  #initialContent(
    origin: Name,
    input: { rrsets?: RRsetData[]; zonefile?: string; nameservers?: string[] },
  ): { content: ZoneContent; locate: Locate } {
    let content: ZoneContent;
    let locate: Locate;
    const hasRRsets = Array.isArray(input.rrsets) && input.rrsets.length > 0;
    if (input.zonefile !== undefined && input.zonefile !== null) {
      if (hasRRsets) throw invalid('give either rrsets or a zonefile, not both', 'zonefile');
      const z = parseZonefile(input.zonefile, origin, this.#ctx.limits);
      content = z.content;
      locate = locateInZonefile(z);
    } else {
      if (input.rrsets !== undefined && !Array.isArray(input.rrsets))
        throw invalid('rrsets must be a list', 'rrsets');
      const changes = (input.rrsets ?? []).map((r) => ({ ...(r as object), op: 'replace' }));
      const prepared = prepareChanges(changes, origin, this.#ctx.limits, 'rrsets');
      content = new Map();
      locate = locateInChanges(applyChanges(content, prepared, this.#ctx.limits));
    }
    const apex = nameKeyOf(origin);
    const nsKey = rrsetKey(apex, RRType.NS);
    let nameservers: string[] = [];
    if (input.nameservers !== undefined && input.nameservers !== null) {
      if (!Array.isArray(input.nameservers))
        throw invalid('nameservers must be a list of names', 'nameservers');
      // RFC 952 / RFC 1123 host names: an NS target is a host ('bad name!' is a 422).
      nameservers = input.nameservers.map((n, i) =>
        parseHostName(typeof n === 'string' ? toOctets(n) : n, `nameservers[${i}]`),
      );
    }
    if (nameservers.length === 0 && !content.has(nsKey))
      nameservers = (this.#ctx.opts.defaults?.nameservers ?? []).map((n, i) =>
        parseHostName(n, `defaults.nameservers[${i}]`),
      );
    if (nameservers.length > 0) {
      const old = content.get(nsKey);
      const records = [...(old?.records ?? [])];
      for (const ns of nameservers)
        if (!records.some((r) => r.content === ns)) records.push({ content: ns, disabled: false });
      content.set(nsKey, {
        name: origin.toString(),
        nameKey: apex,
        type: RRType.NS,
        ttl: old?.ttl ?? GENERATED_TTL,
        records,
      });
    }
    if (!content.has(nsKey))
      throw invalid('a zone needs nameservers: give nameservers or an NS RRset at the apex', 'nameservers');
    const soaKey = rrsetKey(apex, RRType.SOA);
    if (!content.has(soaKey)) {
      const ns = content.get(nsKey)?.records[0]?.content ?? `ns1.${origin}`;
      const hostmaster = this.#ctx.opts.defaults?.hostmaster
        ? this.#nameserver(this.#ctx.opts.defaults.hostmaster, 'defaults.hostmaster')
        : `hostmaster.${origin}`;
      content.set(soaKey, {
        name: origin.toString(),
        nameKey: apex,
        type: RRType.SOA,
        ttl: GENERATED_TTL,
        records: [{ content: `${ns} ${hostmaster} 1 10800 3600 604800 3600`, disabled: false }],
      });
    }
    return { content, locate };
  }

  #nameserver(v: unknown, field: string): string {
    if (typeof v !== 'string' || v.length === 0) throw invalid('a nameserver must be a domain name', field);
    try {
      return Name.parse(v.endsWith('.') ? toOctets(v) : `${toOctets(v)}.`).toString();
    } catch (err) {
      throw invalid(`bad name '${quoted(v)}': ${quoted((err as Error).message, 256)}`, field);
    }
  }

  async getZone(p: Principal, name: string): Promise<ZoneDetail> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(name).toString();
    return this.#ctx.store.read(async (repo) => {
      const zone = await this.#ctx.visibleZone(repo, p, zname);
      const content = contentOf(await repo.getRRsets(zone.id));
      return { ...toZoneInfo(zone), rrsets: sortedRRsets(content).map(toRRsetData) };
    });
  }

  async deleteZone(p: Principal, name: string, opts?: ChangeOptions): Promise<void> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(name).toString();
    const ev = await this.#ctx.write(async (repo) => {
      const zone = await this.#ctx.visibleZone(repo, p, zname, true);
      requireWrite(p);
      checkIfMatch(opts, zone);
      // Kept restorable with its history for the retention time (deleted.ts).
      await repo.softDeleteZone(zone, now(), p.tokenId);
      this.#cache.delete(zone.id);
      await this.#ctx.audit(repo, p, 'zone.delete', zone.name, zone.account_id, {
        version: zone.version,
        serial: zone.serial,
        ...(opts?.comment ? { comment: opts.comment } : {}),
      });
      const e: ZoneChangeEvent = { zone: zone.name, version: Number(zone.version), deleted: true };
      await this.#ctx.events.notify(repo, e);
      return e;
    });
    this.#ctx.events.emit(ev);
  }

  /** Checks, before the transaction, that `p` may write the zone (cheap early refusal). */
  async #precheckWrite(p: Principal, name: string): Promise<Name> {
    const origin = this.#ctx.zoneName(name);
    await this.#ctx.visibleZone(this.#ctx.store.repo, p, origin.toString());
    requireWrite(p);
    return origin;
  }

  async changeRRsets(
    p: Principal,
    name: string,
    changes: RRsetChange[],
    opts?: ChangeOptions,
  ): Promise<ZoneChangeResult> {
    this.#ctx.checkOpen();
    const origin = await this.#precheckWrite(p, name);
    // Syntax needs no current state: checked before taking any lock.
    const prepared = prepareChanges(changes, origin, this.#ctx.limits, 'rrsets');
    return this.#change(p, origin, opts, 'change', (current) => {
      const draft = new Map(current);
      const touches = applyChanges(draft, prepared, this.#ctx.limits);
      return { draft, locate: locateInChanges(touches) };
    });
  }

  async importZone(
    p: Principal,
    name: string,
    zonefile: string,
    opts?: ChangeOptions,
  ): Promise<ZoneChangeResult> {
    this.#ctx.checkOpen();
    const origin = await this.#precheckWrite(p, name);
    const parsed = parseZonefile(zonefile, origin, this.#ctx.limits);
    return this.#change(p, origin, opts, 'import', (current) => {
      const draft: ZoneContent = new Map(parsed.content);
      const soaKey = rrsetKey(nameKeyOf(origin), RRType.SOA);
      // A zone file without an SOA keeps the zone's (with the next serial).
      const soa = current.get(soaKey);
      if (!draft.has(soaKey) && soa) draft.set(soaKey, soa);
      return { draft, locate: locateInZonefile(parsed) };
    });
  }

  async rollback(
    p: Principal,
    name: string,
    version: number,
    opts?: ChangeOptions,
  ): Promise<ZoneChangeResult> {
    this.#ctx.checkOpen();
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
      throw invalid('version must be a positive integer', 'version');
    const origin = await this.#precheckWrite(p, name);
    const comment = opts?.comment ?? `rollback to version ${version}`;
    return this.#change(p, origin, { ...opts, comment }, 'rollback', async (current, repo, zone) => {
      if (!(await repo.getVersion(zone.id, version))) {
        if (version <= Number(zone.version))
          throw prunedVersion(zone.name, version, retentionOf(this.#ctx.opts.retention));
        throw new ControlError('CTL_ERR_NOT_FOUND', `zone ${zone.name} has no version ${version}`, 'version');
      }
      // Content of `version` = the current content with every later version undone.
      const draft: ZoneContent = new Map(current);
      for (const v of await repo.versionsAfter(zone.id, version))
        for (const c of parseChanges(v.changes)) {
          const s = (c.before ?? c.after) as RRsetState;
          const key = rrsetKey(s.nameKey, s.type);
          if (c.before) draft.set(key, c.before);
          else draft.delete(key);
        }
      const where = `version ${version} cannot be restored: `;
      return { draft, locate: () => ({ where }) };
    });
  }

  /**
   * The common path of every content change: lock and re-check the zone, build the draft
   * from the current content, validate it whole, write it as the next version. A draft equal
   * to the current content (an identical import, a rollback to the current content, removing
   * a record that is not there) writes nothing: `changed: false`. A dry run validates and
   * diffs as usual (quotas included) and writes nothing.
   */
  async #change(
    p: Principal,
    origin: Name,
    opts: ChangeOptions | undefined,
    kind: 'change' | 'import' | 'rollback',
    makeDraft: (
      current: ZoneContent,
      repo: Repo,
      zone: ZoneRow,
    ) => { draft: ZoneContent; locate: Locate } | Promise<{ draft: ZoneContent; locate: Locate }>,
  ): Promise<ZoneChangeResult> {
    const zname = origin.toString();
    const comment = typeof opts?.comment === 'string' ? opts.comment : null;
    const dryRun = opts?.dryRun === true;
    const result = await this.#ctx.write(async (repo) => {
      // PostgreSQL: the row lock serialises writers of this zone across replicas.
      const zone = await this.#ctx.visibleZone(repo, p, zname, true);
      requireWrite(p);
      checkIfMatch(opts, zone);
      const { content: current, memo } = await this.#currentContent(repo, zone);
      const { draft, locate } = await makeDraft(current, repo, zone);
      if (diffContent(current, draft).length === 0)
        // Nothing to change (an identical import, say): no new version, no serial bump.
        return { zone, settled: undefined };
      const settled = this.#settle(draft, current, origin, zone.serial, locate, memo);
      await this.#checkRecordQuota(repo, p, zone.account_id, settled.recordCount - Number(zone.record_count));
      if (dryRun) return { zone, settled };
      const next = await this.#writeVersion(repo, p, zone, settled, kind, comment);
      return { zone: next, settled };
    });
    const { zone, settled } = result;
    if (settled && !dryRun) {
      const version = Number(zone.version);
      this.#remember(zone.id, version, settled);
      this.#ctx.events.emit({ zone: zname, version, deleted: false });
    }
    const out: ZoneChangeResult = {
      ...toZoneInfo(zone),
      changed: settled !== undefined,
      added: settled?.added ?? 0,
      removed: settled?.removed ?? 0,
    };
    if (dryRun) {
      const lines = settled ? changeLines(settled.diff) : { removed: [], added: [] };
      out.dryRun = true;
      out.removedRecords = lines.removed;
      out.addedRecords = lines.added;
    }
    if (settled && settled.warnings.length > 0) out.warnings = settled.warnings;
    return out;
  }

  async updateZoneMetadata(
    p: Principal,
    name: string,
    input: ZoneMetadataInput,
    opts?: ChangeOptions,
  ): Promise<ZoneInfo> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(name).toString();
    const comment = typeof opts?.comment === 'string' ? opts.comment : undefined;
    return this.#ctx.write(async (repo) => {
      // The row lock orders this with content changes of the zone (PostgreSQL).
      const zone = await this.#ctx.visibleZone(repo, p, zname, true);
      requireWrite(p);
      checkIfMatch(opts, zone);
      const before = metadataOfRow(zone);
      const after = mergeMetadata(before, input);
      const changes = diffMetadata(before, after);
      if (Object.keys(changes).length === 0) return toZoneInfo(zone);
      // Metadata is not content: the served zone, its version and its serial stay.
      const patch = { kind: after.kind, soa_edit_api: after.soaEditApi, account_label: after.accountLabel };
      await repo.updateZone(zone.id, patch);
      await this.#ctx.audit(repo, p, 'zone.metadata', zone.name, zone.account_id, {
        version: Number(zone.version),
        changes,
        ...(comment !== undefined ? { comment } : {}),
      });
      return toZoneInfo({ ...zone, ...patch });
    });
  }

  async exportZone(p: Principal, name: string): Promise<string> {
    this.#ctx.checkOpen();
    const origin = this.#ctx.zoneName(name);
    const content = await this.#ctx.store.read(async (repo) => {
      const zone = await this.#ctx.visibleZone(repo, p, origin.toString());
      return contentOf(await repo.getRRsets(zone.id));
    });
    return exportContent(content);
  }
}
