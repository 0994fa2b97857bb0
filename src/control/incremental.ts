/**
 * A small change of a big zone worked out from what it touches, not from the whole zone: the
 * change is applied to the zone-work thread's copy of the content in place (every RRset it
 * replaces kept to undo it), checked where it can matter (the names it changes and their
 * ancestors), and diffed from the RRsets it touched. The whole-zone path of `runZoneJob`
 * (copy, build and check the zone, diff every RRset, render the served text) costs seconds
 * for a zone of 200,000 records; this costs what the change does.
 *
 * It only accepts: whatever it cannot decide on its own answers `undefined` (content as it
 * was) and the whole-zone path runs, which refuses what it refuses with its own message. It
 * decides only for content the whole-zone path (or this one) checked in this thread
 * (`CheckedContent`): a content read from the store is checked whole once first.
 *
 * Why accepting is safe: a content that passed `checkContentRules` and `buildAndCheck` has
 * none of their errors. A change of the types in `LOCAL_TYPES` at a name that is not an NS
 * target, holds no NS or DNAME, and is below no delegation or DNAME can only create one of
 * those errors at that name itself, and only the CNAME rule applies there: checked below.
 * The warnings `buildAndCheck` reports are about NS RRsets only (their targets' addresses,
 * occlusion, wildcards): such a change leaves them as they were.
 * @module
 */
import { RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import {
  applyChanges,
  changeLines,
  countChangeLines,
  type EditLimits,
  type PreparedChange,
  type RRsetChangeRecord,
  sameRRset,
  settleSerial,
} from './edit.js';
import { nameKeyOf, type RecordMemo, type RRsetState, rrsetKey, type ZoneContent } from './records.js';
import { storeChanges } from './rows.js';
import { noopWork, slices, type ZoneWork } from './zone-work.js';

/** What the zone-work thread knows of a content it checked (kept with it between changes). */
export interface CheckedContent {
  /** The name keys of every NS target of the content (disabled records' included). */
  nsTargets: Set<string>;
  /** The warnings the content's check gave (`buildAndCheck`, NS findings only). */
  warnings: string[];
  /** Records in the content (`countRecords`). */
  records: number;
}

/**
 * Types whose RRsets no zone check looks at beyond their own name (no cut, no target whose
 * absence refuses the zone, no apex-only rule): a change of these can be checked locally.
 */
const LOCAL_TYPES = new Set<number>([
  RRType.A,
  RRType.AAAA,
  RRType.TXT,
  RRType.CNAME,
  RRType.MX,
  RRType.SRV,
  RRType.CAA,
  RRType.PTR,
  RRType.HINFO,
  RRType.NAPTR,
  RRType.SSHFP,
  RRType.TLSA,
  RRType.HTTPS,
  RRType.SVCB,
  RRType.LOC,
  RRType.URI,
  RRType.SPF,
]);

/** Types allowed beside a CNAME (edit.ts checkContentRules: RFC 1034 §3.6.2, RFC 4035 §2.5). */
const CNAME_COMPANIONS = new Set<number>([RRType.CNAME, RRType.RRSIG, RRType.NSEC]);

/** Most RRsets a change may touch to be worked out here (above: the whole-zone path). */
export const INCREMENTAL_MAX_RRSETS = 64;

/** What a content checked whole tells the next change: its NS targets, warnings, records. */
export function checkedOf(content: ZoneContent, warnings: string[], records: number): CheckedContent {
  const nsTargets = new Set<string>();
  for (const s of content.values()) {
    if (s.type !== RRType.NS) continue;
    for (const r of s.records) nsTargets.add(nameKeyOf(Name.parse(r.content)));
  }
  return { nsTargets, warnings, records };
}

/** The result of a change worked out in place: `content` is now the new version's. */
export interface IncrementalOutcome {
  work: ZoneWork;
  checked: CheckedContent;
}

/**
 * Applies `prepared` (a change set) to `content` in place and checks it locally. Answers
 * undefined (content and memo as they were) when the change is not for this path or would
 * be refused; a dry run or a change that changes nothing leaves the content as it was too.
 */
export function incrementalChange(
  prepared: readonly PreparedChange[],
  content: ZoneContent,
  memo: RecordMemo,
  checked: CheckedContent,
  origin: Name,
  oldSerial: number,
  limits: EditLimits,
  dryRun: boolean,
): IncrementalOutcome | undefined {
  if (prepared.length === 0 || prepared.length > INCREMENTAL_MAX_RRSETS) return undefined;
  for (const c of prepared) if (!LOCAL_TYPES.has(c.type)) return undefined;
  return incrementalApply(
    (draft) => {
      applyChanges(draft, prepared, limits);
    },
    content,
    memo,
    checked,
    origin,
    oldSerial,
    dryRun,
  );
}

/**
 * Runs `apply` (which changes the draft it is given through `set` and `delete` only, or
 * throws) over `content` in place, then checks what it touched locally: the change set's
 * path and the DNS UPDATE's. Undefined (content as it was): not for this path, decide whole.
 */
export function incrementalApply(
  apply: (draft: ZoneContent) => void,
  content: ZoneContent,
  memo: RecordMemo,
  checked: CheckedContent,
  origin: Name,
  oldSerial: number,
  dryRun: boolean,
): IncrementalOutcome | undefined {
  // The RRsets as they were, to undo the change (the first value seen of each key).
  const undo = new Map<string, RRsetState | undefined>();
  const logged: ZoneContent = new Proxy(content, {
    get(target, prop) {
      if (prop === 'set')
        return (key: string, value: RRsetState) => {
          if (!undo.has(key)) undo.set(key, target.get(key));
          return target.set(key, value);
        };
      if (prop === 'delete')
        return (key: string) => {
          if (!undo.has(key)) undo.set(key, target.get(key));
          return target.delete(key);
        };
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const restore = (): void => {
    for (const [key, s] of undo) {
      if (s) content.set(key, s);
      else content.delete(key);
    }
  };
  try {
    apply(logged);
    // What the change touched: few RRsets, of local types, at names checked locally.
    const names = new Map<string, string>();
    let local = undo.size <= INCREMENTAL_MAX_RRSETS;
    for (const [key, before] of undo) {
      const s = before ?? content.get(key);
      if (!local) break;
      if (!s) continue;
      local = LOCAL_TYPES.has(s.type);
      names.set(s.nameKey, s.name);
    }
    for (const [key, spelled] of names) {
      if (!local) break;
      local = isLocalName(content, key, Name.parse(spelled), origin, checked);
    }
    if (!local || !cnameRuleHolds(content, names, undo)) {
      restore();
      return undefined;
    }
    if (diffOf(content, undo).length === 0) {
      restore();
      const work = noopWork(oldSerial, checked.records);
      return { work: dryRun ? { ...work, lines: { removed: [], added: [] } } : work, checked };
    }
    const serial = settleSerial(logged, origin, oldSerial);
    const diff = diffOf(content, undo);
    let records = checked.records;
    for (const c of diff) records += (c.after?.records.length ?? 0) - (c.before?.records.length ?? 0);
    const { added, removed } = countChangeLines(diff);
    const work: ZoneWork = {
      noop: false,
      warnings: [...checked.warnings],
      serial,
      recordCount: records,
      added,
      removed,
      changes: dryRun ? '[]' : storeChanges(diff),
      rewrite: false,
      stage: false,
      deletes: [],
      rows: [],
    };
    if (dryRun) {
      work.lines = changeLines(diff);
      restore();
      return { work, checked };
    }
    const rows: RRsetState[] = [];
    for (const c of diff) {
      if (c.before) {
        work.deletes.push([c.before.nameKey, c.before.type]);
        memo.delete(c.before);
      }
      if (c.after) rows.push(c.after);
    }
    work.rows = slices(rows);
    return { work, checked: { ...checked, records } };
  } catch (err) {
    restore();
    throw err;
  }
}

/**
 * True when a change at `name` can be checked at `name` alone: not an NS target (its address
 * records decide whether a server is reachable), no NS or DNAME at it (a cut: what is below
 * it, and glue; the apex's NS aside), and no delegation or DNAME above it (data below a DNAME is refused, below a
 * delegation occluded).
 */
function isLocalName(
  content: ZoneContent,
  key: string,
  name: Name,
  origin: Name,
  checked: CheckedContent,
): boolean {
  if (checked.nsTargets.has(key) || content.has(rrsetKey(key, RRType.DNAME))) return false;
  const apexKey = nameKeyOf(origin);
  // The apex's NS is no cut.
  if (key === apexKey) return true;
  if (content.has(rrsetKey(key, RRType.NS))) return false;
  for (let n = name.parent(); ; n = n.parent()) {
    const k = nameKeyOf(n);
    if (content.has(rrsetKey(k, RRType.DNAME))) return false;
    if (k === apexKey) return true;
    if (content.has(rrsetKey(k, RRType.NS))) return false;
    if (n.isRoot) return false;
  }
}

/**
 * The CNAME rule at the changed names: a CNAME that was there before leaves only its
 * companions beside it (the content was checked: only the change can have added others); a
 * new CNAME cannot be decided without every type at its name (false: the whole path decides).
 */
function cnameRuleHolds(
  content: ZoneContent,
  names: Map<string, string>,
  undo: Map<string, RRsetState | undefined>,
): boolean {
  for (const key of names.keys()) {
    const ck = rrsetKey(key, RRType.CNAME);
    if (!content.has(ck)) continue;
    const before = undo.has(ck) ? undo.get(ck) : content.get(ck);
    if (!before) return false;
    for (const k of undo.keys()) {
      const s = content.get(k);
      if (s && s.nameKey === key && !CNAME_COMPANIONS.has(s.type)) return false;
    }
  }
  return true;
}

/**
 * The RRsets the change made differ (`diffContent` over the touched keys only): the SOA
 * first, then in the order the change first touched them.
 */
function diffOf(content: ZoneContent, undo: Map<string, RRsetState | undefined>): RRsetChangeRecord[] {
  const out: RRsetChangeRecord[] = [];
  const add = (key: string, b: RRsetState | undefined): void => {
    const a = content.get(key);
    if (!b && !a) return;
    if (!a) out.push({ before: b as RRsetState, after: null });
    else if (!b) out.push({ before: null, after: a });
    else if (a !== b && !sameRRset(a, b)) out.push({ before: b, after: a });
  };
  for (const [key, b] of undo)
    if (b?.type === RRType.SOA || content.get(key)?.type === RRType.SOA) add(key, b);
  for (const [key, b] of undo)
    if (!(b?.type === RRType.SOA || content.get(key)?.type === RRType.SOA)) add(key, b);
  return out;
}
