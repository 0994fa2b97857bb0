/**
 * The CPU-heavy part of a zone change as pure functions of the request (master-file text or
 * change-set JSON) and the zone's current content: parse, validate, apply, build and check,
 * choose the serial, diff, and encode the rows and the version record to write. Nothing here
 * touches the store, so it runs in a worker thread (offload.ts) while the request loop keeps
 * serving other tenants; the caller writes the result in its transaction.
 * @module
 */
import { Rcode, RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import { columnsContent, type ExtraRecord, isBulkZonefile } from './bulk-zonefile.js';
import { applyDnsUpdate, type UpdateOutcome, type UpdateRR } from './dns-update.js';
import {
  applyChanges,
  buildAndCheck,
  changeLines,
  checkContentRules,
  countChangeLines,
  diffContent,
  type EditLimits,
  type Locate,
  locateInChanges,
  locateInZonefile,
  parseZonefile,
  prepareChanges,
  type RecordBudget,
  settleSerial,
  sortKeyOfName,
} from './edit.js';
import {
  type CheckedContent,
  checkedOf,
  type IncrementalOutcome,
  incrementalApply,
  incrementalChange,
} from './incremental.js';
import {
  countRecords,
  decodeRecords,
  encodeRecords,
  nameKeyOf,
  parseHostName,
  quoted,
  type RecordMemo,
  type RRsetState,
  renderServedText,
  rrsetKey,
  toOctets,
  toRRsetData,
  type ZoneContent,
} from './records.js';
import { parseChanges, storeChanges } from './rows.js';
import { applyTransferSteps, type TransferStep } from './transfer-diff.js';
import { ControlError, isJsonList, type RRsetData } from './types.js';

/** An RRset row as stored (without its zone). */
export interface StoredRRset {
  name_key: string;
  name: string;
  type: number;
  ttl: number;
  records: string;
}

/** What a new zone is made from (the create request's content fields). */
export interface CreateInput {
  rrsets?: unknown;
  zonefile?: unknown;
  nameservers?: unknown;
}

/** Defaults for the SOA and NS of a zone created without them. */
export interface ZoneDefaults {
  nameservers?: string[];
  hostmaster?: string;
}

/**
 * One unit of work: a change of an existing zone (import, RRset changes, rollback), or a new
 * zone's content. `noServedText`: do not render a big zone's served text with the work
 * (ControlPlaneOptions.servedText false); `noRRsets`: a new zone's RRsets are not answered
 * (PowerDNS `rrsets=false`): not made.
 */
export type ZoneJob = ZoneJobKind & { noServedText?: boolean; noRRsets?: boolean };

type ZoneJobKind =
  | {
      kind: 'import';
      origin: string;
      serial: number;
      text: string;
      /** A zone transferred in: its SOA serial is the primary's, kept as it is (no bump). */
      keepSerial?: boolean;
      limits: EditLimits;
      budget: RecordBudget;
      dryRun?: boolean;
    }
  | {
      kind: 'change';
      origin: string;
      serial: number;
      /** The change list, or a `JsonList` of it (then counted against `budget` once parsed). */
      changes: unknown;
      limits: EditLimits;
      budget?: RecordBudget;
      dryRun?: boolean;
    }
  | {
      kind: 'rollback';
      origin: string;
      serial: number;
      /** The version rolled back to. */
      version: number;
      /** The stored changes of every later version, newest first (undone in that order). */
      undo: string[];
      dryRun?: boolean;
    }
  | {
      /** A DNS UPDATE (RFC 2136) relayed by a DNS worker (dns-update.ts). */
      kind: 'update';
      origin: string;
      serial: number;
      zclass: number;
      prereqs: UpdateRR[];
      updates: UpdateRR[];
      limits: EditLimits;
      dryRun?: boolean;
    }
  | {
      /** A secondary zone's IXFR difference (transfer-diff.ts), the primary's serial kept. */
      kind: 'ixfr';
      origin: string;
      serial: number;
      steps: TransferStep[];
      limits: EditLimits;
      dryRun?: false;
    }
  | {
      kind: 'create';
      origin: string;
      input: CreateInput;
      defaults: ZoneDefaults | undefined;
      limits: EditLimits;
      budget: RecordBudget;
    };

/** Rows per slice of `ZoneWork.rows`: the caller writes (and yields) one slice at a time. */
export const ROW_SLICE = 400;

/** What to write for a job: small to send between threads (rows as JSON slices). */
export interface ZoneWork {
  /** Nothing changes (a change set that changes nothing): no new version. */
  noop: boolean;
  serial: number;
  recordCount: number;
  added: number;
  removed: number;
  /** The version's diff, as stored (JSON of `{before, after}` RRsets). */
  changes: string;
  /** Replace every row of the zone by `rows` (else delete `deletes`, insert `rows`). */
  rewrite: boolean;
  /**
   * A rewrite too big for one short transaction: `rows` are written beforehand under a new
   * content id in slices (staging.ts), and the zone switched to it in one short write.
   */
  stage: boolean;
  deletes: Array<[nameKey: string, type: number]>;
  /** JSON arrays of `StoredRRset`, at most ROW_SLICE each. */
  rows: string[];
  /** The content id the whole new content was written under (by the worker thread). */
  stageId?: string;
  /** Findings that do not refuse the content (an in-zone NS target without an address). */
  warnings: string[];
  /**
   * update: the RCODE when the update was not applied (a prerequisite failed, or it was
   * malformed or refused: RFC 2136 §3), with the reason for the log.
   */
  dnsUpdate?: { rcode: number; reason: string };
  /** Dry runs: the record lines the change would remove and add (`changeLines`). */
  lines?: { removed: string[]; added: string[] };
  /** create: the new zone's RRsets in canonical order (the response). */
  rrsets?: RRsetData[];
  /**
   * create, zones of SERVED_TEXT_MIN records or more: those RRsets as JSON text instead, so the
   * request loop never builds (nor structured-clones) tens of thousands of objects to answer.
   */
  rrsetsJson?: string;
  /**
   * Big zones: the new content as the DNS workers load it (`renderServedText`), so that
   * publishing the change does not read and render 100,000 rows on the request loop.
   */
  servedText?: string;
}

/** A job's result with the new content (kept by the worker for the zone's next change). */
export interface ZoneWorkOutcome {
  work: ZoneWork;
  draft: ZoneContent;
  memo: RecordMemo;
  /** What the next change may trust of `draft` (incremental.ts); absent: not checked here. */
  checked?: CheckedContent;
  /**
   * The change was worked out in place (incremental.ts): `draft` is the `current` given, now
   * the new content, and `memo` the memo given: the caller's copy of the old version is gone.
   */
  inPlace?: boolean;
}

/** Above this many changed RRsets (and half the zone), rewrite the zone's rows in bulk. */
const BULK_REWRITE = 64;
/** Zones of at least this many records get their served text rendered with the work. */
export const SERVED_TEXT_MIN = 2000;
/**
 * The one staging threshold (changes, imports, rollbacks and new zones alike): a change of
 * more RRsets than this writes the whole new content, and a whole new content is staged when
 * writing it in place would touch more rows than this (the rows deleted plus those written);
 * below it, the rows are written in the transaction of the version.
 */
export const STAGE_MIN = 1000;
/** TTL of the SOA and NS records made for a zone created without them. */
const GENERATED_TTL = 3600;

function invalid(message: string, field?: string): ControlError {
  return new ControlError('CTL_ERR_VALIDATION', message, field);
}

/** The content of stored rows. */
export function contentOfRows(rows: readonly StoredRRset[]): ZoneContent {
  const content: ZoneContent = new Map();
  for (const r of rows) {
    const s: RRsetState = {
      name: r.name,
      nameKey: r.name_key,
      type: Number(r.type),
      ttl: Number(r.ttl),
      records: decodeRecords(r.records),
    };
    content.set(rrsetKey(s.nameKey, s.type), s);
  }
  return content;
}

function storedOf(s: RRsetState): StoredRRset {
  return { name_key: s.nameKey, name: s.name, type: s.type, ttl: s.ttl, records: encodeRecords(s.records) };
}

/** Stored rows of `states` as JSON slices of at most ROW_SLICE. */
export function slices(states: Iterable<RRsetState>): string[] {
  const out: string[] = [];
  let batch: StoredRRset[] = [];
  for (const s of states) {
    batch.push(storedOf(s));
    if (batch.length === ROW_SLICE) {
      out.push(JSON.stringify(batch));
      batch = [];
    }
  }
  if (batch.length > 0) out.push(JSON.stringify(batch));
  return out;
}

/**
 * Records a change set or RRset list would make (its `records` lists, before any is parsed):
 * what the budget is checked against before the work starts.
 */
export function countRequestRecords(list: unknown): number {
  if (!Array.isArray(list)) return 0;
  let n = 0;
  for (const c of list) {
    const records = (c as { records?: unknown } | null)?.records;
    if (Array.isArray(records)) n += records.length;
  }
  return n;
}

/**
 * The list a request holds: a `JsonList` (a big body decoded off the request loop) is parsed
 * here, where the work runs; anything else is the list itself.
 */
export function listOf(list: unknown): unknown {
  return isJsonList(list) ? JSON.parse(list.json) : list;
}

/** Refuses a change-set or RRset list whose records are over the budget (before parsing them). */
export function checkRequestBudget(list: unknown, budget: RecordBudget, field: string): void {
  const n = countRequestRecords(list);
  if (n > budget.max)
    throw new ControlError(
      budget.code,
      `the request holds ${n} records: over the limit of ${budget.max} records (${budget.name})`,
      field,
    );
}

function nameserver(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid('a nameserver must be a domain name', field);
  try {
    return Name.parse(v.endsWith('.') ? toOctets(v) : `${toOctets(v)}.`).toString();
  } catch (err) {
    throw invalid(`bad name '${quoted(v)}': ${quoted((err as Error).message, 256)}`, field);
  }
}

/** The content of a new zone from RRsets or a zone file, with SOA and NS filled in. */
export function initialContent(
  origin: Name,
  input: CreateInput,
  limits: EditLimits,
  defaults: ZoneDefaults | undefined,
  budget?: RecordBudget,
): { content: ZoneContent; locate: Locate; warnings?: string[] } {
  let content: ZoneContent;
  let locate: Locate;
  if (isJsonList(input.rrsets)) input = { ...input, rrsets: listOf(input.rrsets) };
  const hasRRsets = Array.isArray(input.rrsets) && input.rrsets.length > 0;
  if (isBulkZonefile(input.zonefile)) {
    if (hasRRsets) throw invalid('give either rrsets or a zonefile, not both', 'zonefile');
    const given = givenNameservers(input);
    return columnsContent(input.zonefile, origin, limits, budget, (seen) => {
      const ns = seen.ns.length > 0 || given.length > 0 ? given : defaultNameservers(defaults);
      const add = ns.filter((n, i) => !seen.ns.includes(n) && ns.indexOf(n) === i);
      if (seen.ns.length + add.length === 0)
        throw invalid('a zone needs nameservers: give nameservers or an NS RRset at the apex', 'nameservers');
      const extra: ExtraRecord[] = add.map((content) => ({ type: RRType.NS, ttl: GENERATED_TTL, content }));
      if (!seen.soa)
        extra.push({
          type: RRType.SOA,
          ttl: GENERATED_TTL,
          content: defaultSoa(origin, seen.ns[0] ?? add[0], defaults),
        });
      return extra;
    });
  }
  if (input.zonefile !== undefined && input.zonefile !== null) {
    if (hasRRsets) throw invalid('give either rrsets or a zonefile, not both', 'zonefile');
    const z = parseZonefile(input.zonefile, origin, limits, budget);
    content = z.content;
    locate = locateInZonefile(z);
  } else {
    if (input.rrsets !== undefined && !Array.isArray(input.rrsets))
      throw invalid('rrsets must be a list', 'rrsets');
    if (budget) checkRequestBudget(input.rrsets, budget, 'rrsets');
    const changes = ((input.rrsets as unknown[] | undefined) ?? []).map((r) => ({
      ...(r as object),
      op: 'replace',
    }));
    const prepared = prepareChanges(changes, origin, limits, 'rrsets');
    content = new Map();
    locate = locateInChanges(applyChanges(content, prepared, limits));
  }
  const apex = nameKeyOf(origin);
  const nsKey = rrsetKey(apex, RRType.NS);
  let nameservers = givenNameservers(input);
  if (nameservers.length === 0 && !content.has(nsKey)) nameservers = defaultNameservers(defaults);
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
  if (!content.has(soaKey))
    content.set(soaKey, {
      name: origin.toString(),
      nameKey: apex,
      type: RRType.SOA,
      ttl: GENERATED_TTL,
      records: [
        { content: defaultSoa(origin, content.get(nsKey)?.records[0]?.content, defaults), disabled: false },
      ],
    });
  return { content, locate };
}

/** The request's `nameservers`, checked as host names (RFC 952 / RFC 1123: 'bad name!' is a 422). */
function givenNameservers(input: CreateInput): string[] {
  if (input.nameservers === undefined || input.nameservers === null) return [];
  if (!Array.isArray(input.nameservers)) throw invalid('nameservers must be a list of names', 'nameservers');
  return input.nameservers.map((n, i) =>
    parseHostName(typeof n === 'string' ? toOctets(n) : n, `nameservers[${i}]`),
  );
}

/** The operator's default nameservers (for a zone created with none). */
function defaultNameservers(defaults: ZoneDefaults | undefined): string[] {
  return (defaults?.nameservers ?? []).map((n, i) => parseHostName(n, `defaults.nameservers[${i}]`));
}

/** The SOA content of a zone created without one: `ns` its first nameserver. */
function defaultSoa(origin: Name, ns: string | undefined, defaults: ZoneDefaults | undefined): string {
  const hostmaster = defaults?.hostmaster
    ? nameserver(defaults.hostmaster, 'defaults.hostmaster')
    : `hostmaster.${origin}`;
  return `${ns ?? `ns1.${origin}`} ${hostmaster} 1 10800 3600 604800 3600`;
}

/** RRsets in canonical order (RFC 4034 §6.1 owner order, then type). */
export function sortedRRsets(content: ZoneContent): RRsetState[] {
  const decorated = [...content.values()].map((s) => ({ k: sortKeyOfName(s.name), s }));
  decorated.sort((a, b) => (a.k !== b.k ? (a.k < b.k ? -1 : 1) : a.s.type - b.s.type));
  return decorated.map((d) => d.s);
}

/**
 * Runs a job against the zone's current content (empty for a new zone): everything a change
 * checks before it may be written, and what to write. Throws ControlError as the in-process
 * path does (same messages and fields).
 */
export function runZoneJob(
  job: ZoneJob,
  current: ZoneContent,
  currentMemo: RecordMemo,
  checked?: CheckedContent,
): ZoneWorkOutcome {
  const origin = Name.parse(job.origin);
  let draft: ZoneContent;
  let locate: Locate;
  let oldSerial: number | undefined;
  /** The content was checked whole with the parse (column path): its NS warnings. */
  let checkedWarnings: string[] | undefined;
  switch (job.kind) {
    case 'import': {
      oldSerial = job.keepSerial === true ? undefined : job.serial;
      if (isBulkZonefile(job.text)) {
        // A zone file without an SOA keeps the zone's (with the next serial).
        const soa = current.get(rrsetKey(nameKeyOf(origin), RRType.SOA));
        const made = columnsContent(job.text, origin, job.limits, job.budget, (seen) =>
          seen.soa || !soa ? [] : [{ type: RRType.SOA, ttl: soa.ttl, content: soa.records[0].content }],
        );
        draft = made.content;
        locate = made.locate;
        checkedWarnings = made.warnings;
        break;
      }
      const parsed = parseZonefile(job.text, origin, job.limits, job.budget);
      draft = new Map(parsed.content);
      const soaKey = rrsetKey(nameKeyOf(origin), RRType.SOA);
      // A zone file without an SOA keeps the zone's (with the next serial).
      const soa = current.get(soaKey);
      if (!draft.has(soaKey) && soa) draft.set(soaKey, soa);
      locate = locateInZonefile(parsed);
      break;
    }
    case 'change': {
      const changes = listOf(job.changes);
      // A JsonList was not counted on the request loop: counted now, before any record is parsed.
      if (job.budget) checkRequestBudget(changes, job.budget, 'rrsets');
      const prepared = prepareChanges(changes, origin, job.limits, 'rrsets');
      if (checked && process.env.SWITCHBOARD_INCREMENTAL !== 'off') {
        const done = incrementalChange(
          prepared,
          current,
          currentMemo,
          checked,
          origin,
          job.serial,
          job.limits,
          job.dryRun === true,
        );
        if (done) return inPlaceOutcome(done, current, currentMemo, job.dryRun === true);
      }
      draft = new Map(current);
      locate = locateInChanges(applyChanges(draft, prepared, job.limits));
      oldSerial = job.serial;
      break;
    }
    case 'rollback': {
      // The content of `version`: the current content with every later version undone.
      draft = new Map(current);
      for (const stored of job.undo)
        for (const c of parseChanges(stored)) {
          const st = (c.before ?? c.after) as RRsetState;
          const key = rrsetKey(st.nameKey, st.type);
          if (c.before) draft.set(key, c.before);
          else draft.delete(key);
        }
      const where = `version ${job.version} cannot be restored: `;
      locate = () => ({ where });
      oldSerial = job.serial;
      break;
    }
    case 'update': {
      if (checked && process.env.SWITCHBOARD_INCREMENTAL !== 'off') {
        // In place over the content; a failed update (its RCODE) undoes what it applied.
        let failed: UpdateOutcome | undefined;
        let done: ReturnType<typeof incrementalApply>;
        try {
          done = incrementalApply(
            (into) => {
              const o = applyDnsUpdate(
                current,
                origin,
                job.zclass,
                job.prereqs,
                job.updates,
                job.limits,
                into,
              );
              if (o.rcode !== Rcode.NOERROR) {
                failed = o;
                throw failed;
              }
            },
            current,
            currentMemo,
            checked,
            origin,
            job.serial,
            job.dryRun === true,
          );
        } catch (err) {
          if (err !== failed || failed === undefined) throw err;
          const reason = 'reason' in failed ? failed.reason : '';
          return {
            work: {
              // Undone: the content is the checked one.
              ...noopWork(job.serial, checked.records),
              dnsUpdate: { rcode: failed.rcode, reason },
            },
            draft: current,
            memo: currentMemo,
          };
        }
        if (done) return inPlaceOutcome(done, current, currentMemo, job.dryRun === true);
      }
      const outcome = applyDnsUpdate(current, origin, job.zclass, job.prereqs, job.updates, job.limits);
      if (outcome.rcode !== Rcode.NOERROR) {
        const reason = 'reason' in outcome ? outcome.reason : '';
        return {
          work: {
            ...noopWork(job.serial, countRecords(current.values())),
            dnsUpdate: { rcode: outcome.rcode, reason },
          },
          draft: current,
          memo: currentMemo,
        };
      }
      draft = (outcome as { draft: ZoneContent }).draft;
      locate = (nameKey, type) => ({
        where: `the update of ${nameKey}${type === undefined ? '' : ` type ${type}`}: `,
      });
      oldSerial = job.serial;
      break;
    }
    case 'ixfr': {
      const apply = (into: ZoneContent) => applyTransferSteps(into, origin, job.limits, job.steps);
      if (checked && process.env.SWITCHBOARD_INCREMENTAL !== 'off') {
        // The new SOA's serial follows ours (RFC 1982): settleSerial keeps it.
        const done = incrementalApply(apply, current, currentMemo, checked, origin, job.serial, false);
        if (done) return inPlaceOutcome(done, current, currentMemo, false);
      }
      draft = new Map(current);
      apply(draft);
      locate = () => ({ where: 'the IXFR difference: ' });
      oldSerial = job.serial;
      break;
    }
    case 'create': {
      const made = initialContent(origin, job.input, job.limits, job.defaults, job.budget);
      draft = made.content;
      locate = made.locate;
      checkedWarnings = made.warnings;
      break;
    }
  }
  const memo: RecordMemo = new Map(currentMemo);
  // A new zone's diff is all of it: made once, below.
  let diff = job.kind === 'create' ? [] : diffContent(current, draft);
  if (job.kind !== 'create' && diff.length === 0)
    // Nothing to change (an identical import, removing a record already gone): no new version.
    return {
      work: {
        ...noopWork(job.serial, countRecords(current.values())),
        ...(job.dryRun ? { lines: { removed: [], added: [] } } : {}),
      },
      draft: current,
      memo: currentMemo,
    };
  // Checked whole already when read as columns (bulk-zonefile.ts).
  const warnings: string[] = checkedWarnings ?? [];
  if (checkedWarnings === undefined) {
    checkContentRules(draft, origin, locate);
    buildAndCheck(draft, origin, locate, memo, warnings);
  }
  const serial = settleSerial(draft, origin, oldSerial);
  diff = diffContent(current, draft);
  const { added, removed } = countChangeLines(diff);
  const rewrite =
    job.kind === 'create' ||
    diff.length > STAGE_MIN ||
    (diff.length > BULK_REWRITE && diff.length * 2 > draft.size);
  const stage = rewrite && current.size + draft.size > STAGE_MIN;
  const deletes: Array<[string, number]> = [];
  let rows: string[];
  if (rewrite) rows = slices(draft.values());
  else {
    for (const c of diff) if (c.before) deletes.push([c.before.nameKey, c.before.type]);
    rows = slices(diff.flatMap((c) => (c.after ? [c.after] : [])));
  }
  // Keep only the parsed records of RRsets still in the content.
  const kept: RecordMemo = new Map();
  for (const r of draft.values()) {
    const rrs = memo.get(r);
    if (rrs) kept.set(r, rrs);
  }
  if (job.kind !== 'create' && job.dryRun)
    // A plan: what would change; nothing to write.
    return {
      work: {
        noop: false,
        serial,
        recordCount: countRecords(draft.values()),
        added,
        removed,
        changes: '[]',
        rewrite: false,
        stage: false,
        deletes: [],
        rows: [],
        warnings,
        lines: changeLines(diff),
      },
      draft: current,
      memo: currentMemo,
    };
  const work: ZoneWork = {
    noop: false,
    warnings,
    serial,
    recordCount: countRecords(draft.values()),
    added,
    removed,
    changes: storeChanges(diff),
    rewrite,
    stage,
    deletes,
    rows,
  };
  if (job.kind === 'create' && job.noRRsets !== true) {
    const rrsets = sortedRRsets(draft).map(toRRsetData);
    if (work.recordCount >= SERVED_TEXT_MIN) work.rrsetsJson = JSON.stringify(rrsets);
    else work.rrsets = rrsets;
  }
  if (work.recordCount >= SERVED_TEXT_MIN && job.noServedText !== true)
    work.servedText = renderServedText(draft.values());
  return { work, draft, memo: kept, checked: checkedOf(draft, warnings, work.recordCount) };
}

/** The outcome of a job worked out in place (incremental.ts) over `current`. */
function inPlaceOutcome(
  done: IncrementalOutcome,
  current: ZoneContent,
  memo: RecordMemo,
  dryRun: boolean,
): ZoneWorkOutcome {
  return {
    work: done.work,
    draft: current,
    memo,
    checked: done.checked,
    inPlace: !done.work.noop && !dryRun,
  };
}

/** The work of a job that changes nothing (a zone of `records` records): no new version. */
export function noopWork(serial: number, records: number): ZoneWork {
  return {
    noop: true,
    serial,
    recordCount: records,
    added: 0,
    removed: 0,
    changes: '[]',
    rewrite: false,
    stage: false,
    deletes: [],
    rows: [],
    warnings: [],
  };
}
