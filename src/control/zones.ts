/**
 * Zone changes: zones created, changed (RRsets), imported, rolled back, deleted and their
 * metadata updated — each one transaction that validates the whole new content, then writes
 * it as the zone's next version (settle, write version) — and the content cache of big zones.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Repo, ZoneRow } from '../store/index.js';
import type { Name } from '../wire/name.js';
import type { CatalogChange } from '../xfr/catz/format.js';
import { emptyCatalogText } from '../xfr/catz/format.js';
import { isAccountWide, requireWrite, SYSTEM_PRINCIPAL, scopeAllowsZone } from './access.js';
import { consumerOfMember, membersOfConsumer, refuseMemberChange } from './catalog-consumer.js';
import { type CatalogZones, catalogWriter, refuseCatalogWrite } from './catalog-zones.js';
import { checkIfMatch, DEFAULT_ACCOUNT, invalid, listedAccount, now, type PlaneContext } from './context.js';
import type { UpdateRR } from './dns-update.js';
import { exportContent, type RecordBudget } from './edit.js';
import { InlineZoneWork, SplitZoneWork, ThreadZoneWork } from './offload.js';
import { decodeCursor, isStringCursor, makePage, pageLimit } from './paging.js';
import { checkQuota } from './quota.js';
import { parseZoneName, toRRsetData } from './records.js';
import { prunedVersion, retentionOf } from './retention.js';
import { contentIdOf, contentOf, sortedRRsets, toZoneInfo } from './rows.js';
import { PLACEHOLDER_ZONEFILE, refuseSecondaryWrite, type Secondaries } from './secondary.js';
import {
  abandonContent,
  adoptContent,
  collectGarbage,
  retireContent,
  type StageTarget,
  stageContent,
} from './staging.js';
import type { TransferStep } from './transfer-diff.js';
import {
  type ChangeOptions,
  ControlError,
  isJsonList,
  type JsonList,
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
import {
  checkRequestBudget,
  countRequestRecords,
  ROW_SLICE,
  type StoredRRset,
  type ZoneJob,
  type ZoneWork,
} from './zone-work.js';

/** Makes a change's job from the zone as last committed (`repo`: where to read more). */
type MakeJob = (zone: ZoneRow, budget: RecordBudget, repo: Repo) => ZoneJob | Promise<ZoneJob>;

/** A change retried this often when the zone changed while its work was done; the last attempt works under the lock. */
const MAX_ATTEMPTS = 5;

/** The kinds of content change that go through `#offloaded`. */
type ChangeKind = 'change' | 'import' | 'rollback' | 'update';

/** Zones and requests up to this many records are worked on the calling thread (~1 ms). */
const SMALL_RECORDS = 500;
/** Zone files up to this many characters likewise. */
const SMALL_TEXT = 32 * 1024;

/** Work small enough for the calling thread: it never queues behind a big job in the worker. */
function isSmallJob(job: ZoneJob, zoneRecords: number): boolean {
  if (zoneRecords > SMALL_RECORDS) return false;
  switch (job.kind) {
    case 'change':
      // A JsonList is a big body decoded off the loop: never worked on the loop.
      return (
        !isJsonList(job.changes) &&
        (Array.isArray(job.changes) ? job.changes.length : 0) + countRequestRecords(job.changes) <=
          SMALL_RECORDS
      );
    case 'import':
      return job.text.length <= SMALL_TEXT;
    case 'rollback':
      return job.undo.reduce((n, u) => n + u.length, 0) <= SMALL_TEXT;
    case 'update':
      return job.prereqs.length + job.updates.length <= SMALL_RECORDS;
    case 'ixfr':
      return job.steps.reduce((n, st) => n + st.removed.length + st.added.length, 0) <= SMALL_TEXT;
    case 'create':
      return (
        !isJsonList(job.input.rrsets) &&
        countRequestRecords(job.input.rrsets) <= SMALL_RECORDS &&
        (typeof job.input.zonefile !== 'string' || job.input.zonefile.length <= SMALL_TEXT)
      );
  }
}

/** What a change answers: the zone, whether it changed, the counts, a dry run's lines, warnings. */
function resultOf(
  zone: ZoneRow,
  work: ZoneWork,
  changed: boolean,
  opts: ChangeOptions | undefined,
): ZoneChangeResult {
  const out: ZoneChangeResult = {
    ...toZoneInfo(zone),
    changed,
    added: changed ? work.added : 0,
    removed: changed ? work.removed : 0,
  };
  if (opts?.dryRun === true) {
    out.dryRun = true;
    out.removedRecords = work.lines?.removed ?? [];
    out.addedRecords = work.lines?.added ?? [];
  }
  if (changed && work.warnings.length > 0) out.warnings = work.warnings;
  if (work.dnsUpdate !== undefined) out.dnsUpdate = work.dnsUpdate;
  return out;
}

