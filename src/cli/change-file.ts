/**
 * The change files of `switchboard record apply FILE`: several RRset changes sent as one
 * PATCH, so they become one version (all or nothing). Two forms:
 *
 * - lines, one change per line (`#` or `;` starts a comment line):
 *   `set NAME [TTL] TYPE RDATA` (lines with the same NAME and TYPE make up the RRset),
 *   `add NAME [TTL] TYPE RDATA`, `rm NAME TYPE RDATA` (one record) and `rm NAME TYPE` (the
 *   whole RRset);
 * - JSON: the API's change objects (`{"changes": [...], "comment": "…"}` or just the array),
 *   with `ttl` optional.
 *
 * Names, owner and inside RDATA, are relative to the zone as in a zone file.
 * @module
 */
import { UsageError } from './client-common.js';
import { completeContent, resolveName } from './relative.js';

/** A change as the API takes it. */
export interface ApiChange {
  op: 'replace' | 'add' | 'remove' | 'delete';
  name: string;
  type: string;
  ttl?: number;
  records?: { content: string; disabled?: boolean }[];
}

/** A parsed change file. */
export interface ChangeFile {
  changes: ApiChange[];
  comment?: string;
  /** Dotted relative names that were completed (probably a missing final dot). */
  notes: string[];
}

const OPS = new Map<string, ApiChange['op']>([
  ['set', 'replace'],
  ['replace', 'replace'],
  ['add', 'add'],
  ['rm', 'remove'],
  ['remove', 'remove'],
  ['delete', 'delete'],
]);

const TYPE_RE = /^(?:[A-Za-z][A-Za-z0-9-]*|TYPE[0-9]+)$/i;

/** A TTL of a change file (a whole number of seconds). */
function ttlOf(text: string, where: string): number {
  const n = Number(text);
  if (!/^[0-9]{1,10}$/.test(text) || n > 2147483647) throw new UsageError(`${where}: bad TTL '${text}'`);
  return n;
}

/** Reads a change file in either form. @throws UsageError naming the line or item at fault */
export function parseChangeFile(text: string, zone: string, source = 'change file'): ChangeFile {
  const trimmed = text.trimStart();
  const out =
    trimmed.startsWith('{') || trimmed.startsWith('[')
      ? parseJsonChanges(text, zone, source)
      : parseLineChanges(text, zone, source);
  if (out.changes.length === 0) throw new UsageError(`${source}: no changes in it`);
  return out;
}

/** `f()`, its usage error prefixed with the place in the file. */
function withPlace<T>(where: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`${where}: ${err.message}`);
    throw err;
  }
}

function complete(type: string, content: string, zone: string, notes: string[], where: string): string {
  const c = withPlace(where, () => completeContent(type, content, zone));
  for (const s of c.suspicious)
    notes.push(`'${s}' has no final dot, so it is relative to the zone: sent as '${c.content}'`);
  return c.content;
}

function parseLineChanges(text: string, zone: string, source: string): ChangeFile {
  const notes: string[] = [];
  // Changes grouped by op, owner and type, in the order each group first appears.
  const groups = new Map<string, ApiChange>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const where = `${source}:${i + 1}`;
    const m = /^(\S+)\s+(\S+)\s+(?:([0-9]+)\s+)?(\S+)(?:\s+(.*))?$/.exec(line);
    const op = m ? OPS.get(m[1].toLowerCase()) : undefined;
    if (!m || op === undefined)
      throw new UsageError(
        `${where}: expected 'set|add NAME [TTL] TYPE RDATA' or 'rm NAME TYPE [RDATA]', got '${line}'`,
      );
    const [, , nameText, ttlText, typeText, rdata] = m;
    if (!TYPE_RE.test(typeText)) throw new UsageError(`${where}: '${typeText}' is not a record type`);
    const type = typeText.toUpperCase();
    const name = withPlace(where, () => resolveName(nameText, zone));
    const ttl = ttlText === undefined ? undefined : ttlOf(ttlText, where);
    const content = rdata?.trim();
    if ((op === 'replace' || op === 'add') && !content)
      throw new UsageError(`${where}: '${m[1]}' needs the record data after the type`);
    if (op === 'delete' && content)
      throw new UsageError(
        `${where}: 'delete' takes no record data (use 'rm NAME TYPE RDATA' for one record)`,
      );
    const effective: ApiChange['op'] = op === 'remove' && !content ? 'delete' : op;
    const key = `${effective} ${name.toLowerCase()} ${type}`;
    let change = groups.get(key);
    if (!change) {
      change = { op: effective, name, type };
      if (effective !== 'delete') change.records = [];
      groups.set(key, change);
    }
    if (ttl !== undefined) {
      if (change.ttl !== undefined && change.ttl !== ttl)
        throw new UsageError(
          `${where}: TTL ${ttl} differs from ${change.ttl} given earlier for ${name} ${type}`,
        );
      change.ttl = ttl;
    }
    if (content) change.records?.push({ content: complete(type, content, zone, notes, where) });
  }
  return { changes: [...groups.values()], notes };
}

function parseJsonChanges(text: string, zone: string, source: string): ChangeFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${source} is not valid JSON: ${(err as Error).message}`);
  }
  let list: unknown = parsed;
  let comment: string | undefined;
  if (!Array.isArray(parsed)) {
    const o = parsed as { changes?: unknown; comment?: unknown };
    list = o.changes;
    if (o.comment !== undefined) {
      if (typeof o.comment !== 'string') throw new UsageError(`${source}: "comment" must be a string`);
      comment = o.comment;
    }
  }
  if (!Array.isArray(list))
    throw new UsageError(`${source}: expected {"changes": [...]} or an array of changes`);
  const notes: string[] = [];
  const changes = list.map((item: unknown, i): ApiChange => {
    const where = `${source}: changes[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw new UsageError(`${where} must be an object`);
    const c = item as Record<string, unknown>;
    const op = c.op;
    if (op !== 'replace' && op !== 'add' && op !== 'remove' && op !== 'delete')
      throw new UsageError(`${where}.op must be 'replace', 'add', 'remove' or 'delete'`);
    if (typeof c.name !== 'string') throw new UsageError(`${where}.name must be a string`);
    if (typeof c.type !== 'string' || !TYPE_RE.test(c.type))
      throw new UsageError(`${where}.type must be a record type`);
    const type = c.type.toUpperCase();
    const change: ApiChange = {
      op,
      name: withPlace(`${where}.name`, () => resolveName(c.name as string, zone)),
      type,
    };
    if (c.ttl !== undefined) {
      if (typeof c.ttl !== 'number' || !Number.isInteger(c.ttl) || c.ttl < 0)
        throw new UsageError(`${where}.ttl must be a whole number`);
      change.ttl = c.ttl;
    }
    if (op !== 'delete') {
      if (!Array.isArray(c.records)) throw new UsageError(`${where}.records must be an array`);
      change.records = c.records.map((r: unknown, j) => {
        const rec = r as { content?: unknown; disabled?: unknown };
        if (typeof rec !== 'object' || rec === null || typeof rec.content !== 'string')
          throw new UsageError(`${where}.records[${j}].content must be a string`);
        if (rec.disabled !== undefined && typeof rec.disabled !== 'boolean')
          throw new UsageError(`${where}.records[${j}].disabled must be true or false`);
        const out: { content: string; disabled?: boolean } = {
          content: complete(type, rec.content, zone, notes, `${where}.records[${j}].content`),
        };
        if (rec.disabled !== undefined) out.disabled = rec.disabled;
        return out;
      });
    }
    return change;
  });
  return { changes, comment, notes };
}
