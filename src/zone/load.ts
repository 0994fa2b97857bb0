/**
 * Loading a zone: parse the master file, build the Zone snapshot, run the semantic checks.
 * A file with any error (syntax, RDATA, build or check) does not load: `loadZoneFile`
 * throws a ZoneParseError listing them all, so a server keeps the version it has.
 * @module
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { typeToString } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import { checkRecords, checkZone, type ZoneFinding } from './check.js';
import { ZoneCheckThread } from './check-thread.js';
import { type ColumnZone, ColumnZoneStream } from './column-zone.js';
import {
  type EarlyParse,
  type IdleParseThread,
  parseIntoStream,
  parseThroughChunks,
  type ThreadParsed,
} from './parse-thread.js';
import {
  type ParsedZone,
  type ParseOptions,
  parseZone,
  type ZoneDiagnostic,
  ZoneParseError,
} from './parser.js';
import { Zone } from './zone.js';

/** Options of `loadZoneFile` / `loadZoneText`. */
export interface LoadOptions {
  /** The zone's origin; default: the file's `$ORIGIN` before its first record, else the
   * file name without `.zone` (the contract of `serve --zone-dir`). */
  origin?: Name | string;
  /** TTL for records with none when the file has no `$TTL` (default: none, as BIND). */
  defaultTtl?: number;
  /** Stop parsing after this many errors (default 100). */
  maxErrors?: number;
  /** When false, check errors are returned in `errors` instead of thrown (default true). */
  strict?: boolean;
}

/** A loaded zone and what was found on the way. */
export interface LoadedZone {
  zone: Zone;
  /** Non-fatal findings (parser and checks), each located at file:line where known. */
  warnings: ZoneDiagnostic[];
  /** Check errors; always empty unless `strict: false` (otherwise they are thrown). */
  errors: ZoneDiagnostic[];
}

/** The origin a zone file's name implies: `example.com.zone` → `example.com.` */
export function originFromFileName(path: string): Name | undefined {
  let base = basename(path);
  if (base.endsWith('.zone')) base = base.slice(0, -5);
  if (base.length === 0) return undefined;
  try {
    return Name.parse(base.endsWith('.') ? base : `${base}.`);
  } catch {
    return undefined;
  }
}

/**
 * Reads and loads a zone file. Synchronous: parsing is CPU-bound (run it in a worker to
 * keep an event loop free).
 * @throws ZoneParseError with every error found (code ZONE_ERR_IO when unreadable)
 */
export function loadZoneFile(path: string, opts: LoadOptions = {}): LoadedZone {
  let text: string;
  try {
    text = readLatin1(path);
  } catch (err) {
    throw new ZoneParseError([{ code: 'ZONE_ERR_IO', file: path, line: 0, message: (err as Error).message }]);
  }
  return loadZoneText(text, { ...opts, file: path, octets: true });
}

/** This thread's read buffer: a small zone file is read into it, then made a string. */
const READ_CHUNK = 64 * 1024;
/** A buffer grown for a bigger file is kept for the next one up to this size. */
const KEEP_BYTES = 1024 * 1024;
let readScratch: Buffer | undefined;

/**
 * The rest of open file `fd` as a latin1 string (one char per octet, the representation names
 * and RDATA text use), read into a buffer kept from one call to the next (no buffer per file:
 * for a 10-record zone that costs more than the read). `size` is the file's size when the
 * caller has it (fstat): the buffer gets one octet more, and a short read that reached it is
 * the end (one read for a file that did not grow). Without it (a pipe, or a caller that did not
 * fstat) the file is read until a read returns nothing; a buffer that fills is grown to the
 * size fstat gives (+1), or doubled. Reads to the end whatever the size said.
 */
export function readLatin1Fd(fd: number, size?: number): string {
  readScratch ??= Buffer.allocUnsafe(READ_CHUNK);
  let buf = readScratch;
  if (size !== undefined && size + 1 > buf.length) {
    buf = Buffer.allocUnsafe(size + 1);
    if (buf.length <= KEEP_BYTES) readScratch = buf;
  }
  let n = 0;
  for (;;) {
    if (n === buf.length) {
      const want = size === undefined && buf === readScratch ? fstatSync(fd).size + 1 : 0;
      const next = Buffer.allocUnsafe(Math.max(want, buf.length * 2));
      buf.copy(next, 0, 0, n);
      buf = next;
    }
    const room = buf.length - n;
    const got = readSync(fd, buf, n, room, null);
    n += got;
    if (got === 0 || (size !== undefined && got < room && n >= size)) break;
  }
  return buf.toString('latin1', 0, n);
}