/** Lets the event loop serve other requests between two slices of a big write. */
function yieldLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The zone operations of the control plane. */
export class Zones {
  readonly #ctx: PlaneContext;
  /**
   * Where changes are parsed, checked and diffed: a worker thread, off the loop that serves
   * every tenant. It keeps big zones' content between changes (keyed by zone id and version,
   * so a change made by another replica is never missed).
   */
  readonly #runner: SplitZoneWork;
  /** The last change queued for each zone (see #offloaded). */
  readonly #queues = new Map<string, Promise<void>>();
  #collecting = false;
  #collectAgain = false;
  #closing = false;
  /** Secondary zones' settings (set by the plane after construction). */
  secondaries: Secondaries | undefined;
  /** Catalog zones (RFC 9432): the `catalog` field and Producer zones (set by the plane). */
  catalogs: CatalogZones | undefined;

  constructor(ctx: PlaneContext) {
    this.#ctx = ctx;
    const inline = new InlineZoneWork();
    this.#runner = new SplitZoneWork(
      inline,
      ctx.opts.zoneWork === 'inline'
        ? inline
        : new ThreadZoneWork({ heapMb: ctx.opts.limits?.workerHeapMb, stageFile: ctx.store.file }),
    );
    // Rows left by a crash (or a close) mid-way.
    this.#collect();
  }

  /** Stops the worker thread and the collection of old rows. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#runner.close();
  }

  /**
   * How many records a request on the account may make, before any is made: the account's
   * record quota less what its other zones hold (administrators are exempt), and never more
   * than the per-request ceiling. `zoneRecords`: the records of the zone the request replaces.
   */
  async #budget(p: Principal, accountId: string | null, zoneRecords: number): Promise<RecordBudget> {
    const ceiling = this.#ctx.limits.maxRecordsPerRequest;
    const byCeiling: RecordBudget = {
      max: ceiling,
      name: 'the per-request ceiling maxRecordsPerRequest',
      code: 'CTL_ERR_VALIDATION',
    };
    if (p.scope.admin || accountId === null) return byCeiling;
    const repo = this.#ctx.store.repo;
    const account = await repo.getAccount(accountId);
    if (!account) return byCeiling;
    const quota = Number(account.max_records);
    const elsewhere = Math.max(0, (await repo.sumRecords(accountId)) - zoneRecords);
    const left = Math.max(0, quota - elsewhere);
    if (left >= ceiling) return byCeiling;
    return {
      max: left,
      name: `the account's record quota ${quota}, less ${elsewhere} in its other zones`,
      code: 'CTL_ERR_QUOTA',
    };
  }

  /** Writes rows of a job's JSON slices, yielding to the event loop between slices. */
  async #insertSlices(repo: Repo, zoneId: string, slices: readonly string[]): Promise<void> {
    for (const slice of slices) {
      const rows = (JSON.parse(slice) as StoredRRset[]).map((r) => ({ zone_id: zoneId, ...r }));
      await repo.insertRRsets(rows);
      if (slices.length > 1) await yieldLoop();
    }
  }

  /** Staging and collection (staging.ts) on the request loop, yielding between transactions. */
  #loopTarget(): StageTarget {
    return {
      write: (fn) => this.#ctx.write(fn),
      read: this.#ctx.store.repo,
      pause: yieldLoop,
      stopped: () => this.#closing,
    };
  }

  /**
   * Writes a whole new content under a new content id, one short transaction per slice, so
   * other writers get in between: the switch to it is then one short write (see #switchTo).
   */
  #stage(slices: readonly string[]): Promise<string> {
    return stageContent(this.#loopTarget(), slices);
  }

  /** A staged content that will not be used: its rows go now. */
  #abandon(id: string): void {
    abandonContent(this.#loopTarget(), id).then(
      () => this.#collect(),
      () => {},
    );
  }

  /** In the switching transaction: the zone's content is now `stageId`; its old rows are garbage. */
  async #switchTo(repo: Repo, zone: ZoneRow, stageId: string): Promise<void> {
    await repo.updateZone(zone.id, { content_id: stageId });
    await adoptContent(repo, stageId);
    await retireContent(repo, contentIdOf(zone));
  }

  /**
   * Deletes the rows of content ids that are due (replaced, abandoned, of purged deleted
   * zones), a slice per short transaction; one run at a time, in the background. Also called
   * by retention once it has purged deleted zones.
   */
  collect(): void {
    this.#collect();
  }

  /** The served text of a big zone at `version`, rendered by the zone-work thread if it holds it. */
  servedText(zoneId: string, version: number): Promise<string | undefined> {
    return this.#runner.servedText(zoneId, version);
  }

  #collect(): void {
    // SQLite: on the zone-work thread's own connection, off the request loop.
    if (this.#closing || this.#runner.collect()) return;
    if (this.#collecting) {
      this.#collectAgain = true;
      return;
    }
    this.#collecting = true;
    collectGarbage(this.#loopTarget())
      .catch(() => {
        // Tried again after the next change (and at the next start).
      })
      .finally(() => {
        this.#collecting = false;
        if (this.#collectAgain && !this.#closing) {
          this.#collectAgain = false;
          this.#collect();
        }
      });
  }

  /** Writes a job's work as the zone's next version: rows, zone row, version row, audit. */
  async #writeWork(
    repo: Repo,
    p: Principal,
    zone: ZoneRow,
    work: ZoneWork,
    kind: ChangeKind,
    comment: string | null,
    stageId: string | undefined,
  ): Promise<ZoneRow> {
    const contentId = contentIdOf(zone);
    if (stageId !== undefined) await this.#switchTo(repo, zone, stageId);
    else {
      // Small enough for this transaction (or the last attempt, under the zone's lock).
      if (work.rewrite) await repo.deleteAllRRsets(contentId);
      else
        for (let i = 0; i < work.deletes.length; i++) {
          const [nameKey, type] = work.deletes[i];
          await repo.deleteRRset(contentId, nameKey, type);
          if (i % ROW_SLICE === ROW_SLICE - 1) await yieldLoop();
        }
      await this.#insertSlices(repo, contentId, work.rows);
    }
    return this.#finishVersion(repo, p, zone, work, work.changes, kind, comment);
  }

  /** The zone row, version row, audit row and notification of a new version. */
  async #finishVersion(
    repo: Repo,
    p: Principal,
    zone: ZoneRow,
    s: { serial: number; recordCount: number; added: number; removed: number },
    changes: string,
    kind: ChangeKind,
    comment: string | null,
  ): Promise<ZoneRow> {
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
      changes,
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
    // An administrator's list of every account leaves out the platform's own catalog zone.
    const notAccount =
      accountId === undefined ? await this.catalogs?.systemAccountId(this.#ctx.store.repo) : undefined;
    const rows = await this.#ctx.store.repo.listZones({
      accountId,
      notAccount,
      names,
      after,
      limit: limit + 1,
    });
    return makePage(rows, limit, toZoneInfo, (r) => r.name);
  }

  async createZone(
    p: Principal,
    input: {
      name: string;
      accountId?: string;
      rrsets?: RRsetData[] | JsonList;
      zonefile?: string;
      nameservers?: string[];
      masters?: unknown;
      slaveTsigKeyIds?: unknown;
      catalog?: unknown;
      /** A member made by a Consumer zone (control/catalog-consumer.ts; never from the API). */
      consumerMember?: { catalog: string; memberId: string };
      noRRsets?: boolean;
    } & ZoneMetadataInput,
  ): Promise<ZoneDetail & { warnings?: string[]; rrsetsJson?: string }> {
    // Authorization and a taken name come first: PowerDNS answers a duplicate zone with 409
    // whatever else is wrong with the request.
    const origin = await this.#precheckCreate(p, input);
    const zname = origin.toString();
    const metadata = mergeMetadata(DEFAULT_METADATA, input);
    // A secondary zone: masters checked now; its content comes by transfer (a placeholder at
    // serial 0, never served, until the first one).
    // A Consumer zone (another provider's catalog) likewise, its members kept by catalog-consumer.ts.
    let masters: string[] | undefined;
    if (metadata.kind === 'Slave' || metadata.kind === 'Consumer') {
      const secondaries = this.secondaries as Secondaries;
      masters = secondaries.checkMasters(input.masters);
      const k = metadata.kind;
      if (input.rrsets !== undefined && !(Array.isArray(input.rrsets) && input.rrsets.length === 0))
        throw invalid(`a ${k} zone gets its records from its masters: rrsets must be empty`, 'rrsets');
      if (input.zonefile !== undefined)
        throw invalid(`a ${k} zone gets its records from its masters: no zone file`, 'zonefile');
      if (k === 'Consumer' && input.catalog !== undefined && input.catalog !== null && input.catalog !== '')
        throw invalid(
          `zone ${zname} is a catalog zone (kind Consumer): it cannot be a member of one`,
          'catalog',
        );
      input = { ...input, rrsets: undefined, zonefile: PLACEHOLDER_ZONEFILE, nameservers: undefined };
    } else if (input.masters != null && !(Array.isArray(input.masters) && input.masters.length === 0))
      throw invalid('masters are for zones of kind Slave or Consumer', 'masters');
    // A catalog zone (RFC 9432): its records are generated (SOA, NS invalid., version "2", then
    // one PTR per member written by start's catalog writer).
    if (metadata.kind === 'Producer') {
      if (input.rrsets !== undefined && !(Array.isArray(input.rrsets) && input.rrsets.length === 0))
        throw invalid(
          'a Producer (catalog) zone gets its records from its members: rrsets must be empty',
          'rrsets',
        );
      if (input.zonefile !== undefined && p !== SYSTEM_PRINCIPAL)
        throw invalid(
          'a Producer (catalog) zone gets its records from its members: no zone file',
          'zonefile',
        );
      if (input.catalog !== undefined && input.catalog !== null && input.catalog !== '')
        throw invalid(
          `zone ${zname} is a catalog zone (kind Producer): it cannot be a member of one`,
          'catalog',
        );
      input = { ...input, rrsets: undefined, zonefile: emptyCatalogText(zname), nameservers: undefined };
    }
    // The zone quota, before any work (the creating transaction checks again, with the records).
    if (!p.scope.admin)
      await checkQuota(
        this.#ctx.store.repo,
        p,
        p.accountId as string,
        { zones: 1, records: 0 },
        { zoneField: 'name', lock: false },
      );
    const budget = await this.#budget(p, p.scope.admin ? null : p.accountId, 0);
    // Counted before anything is parsed or sent to the worker.
    if (Array.isArray(input.rrsets)) checkRequestBudget(input.rrsets, budget, 'rrsets');
    const job: ZoneJob = {
      kind: 'create',
      origin: zname,
      input: { rrsets: input.rrsets, zonefile: input.zonefile, nameservers: input.nameservers },
      defaults: this.#ctx.opts.defaults,
      limits: this.#editLimits(),
      budget,
    };
    if (this.#ctx.opts.servedText === false) job.noServedText = true;
    if (input.noRRsets === true) job.noRRsets = true;
    const { work: settled, ticket } = await this.#runner.run(job, undefined, isSmallJob(job, 0));
    const zoneId = randomUUID();
    let committed = false;
    let stageId: string | undefined;
    try {
      // A big content is written beforehand in short slices (by the thread, or here), a
      // small one by the creating transaction itself.
      if (settled.stage) stageId = settled.stageId ?? (await this.#stage(settled.rows));
      const contentId = stageId ?? randomUUID();
      const at = now();
      const zone = await this.#ctx.write(async (repo) => {
        const accountId = await this.#zoneAccount(repo, p, input.accountId);
        if (!(await repo.getAccount(accountId)))
          throw new ControlError('CTL_ERR_NOT_FOUND', `account ${accountId} not found`, 'accountId');
        // Again, under the transaction: another request may have taken the name meanwhile.
        await this.#checkNameFree(repo, origin, accountId);
        await checkQuota(
          repo,
          p,
          accountId,
          { zones: 1, records: settled.recordCount },
          { zoneField: 'name', recordField: input.zonefile !== undefined ? 'zonefile' : 'rrsets' },
        );
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
          content_id: contentId,
        };
        await repo.insertZone(row);
        if (masters !== undefined) {
          const secondaries = this.secondaries as Secondaries;
          const key = await secondaries.checkKey(repo, accountId, input.slaveTsigKeyIds);
          await secondaries.put(repo, zoneId, masters, key);
          await this.#ctx.events.notifyShield(repo, zname);
        }
        if (input.catalog !== undefined && input.catalog !== null && input.catalog !== '')
          await (this.catalogs as CatalogZones).setCatalog(repo, row, input.catalog);
        if (input.consumerMember !== undefined)
          await repo.db
            .insertInto('zone_catalog')
            .values({
              zone_id: zoneId,
              account_id: accountId,
              catalog: input.consumerMember.catalog,
              member_id: input.consumerMember.memberId,
              updated_at: at,
            })
            .execute();
        // The workers refuse a catalog zone's ordinary queries: they learn it with the transfer settings.
        if (metadata.kind === 'Producer' || metadata.kind === 'Consumer')
          await this.#ctx.events.notifySettings(repo, zname, ['transfer']);
        if (stageId !== undefined) await adoptContent(repo, stageId);
        else await this.#insertSlices(repo, contentId, settled.rows);
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
          changes: settled.changes,
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
      committed = true;
      if (masters !== undefined) this.#ctx.events.emitShield();
      if (metadata.kind === 'Producer')
        this.#ctx.events.emitSettings({ zone: zname, kinds: ['transfer', 'catalog'] });
      else if (metadata.kind === 'Consumer')
        this.#ctx.events.emitSettings({ zone: zname, kinds: ['transfer'] });
      else if (input.catalog !== undefined && input.catalog !== null && input.catalog !== '')
        this.#ctx.events.emitSettings({ zone: zname, kinds: ['catalog'] });
      this.#runner.committed(ticket, zoneId, 1);
      this.#ctx.rememberServed(
        settled.servedText !== undefined
          ? { name: zname, serial: settled.serial, version: 1, text: settled.servedText }
          : undefined,
        zoneId,
      );
      this.#ctx.events.emit({ zone: zname, version: 1, deleted: false });
      return {
        ...toZoneInfo(zone),
        rrsets: settled.rrsets ?? [],
        ...(settled.rrsetsJson !== undefined ? { rrsetsJson: settled.rrsetsJson } : {}),
        ...(settled.warnings.length > 0 ? { warnings: settled.warnings } : {}),
      };
    } finally {
      if (!committed) {
        this.#runner.discarded(ticket);
        if (stageId !== undefined) this.#abandon(stageId);
      }
    }
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

  /** For restoring a deleted zone (deleted.ts): the checks of a new zone's name. */
  checkNameFreeFor(repo: Repo, origin: Name, accountId: string): Promise<void> {
    return this.#checkNameFree(repo, origin, accountId);
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

  async getZone(p: Principal, name: string): Promise<ZoneDetail> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(name).toString();
    return this.#ctx.store.read(async (repo) => {
      const zone = await this.#ctx.visibleZone(repo, p, zname);
      const content = contentOf(await repo.getRRsets(contentIdOf(zone)));
      const catalog = (await this.catalogs?.catalogOf(repo, zone.id)) ?? '';
      return {
        ...toZoneInfo(zone),
        ...(catalog !== '' ? { catalog } : {}),
        rrsets: sortedRRsets(content).map(toRRsetData),
      };
    });
  }

  async deleteZone(p: Principal, name: string, opts?: ChangeOptions): Promise<void> {
    return this.#deleteZone(p, name, opts, undefined);
  }

  /**
   * A member zone of a Consumer zone deleted by it (control/catalog-consumer.ts): the member
   * gone from the catalog, or re-created there (a new unique id). `zoneId`: the member it
   * decided about (a zone re-created meanwhile is left alone).
   */
  deleteConsumerMember(p: Principal, name: string, zoneId: string, comment: string): Promise<void> {
    return this.#deleteZone(p, name, { comment }, zoneId);
  }

  async #deleteZone(
    p: Principal,
    name: string,
    opts: ChangeOptions | undefined,
    memberId: string | undefined,
  ): Promise<void> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(name).toString();
    const events = await this.#ctx.write(async (repo) => {
      const zone = await this.#ctx.visibleZone(repo, p, zname, true);
      requireWrite(p);
      checkIfMatch(opts, zone);
      const consumer = await consumerOfMember(repo, zone.id);
      if (memberId !== undefined) {
        if (zone.id !== memberId || consumer === undefined)
          throw new ControlError('CTL_ERR_NOT_FOUND', `member zone ${zname} not found`);
      } else if (consumer !== undefined) refuseMemberChange(zone, consumer);
      if (zone.kind === 'Producer') {
        const catalogs = this.catalogs as CatalogZones;
        if (await catalogs.isSystemCatalog(repo, zone))
          throw new ControlError('CTL_ERR_FORBIDDEN', `zone ${zone.name} is the platform's fleet catalog`);
        await catalogs.producerDeleted(repo, zone);
      }
      const out: ZoneChangeEvent[] = [];
      const remove = async (z: ZoneRow, comment: string | undefined) => {
        // Kept restorable with its history for the retention time (deleted.ts).
        await repo.softDeleteZone(z, now(), p.tokenId);
        this.#runner.forget(z.id);
        await this.#ctx.audit(repo, p, 'zone.delete', z.name, z.account_id, {
          version: z.version,
          serial: z.serial,
          ...(comment ? { comment } : {}),
        });
        const e: ZoneChangeEvent = { zone: z.name, version: Number(z.version), deleted: true };
        await this.#ctx.events.notify(repo, e);
        out.push(e);
      };
      // A Consumer zone takes the members it made with it.
      if (zone.kind === 'Consumer')
        for (const m of await membersOfConsumer(repo, zone))
          await remove(m, `member of catalog ${zone.name}, deleted with it`);
      await remove(zone, opts?.comment);
      return out;
    });
    // Its rows stay, under its content id, until the deleted zone is purged (retention.ts).
    for (const ev of events) this.#ctx.events.emit(ev);
  }

  /** Checks, before the transaction, that `p` may write the zone (cheap early refusal). */
  async #precheckWrite(p: Principal, name: string): Promise<Name> {
    const origin = this.#ctx.zoneName(name);
    const zone = await this.#ctx.visibleZone(this.#ctx.store.repo, p, origin.toString());
    requireWrite(p);
    refuseSecondaryWrite(zone);
    refuseCatalogWrite(zone);
    return origin;
  }

  /**
   * RRset changes of a catalog zone (kind Producer) by the platform's catalog writer: one
   * version, as the zone's account with an administrator's exemption from quotas (a catalog's
   * records are not the tenant's). Refused when the zone is not a Producer zone.
   */
  async catalogWrite(name: string, changes: readonly CatalogChange[]): Promise<ZoneChangeResult> {
    this.#ctx.checkOpen();
    const origin = this.#ctx.zoneName(name);
    const zone = await this.#ctx.store.repo.getZoneByName(origin.toString());
    if (zone?.kind !== 'Producer')
      throw new ControlError('CTL_ERR_NOT_FOUND', `catalog zone ${origin} not found`);
    const p = catalogWriter(zone.account_id);
    return this.#offloaded(p, origin, { comment: 'catalog members' }, 'change', (z) => {
      if (z.kind !== 'Producer')
        throw new ControlError('CTL_ERR_NOT_FOUND', `catalog zone ${origin} not found`);
      return {
        kind: 'change',
        origin: origin.toString(),
        serial: z.serial,
        changes: changes as RRsetChange[],
        limits: this.#editLimits(),
        dryRun: false,
      };
    });
  }

  /**
   * A secondary zone's transferred content (master-file text) as its next version: the import
   * path (parsed, checked, diffed off the request loop when big; the account's record quota),
   * with the primary's serial kept. Written as the zone's account (no administrator's
   * exemption); refused when the zone is gone, was re-created, or is no longer Slave.
   */
  transferIn(zoneId: string, name: string, text: string, comment: string): Promise<ZoneChangeResult> {
    return this.#transfer(zoneId, name, comment, (z, origin, budget) => ({
      kind: 'import',
      origin,
      serial: z.serial,
      text,
      keepSerial: true,
      limits: this.#editLimits(),
      budget,
    }));
  }

  /**
   * A secondary zone's IXFR difference as its next version (transfer-diff.ts: applied to the
   * stored content in the zone-work thread, the primary's serial kept), written as `transferIn`
   * writes a whole transfer; refused (CTL_ERR_VALIDATION) when it does not apply to what is stored.
   */
  transferInSteps(
    zoneId: string,
    name: string,
    steps: TransferStep[],
    comment: string,
  ): Promise<ZoneChangeResult> {
    return this.#transfer(zoneId, name, comment, (z, origin) => ({
      kind: 'ixfr',
      origin,
      serial: z.serial,
      steps,
      limits: this.#editLimits(),
    }));
  }

  async #transfer(
    zoneId: string,
    name: string,
    comment: string,
    makeJob: (zone: ZoneRow, origin: string, budget: RecordBudget) => ZoneJob,
  ): Promise<ZoneChangeResult> {
    this.#ctx.checkOpen();
    const origin = this.#ctx.zoneName(name);
    const zone = await this.#ctx.store.repo.getZoneByName(origin.toString());
    if (!zone || zone.id !== zoneId || (zone.kind !== 'Slave' && zone.kind !== 'Consumer'))
      throw new ControlError('CTL_ERR_NOT_FOUND', `secondary zone ${origin} not found`);
    const p: Principal = {
      tokenId: SYSTEM_PRINCIPAL.tokenId,
      accountId: zone.account_id,
      scope: { admin: false, access: 'write' },
      remote: 'zone transfer',
    };
    return this.#offloaded(p, origin, { comment }, 'import', (z, budget) => {
      if (z.id !== zoneId || (z.kind !== 'Slave' && z.kind !== 'Consumer'))
        throw new ControlError('CTL_ERR_NOT_FOUND', `secondary zone ${origin} not found`);
      return makeJob(z, origin.toString(), budget);
    });
  }

  async changeRRsets(
    p: Principal,
    name: string,
    changes: RRsetChange[] | JsonList,
    opts?: ChangeOptions,
  ): Promise<ZoneChangeResult> {
    this.#ctx.checkOpen();
    const origin = await this.#precheckWrite(p, name);
    const json = isJsonList(changes);
    if (!Array.isArray(changes) && !json) throw invalid('the changes must be a list', 'rrsets');
    return this.#offloaded(p, origin, opts, 'change', (zone, budget) => {
      // Counted before any record is parsed: the whole zone may be replaced, no more (a
      // JsonList where it is parsed, in the zone-work thread).
      if (!json) checkRequestBudget(changes, budget, 'rrsets');
      return {
        kind: 'change',
        origin: origin.toString(),
        serial: zone.serial,
        changes,
        limits: this.#editLimits(),
        ...(json ? { budget } : {}),
        dryRun: opts?.dryRun === true,
      };
    });
  }

  /**
   * A DNS UPDATE (RFC 2136) of the zone `origin` on behalf of `p` (dns-update-policy.ts has
   * checked who may): run as any change — in the zone-work thread against the zone as last
   * committed, the account's quota checked in the transaction, a new version when it changed.
   * `dnsUpdate` in the result: the RCODE when the update was not applied.
   */
  async dnsUpdate(
    p: Principal,
    origin: Name,
    u: { zclass: number; prereqs: UpdateRR[]; updates: UpdateRR[] },
  ): Promise<ZoneChangeResult> {
    this.#ctx.checkOpen();
    return this.#offloaded(p, origin, { comment: 'DNS UPDATE' }, 'update', (zone) => ({
      kind: 'update',
      origin: origin.toString(),
      serial: zone.serial,
      zclass: u.zclass,
      prereqs: u.prereqs,
      updates: u.updates,
      limits: this.#editLimits(),
    }));
  }

  /** See ControlPlane.decodeBody: on the zone-work thread, where big jobs run. */
  decodeBody(decoder: string, route: string, bytes: Uint8Array): Promise<unknown> {
    this.#ctx.checkOpen();
    return this.#runner.decode(decoder, route, bytes);
  }

  async importZone(
    p: Principal,
    name: string,
    zonefile: string,
    opts?: ChangeOptions,
  ): Promise<ZoneChangeResult> {
    this.#ctx.checkOpen();
    const origin = await this.#precheckWrite(p, name);
    if (typeof zonefile !== 'string') throw invalid('the zone file must be text', 'zonefile');
    return this.#offloaded(p, origin, opts, 'import', (zone, budget) => ({
      kind: 'import',
      origin: origin.toString(),
      serial: zone.serial,
      text: zonefile,
      limits: this.#editLimits(),
      budget,
      dryRun: opts?.dryRun === true,
    }));
  }

  #editLimits(): { maxTtl: number; maxRecordsPerRRset: number } {
    return { maxTtl: this.#ctx.limits.maxTtl, maxRecordsPerRRset: this.#ctx.limits.maxRecordsPerRRset };
  }

  /**
   * A change or an import: the work (parse, validate, build and check, diff) runs in the
   * worker against the zone as last committed, outside any transaction; then one
   * transaction locks the zone, makes sure nobody changed it meanwhile (else the work is done
   * again on the new content), checks the quota and writes the version.
   */
  async #offloaded(
    p: Principal,
    origin: Name,
    opts: ChangeOptions | undefined,
    kind: ChangeKind,
    makeJob: MakeJob,
  ): Promise<ZoneChangeResult> {
    const zname = origin.toString();
    // Changes of one zone from this process go one after another (no wasted work); other
    // replicas' changes are caught by the version check below.
    const prev = this.#queues.get(zname) ?? Promise.resolve();
    const mine = prev.then(() => this.#offloadedNow(p, zname, opts, kind, makeJob));
    const tail = mine.then(
      () => {},
      () => {},
    );
    this.#queues.set(zname, tail);
    try {
      return await mine;
    } finally {
      if (this.#queues.get(zname) === tail) this.#queues.delete(zname);
    }
  }

  async #offloadedNow(
    p: Principal,
    zname: string,
    opts: ChangeOptions | undefined,
    kind: ChangeKind,
    makeJob: MakeJob,
  ): Promise<ZoneChangeResult> {
    const comment = typeof opts?.comment === 'string' ? opts.comment : null;
    const prepare = async (base: ZoneRow, repo: Repo, stage = true) => {
      requireWrite(p);
      checkIfMatch(opts, base);
      const job = await makeJob(
        base,
        await this.#budget(p, base.account_id, Number(base.record_count)),
        repo,
      );
      if (this.#ctx.opts.servedText === false) job.noServedText = true;
      return this.#runner.run(
        job,
        {
          zoneId: base.id,
          version: Number(base.version),
          rows: () => this.#ctx.store.read((repo) => repo.getRRsets(contentIdOf(base))),
          stage,
        },
        isSmallJob(job, Number(base.record_count)),
      );
    };
    for (let attempt = 1; ; attempt++) {
      // The last attempt does the work under the zone's lock: it cannot be overtaken.
      const underLock = attempt === MAX_ATTEMPTS;
      let prepared: Awaited<ReturnType<typeof prepare>> | undefined;
      let base: ZoneRow | undefined;
      let stageId: string | undefined;
      if (!underLock) {
        base = await this.#ctx.visibleZone(this.#ctx.store.repo, p, zname);
        prepared = await prepare(base, this.#ctx.store.repo);
        // Nothing to change (an identical import, a rollback to the current content): no new
        // version, no serial bump.
        if (prepared.work.noop) {
          // The thread keeps a prepared job until told: nothing will commit this one.
          this.#runner.discarded(prepared.ticket);
          return resultOf(base, prepared.work, false, opts);
        }
        if (opts?.dryRun === true) {
          // A plan: validated and diffed as usual, quota included; nothing written.
          const w = prepared.work;
          await checkQuota(
            this.#ctx.store.repo,
            p,
            base.account_id,
            { records: w.recordCount - Number(base.record_count) },
            { recordField: 'rrsets', lock: false },
          );
          this.#runner.discarded(prepared.ticket);
          return resultOf(base, w, true, opts);
        }
      }
      let committed = false;
      try {
        // A whole new content is written beforehand in short slices, and switched to below.
        if (prepared?.work.stage) stageId = prepared.work.stageId ?? (await this.#stage(prepared.work.rows));
        const next = await this.#ctx.write(async (repo) => {
          // PostgreSQL: the row lock serialises writers of this zone across replicas.
          const zone = await this.#ctx.visibleZone(repo, p, zname, true);
          requireWrite(p);
          checkIfMatch(opts, zone);
          if (underLock) {
            // Inside the transaction: the new rows are written by it, not staged by the thread.
            // A retried transaction runs this again: the job of the try before is let go.
            if (prepared) this.#runner.discarded(prepared.ticket);
            prepared = await prepare({ ...zone }, repo, false);
            if (prepared.work.noop || opts?.dryRun === true) return zone;
          } else if (zone.id !== base?.id || Number(zone.version) !== Number(base.version)) return undefined;
          const work = (prepared as NonNullable<typeof prepared>).work;
          await checkQuota(
            repo,
            p,
            zone.account_id,
            { records: work.recordCount - Number(zone.record_count) },
            { recordField: 'rrsets' },
          );
          return this.#writeWork(repo, p, zone, work, kind, comment, stageId);
        });
        if (next === undefined) continue;
        if (prepared?.work.noop || opts?.dryRun === true)
          return resultOf(next, (prepared as NonNullable<typeof prepared>).work, !prepared?.work.noop, opts);
        committed = true;
        const version = Number(next.version);
        if (prepared) this.#runner.committed(prepared.ticket, next.id, version);
        const text = prepared?.work.servedText;
        this.#ctx.rememberServed(
          text !== undefined ? { name: zname, serial: next.serial, version, text } : undefined,
          next.id,
        );
        this.#ctx.events.emit({ zone: zname, version, deleted: false });
        if (stageId !== undefined) this.#collect();
        return resultOf(next, (prepared as NonNullable<typeof prepared>).work, true, opts);
      } finally {
        if (!committed) {
          if (prepared) this.#runner.discarded(prepared.ticket);
          if (stageId !== undefined) this.#abandon(stageId);
        }
      }
    }
  }

  /**
   * Rolls back to `version`: the current content with every later version undone, written
   * as the next version by the path of every change (`#offloaded`): worked out off the
   * request loop when big, staged and switched in one short transaction when it rewrites the
   * zone; a rollback to the current content is a no-op.
   */
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
    return this.#offloaded(p, origin, { ...opts, comment }, 'rollback', async (zone, _budget, repo) => {
      if (!(await repo.getVersion(zone.id, version))) {
        if (version <= Number(zone.version))
          throw prunedVersion(zone.name, version, retentionOf(this.#ctx.opts.retention));
        throw new ControlError('CTL_ERR_NOT_FOUND', `zone ${zone.name} has no version ${version}`, 'version');
      }
      return {
        kind: 'rollback',
        origin: origin.toString(),
        serial: zone.serial,
        version,
        // Stored (possibly compressed) as they are: the work decodes them.
        undo: (await repo.versionsAfter(zone.id, version)).map((v) => v.changes),
        dryRun: opts?.dryRun === true,
      };
    });
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
    let leftSecondary = false;
    let catalogChanged = false;
    const info = await this.#ctx.write(async (repo) => {
      // The row lock orders this with content changes of the zone (PostgreSQL).
      const zone = await this.#ctx.visibleZone(repo, p, zname, true);
      requireWrite(p);
      checkIfMatch(opts, zone);
      const before = metadataOfRow(zone);
      const after = mergeMetadata(before, input);
      const changes = diffMetadata(before, after);
      const consumer = await consumerOfMember(repo, zone.id);
      if (consumer !== undefined && (changes.kind !== undefined || input.catalog !== undefined))
        refuseMemberChange(zone, consumer);
      if ((before.kind === 'Consumer') !== (after.kind === 'Consumer'))
        throw invalid(
          before.kind === 'Consumer'
            ? `zone ${zone.name} is a catalog zone (kind Consumer): its kind cannot change (delete it instead)`
            : 'a zone cannot become a catalog zone (kind Consumer): create a new zone of that kind',
          'kind',
        );
      if ((before.kind === 'Producer') !== (after.kind === 'Producer'))
        throw invalid(
          before.kind === 'Producer'
            ? `zone ${zone.name} is a catalog zone (kind Producer): its kind cannot change (delete it instead)`
            : 'a zone cannot become a catalog zone (kind Producer): create a new zone of that kind',
          'kind',
        );
      if (
        input.catalog !== undefined &&
        (await (this.catalogs as CatalogZones).setCatalog(repo, zone, input.catalog))
      ) {
        catalogChanged = true;
        await this.#ctx.audit(repo, p, 'zone.catalog', zone.name, zone.account_id, {
          catalog: input.catalog ?? '',
        });
      }
      if (Object.keys(changes).length === 0) return toZoneInfo(zone);
      // Slave needs masters (set with them: setZoneSecondary); leaving Slave drops them.
      if (after.kind === 'Slave' && !(await repo.getZoneSecondary(zone.id)))
        throw invalid('a Slave zone needs masters (ADDR:PORT)', 'masters');
      if (before.kind === 'Slave' && after.kind !== 'Slave') {
        await repo.deleteZoneSecondary(zone.id);
        // The refresher and the workers' NOTIFY list follow (the settings channel).
        await this.#ctx.events.notifyShield(repo, zone.name);
        leftSecondary = true;
      }
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
    if (leftSecondary) this.#ctx.events.emitShield();
    if (catalogChanged) this.#ctx.events.emitSettings({ zone: info.name, kinds: ['catalog'] });
    return info;
  }

  async exportZone(p: Principal, name: string): Promise<string> {
    this.#ctx.checkOpen();
    const origin = this.#ctx.zoneName(name);
    const content = await this.#ctx.store.read(async (repo) => {
      const zone = await this.#ctx.visibleZone(repo, p, origin.toString());
      return contentOf(await repo.getRRsets(contentIdOf(zone)));
    });
    return exportContent(content);
  }
}
