/**
 * `switchboard check-zone FILE`: parses and checks a zone file and reports like
 * named-checkzone (`zone example.com/IN: loaded serial N` then `OK`, or each error as
 * `file:line: message`). Exit code 0 when the zone would load, 1 otherwise.
 * @module
 */
import { readFileSync } from 'node:fs';
import { classToString } from '../wire/constants.js';
import type { Name } from '../wire/name.js';
import {
  formatDiagnostic,
  type LoadedZone,
  loadZoneText,
  originFromFileName,
  printZone,
  ZoneParseError,
} from '../zone/index.js';

/** Where the command writes (tests pass their own). */
export interface CheckZoneOutput {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processOutput: CheckZoneOutput = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

function zoneLabel(origin: Name | undefined, cls: number, file: string): string {
  const name = origin ? (origin.isRoot ? '.' : origin.toString().slice(0, -1)) : file;
  return `zone ${name}/${classToString(cls)}`;
}

/**
 * The zone a file names itself: the first `$ORIGIN` directive with an absolute name, wherever
 * it is (a file that sets `$ORIGIN` is meant for that zone, whatever the file is called).
 */
export function originOfText(text: string): string | undefined {
  for (const m of text.matchAll(/^\$ORIGIN[ \t]+([^\s;]+)/gim)) if (m[1].endsWith('.')) return m[1];
  return undefined;
}

/** The absolute owner of the file's first SOA record, if it names one. */
export function soaOwnerOfText(text: string): string | undefined {
  const m = /^([^\s;$][^\s;]*\.)[ \t]+(?:(?:[0-9][0-9smhdwSMHDW]*|IN|CH|HS|CS)[ \t]+){0,2}SOA\b/im.exec(text);
  return m?.[1];
}

/** Same zone name, ignoring case and a final dot. */
function sameName(a: string, b: string): boolean {
  const f = (n: string) => (n.endsWith('.') ? n : `${n}.`).toLowerCase();
  return f(a) === f(b);
}

/**
 * A hint when the origin used is not the zone the file holds: its SOA is at another name.
 * Undefined when nothing suggests a mismatch.
 */
export function originHint(text: string, origin: string | undefined, how: string): string | undefined {
  const soa = soaOwnerOfText(text);
  if (soa === undefined || (origin !== undefined && sameName(soa, origin))) return undefined;
  const o = origin === undefined ? 'no origin' : `origin ${origin.endsWith('.') ? origin : `${origin}.`}`;
  return `hint: the file's SOA is at ${soa} but it was read with ${o} (${how}); ${
    how.startsWith('--origin') ? 'is --origin right?' : `try --origin ${soa}`
  }`;
}

/** Reads a file (or stdin for `-`) as octets, one char per octet, as zone files are read. */
function readZoneText(file: string): string {
  return readFileSync(file === '-' ? 0 : file, 'latin1');
}

/**
 * Checks `file` (`-` for stdin); prints warnings, errors and the verdict. The origin is
 * `--origin`, else the file's `$ORIGIN`, else the file name minus `.zone`. With `print`, the
 * canonical zone text goes to stdout and every other line to stderr, so the output can be
 * redirected to a file.
 * @returns exit code: 0 loadable, 1 not
 */
export async function checkZoneCommand(
  file: string,
  opts: { origin?: string; print?: boolean },
  io: CheckZoneOutput = processOutput,
): Promise<number> {
  const say = opts.print ? io.err : io.out;
  const label = (o: string | undefined) => `zone ${o ? (o === '.' ? '.' : o.replace(/\.$/, '')) : file}/IN`;
  let text: string;
  try {
    text = readZoneText(file);
  } catch (err) {
    say(`${file}: ${(err as Error).message}\n${label(opts.origin)}: not loaded due to errors.\n`);
    return 1;
  }
  const fromText = opts.origin === undefined ? originOfText(text) : undefined;
  const origin = opts.origin ?? fromText;
  const how =
    opts.origin !== undefined ? '--origin' : fromText !== undefined ? '$ORIGIN' : 'from the file name';
  const guessed = origin ?? (file === '-' ? undefined : originFromFileName(file)?.toString());
  let loaded: LoadedZone;
  try {
    loaded = loadZoneText(text, { origin, file: file === '-' ? '<stdin>' : file, octets: true });
  } catch (err) {
    if (!(err instanceof ZoneParseError)) throw err;
    for (const w of err.warnings) say(`${formatDiagnostic(w)}\n`);
    for (const e of err.errors) say(`${formatDiagnostic(e)}\n`);
    const hint = originHint(text, guessed, how);
    if (hint) say(`${hint}\n`);
    say(`${label(guessed)}: not loaded due to errors.\n`);
    return 1;
  }
  const { zone, warnings } = loaded;
  const zlabel = zoneLabel(zone.origin, zone.class, file);
  for (const w of warnings) say(`${zlabel}: ${formatDiagnostic(w)}\n`);
  if (opts.print) io.out(printZone(zone));
  say(`${zlabel}: loaded serial ${zone.serial}\n`);
  say('OK\n');
  return 0;
}