/** A file's octets as a latin1 string: what `readFileSync(path, 'latin1')` gives, for less. */
function readLatin1(path: string): string {
  const fd = openSync(path, 'r');
  try {
    return readLatin1Fd(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Loads a zone from master-file text (`file` names it in messages and anchors `$INCLUDE`).
 * @throws ZoneParseError
 */
export function loadZoneText(
  text: string,
  opts: LoadOptions & { file?: string; octets?: boolean } = {},
): LoadedZone {
  const file = opts.file ?? '<text>';
  const named = opts.file;
  // Only when the text names no origin before it is needed (most zone files start with $ORIGIN).
  const fallback = named !== undefined ? () => originFromFileName(named) : undefined;
  const popts: ParseOptions = {
    origin: opts.origin,
    fallbackOrigin: fallback,
    file: opts.file,
    defaultTtl: opts.defaultTtl,
    maxErrors: opts.maxErrors,
    octets: opts.octets,
  };
  const parsed = parseZone(text, popts);
  const warnings = [...parsed.warnings];
  if (parsed.errors.length > 0) throw new ZoneParseError(parsed.errors, warnings);
  const origin = parsed.origin;
  if (!origin) throw noOrigin(file, warnings);
  return buildParsedZone(parsed, origin, file, warnings, opts.strict ?? true);
}

/** A zone loaded as columns (`loadZoneTextColumns`). */
export interface LoadedColumnZone {
  zone: ColumnZone;
  warnings: ZoneDiagnostic[];
  errors: ZoneDiagnostic[];
  /**
   * With `checksLater`, when they run in a thread of their own: the zone checks, still under
   * way. Nothing is to be made of the zone public before `finish` returned.
   */
  checks?: PendingChecks;
}

/** The checks of a zone loaded with `checksLater` (`LoadedColumnZone.checks`). */
export interface PendingChecks {
  /**
   * Waits for the checks' findings: their warnings are added to the load's `warnings` (in the
   * order the load without `checksLater` gives), their errors returned — or thrown as the
   * load would (strict: a ZoneParseError with every error, located). Once.
   * @throws ZoneParseError
   */
  finish(): { errors: ZoneDiagnostic[] };
  /** Stops the checks (the zone is given up, nothing made of it). */
  stop(): void;
  /**
   * A shared word set to non-zero (and notified) once the checks' thread posted its findings
   * (`ZoneCheckThread.doneWord`): for a thread that waits on it without blocking (the primary
   * forks its DNS workers then, serve/image-primary.ts).
   */
  doneWord: SharedArrayBuffer;
}

/**
 * Zone text of at least this many octets (~350,000 records of the benchmark zone) is parsed
 * in a thread of its own by `loadZoneTextColumns` (src/zone/parse-thread.ts): the thread's
 * start (~0.1 s of CPU, on the other core, before the first records come) is then well paid
 * for by the parse moved off the column build's thread (~0.5 µs a record).
 * `SWITCHBOARD_PARSE_THREAD=off` turns it off (A/B runs).
 */
export const PARSE_THREAD_TEXT = 8 << 20;

/**
 * `loadZoneText`, keeping the zone as columns (`ColumnZone`: no graph of per-record objects
 * outlives the load) for compiling a big zone into an image. The same errors and warnings, in
 * the same order; `compileZone` makes the same image of either. A text of `PARSE_THREAD_TEXT`
 * octets or more is parsed in a second thread while this one builds the columns (`thread`:
 * true always, false never, 'inline' the thread's octet encoding in this thread, for tests;
 * the result is the same).
 * @throws ZoneParseError
 */
export function loadZoneTextColumns(
  text: string,
  opts: LoadOptions & {
    file?: string;
    octets?: boolean;
    thread?: boolean | 'inline';
    /** Called at each stage of the load (the start-up trace, src/telemetry/start-trace.ts). */
    stage?: (name: string) => void;
    /**
     * A parse thread started before the file was read, holding its octets (`text` is then
     * ignored: the thread parses `early.octets`; should it fail, they are parsed here).
     */
    early?: EarlyParse;
    /**
     * `checkZone` in a thread of its own, the load returning as soon as the zone is built:
     * its `checks` are then to be finished before the zone is used (a text of
     * `PARSE_THREAD_TEXT` octets or more only; a smaller one, or a thread that cannot be
     * started, is checked here as without it).
     */
    checksLater?: boolean;
  } = {},
): LoadedColumnZone {
  const file = opts.file ?? '<text>';
  const named = opts.file;
  const popts = {
    origin: opts.origin,
    file: opts.file,
    defaultTtl: opts.defaultTtl,
    maxErrors: opts.maxErrors,
    octets: opts.octets,
  };
  // Records go to the columns as they are parsed: no list of them is kept. The columns start
  // at about the text's record count (~28 octets a line in a big zone: a guess on the high
  // side costs pages never touched, one on the low side a regrowth).
  const early = opts.early;
  const expect = (early !== undefined ? early.length : text.length) / 24;
  let stream = new ColumnZoneStream(expect);
  let parsed: ThreadParsed | undefined;
  // With checksLater, the parse thread is kept after its parse to check the zone.
  const keep: { idle?: IdleParseThread } | undefined = opts.checksLater === true ? {} : undefined;
  const thread =
    early !== undefined ||
    (opts.thread ?? (text.length >= PARSE_THREAD_TEXT && process.env.SWITCHBOARD_PARSE_THREAD !== 'off'));
  if (thread !== false) {
    const fallbackOrigin = named !== undefined ? originFromFileName(named) : undefined;
    parsed =
      thread === 'inline'
        ? parseThroughChunks(text, { ...popts, fallbackOrigin }, stream)
        : parseIntoStream(text, { ...popts, fallbackOrigin }, stream, opts.stage, early, keep);
    if (parsed === undefined) stream = new ColumnZoneStream(expect);
  }
  // The thread failed: the early thread's octets are parsed here.
  if (parsed === undefined && early !== undefined) text = early.text();
  if (parsed === undefined) {
    const into = stream;
    const p = parseZone(text, {
      ...popts,
      fallbackOrigin: named !== undefined ? () => originFromFileName(named) : undefined,
      sink: (rr, origin) => into.add(rr, origin),
      transientRecords: true,
    });
    const at = p.recordLines ?? { lines: new Int32Array(0), fileIndex: new Int32Array(0) };
    parsed = { ...p, lines: at.lines, fileIndex: at.fileIndex };
  }
  opts.stage?.('parsed, columns built');
  if (parsed.errors.length > 0 || !parsed.origin) keep?.idle?.release();
  const warnings = [...parsed.warnings];
  if (parsed.errors.length > 0) throw new ZoneParseError(parsed.errors, warnings);
  const origin = parsed.origin;
  if (!origin) throw noOrigin(file, warnings);
  const locator = new RecordLocator(parsed, {
    count: stream.count,
    key: (i) => stream.keyOf(i),
    type: (i) => stream.types[i],
  });
  let zone: ColumnZone;
  let findings: ZoneFinding[];
  // checkRecords reads the first record and the SOA records only: the stream kept those.
  const checkList = stream.checkList;
  const fail = (err: unknown) => buildFailure(err, checkRecords(origin, checkList), locator, file, warnings);
  let checker: ZoneCheckThread | undefined;
  try {
    zone = stream.finish(origin, parsed.class);
    opts.stage?.('zone finished');
    const big = (early !== undefined ? early.length : text.length) >= PARSE_THREAD_TEXT;
    // The thread that parsed it, idle now, checks it (no new isolate); without one, a thread
    // of its own.
    if (opts.checksLater === true && big)
      checker =
        keep?.idle !== undefined
          ? ZoneCheckThread.onParseThread(keep.idle, zone)
          : ZoneCheckThread.start(zone);
    if (checker === undefined) {
      findings = checkZone(zone, checkList);
      opts.stage?.('checks done');
    } else findings = [];
  } catch (err) {
    throw fail(err);
  } finally {
    keep?.idle?.release();
  }
  const strict = opts.strict ?? true;
  if (checker === undefined)
    return { zone, warnings, ...sortFindings(findings, locator, file, warnings, strict) };
  opts.stage?.(
    checker.inParseThread ? 'checks started in the parse thread' : 'checks started in their thread',
  );
  const running = checker;
  const built = zone;
  // Not `opts` itself: the pending checks must not keep an early parse's octets alive.
  const stage = opts.stage;
  let settled = false;
  const checks: PendingChecks = {
    doneWord: running.doneWord,
    finish: () => {
      if (settled) throw new Error('the checks were finished or stopped already');
      settled = true;
      let found: ZoneFinding[];
      try {
        // checkZone(zone, records) is checkRecords' findings, then the zone's.
        const got = running.wait();
        found =
          got !== undefined ? [...checkRecords(origin, checkList), ...got] : checkZone(built, checkList);
      } catch (err) {
        throw fail(err);
      }
      stage?.('checks done');
      return sortFindings(found, locator, file, warnings, strict);
    },
    stop: () => {
      if (settled) return;
      settled = true;
      running.stop();
    },
  };
  return { zone, warnings, errors: [], checks };
}

/** The error of a text that names no origin. */
function noOrigin(file: string, warnings: ZoneDiagnostic[]): ZoneParseError {
  return new ZoneParseError(
    [
      {
        code: 'ZONE_ERR_BUILD',
        file,
        line: 0,
        message: 'no origin: give one, or use $ORIGIN or a <name>.zone file',
      },
    ],
    warnings,
  );
}

/** The error of a zone that cannot be built: the record checks' errors, else the build's. */
function buildFailure(
  err: unknown,
  fromRecords: ZoneFinding[],
  locator: RecordLocator,
  file: string,
  warnings: ZoneDiagnostic[],
): ZoneParseError {
  const errs = fromRecords.filter((f) => f.severity === 'error').map((f) => locator.diagnostic(f, file));
  if (errs.length === 0)
    errs.push({ code: 'ZONE_ERR_BUILD', file, line: 0, message: (err as Error).message });
  return new ZoneParseError(errs, warnings);
}

/** Findings located and split; throws the errors when `strict`. Warnings go to `warnings`. */
function sortFindings(
  findings: ZoneFinding[],
  locator: RecordLocator,
  file: string,
  warnings: ZoneDiagnostic[],
  strict: boolean,
): { errors: ZoneDiagnostic[] } {
  const errors: ZoneDiagnostic[] = [];
  for (const f of findings) {
    const d = locator.diagnostic(f, file);
    (f.severity === 'error' ? errors : warnings).push(d);
  }
  if (errors.length > 0 && strict) throw new ZoneParseError(errors, warnings);
  return { errors };
}

function buildParsedZone(
  parsed: ParsedZone,
  origin: Name,
  file: string,
  warnings: ZoneDiagnostic[],
  strict: boolean,
): LoadedZone {
  const recs = parsed.records;
  const locator = new RecordLocator(parsed, {
    count: recs.length,
    key: (i) => recs[i].name.key,
    type: (i) => recs[i].type,
  });
  // Zone.build refuses a zone without a single apex SOA; checkRecords then says why, located.
  let zone: Zone;
  let findings: ZoneFinding[];
  try {
    zone = Zone.build(origin, parsed.records, parsed.class);
    findings = checkZone(zone, parsed.records);
  } catch (err) {
    throw buildFailure(err, checkRecords(origin, parsed.records), locator, file, warnings);
  }
  return { zone, warnings, ...sortFindings(findings, locator, file, warnings, strict) };
}

/** The parsed records' owner keys and types, by record index (RecordLocator). */
interface RecordKeys {
  count: number;
  key(i: number): string;
  type(i: number): number;
}

/** Where each record came from: `lines[i]` in `files[fileIndex[i]]`. */
interface RecordLines {
  files: readonly string[];
  lines: ArrayLike<number>;
  fileIndex: ArrayLike<number>;
}

/** Finds the file:line of the first record with a given owner (and type). */
class RecordLocator {
  readonly #parsed: RecordLines;
  readonly #recs: RecordKeys;
  #index: Map<string, number> | undefined;

  constructor(parsed: RecordLines, recs: RecordKeys) {
    this.#parsed = parsed;
    this.#recs = recs;
  }

  find(name: string, type: number | undefined): { file: string; line: number } | undefined {
    let key: string;
    try {
      key = Name.parse(name).key;
    } catch {
      return undefined;
    }
    if (!this.#index) {
      // Built only when there is something to report.
      const idx = new Map<string, number>();
      const recs = this.#recs;
      for (let i = 0; i < recs.count; i++) {
        const k1 = recs.key(i);
        const k2 = `${k1}/${recs.type(i)}`;
        if (!idx.has(k1)) idx.set(k1, i);
        if (!idx.has(k2)) idx.set(k2, i);
      }
      this.#index = idx;
    }
    const i = (type !== undefined ? this.#index.get(`${key}/${type}`) : undefined) ?? this.#index.get(key);
    if (i === undefined) return undefined;
    return { file: this.#parsed.files[this.#parsed.fileIndex[i]], line: this.#parsed.lines[i] };
  }

  diagnostic(f: ZoneFinding, file: string): ZoneDiagnostic {
    const at = this.find(f.name, f.type);
    const what = f.type !== undefined ? `${f.name}/${typeToString(f.type)}` : f.name;
    return {
      code: 'ZONE_ERR_CHECK',
      file: at?.file ?? file,
      line: at?.line ?? 0,
      message: `${what}: ${f.message}`,
    };
  }
}
