/**
 * `switchboard check-zone FILE`: parses and checks a zone file and reports like
 * named-checkzone (`zone example.com/IN: loaded serial N` then `OK`, or each error as
 * `file:line: message`). Exit code 0 when the zone would load, 1 otherwise.
 * @module
 */
import { classToString } from '../wire/constants.js';
import type { Name } from '../wire/name.js';
import {
  formatDiagnostic,
  type LoadedZone,
  loadZoneFile,
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
 * Checks `file`; prints warnings, errors and the verdict. With `print`, the canonical zone
 * text goes to stdout and every other line to stderr, so the output can be redirected to
 * a file.
 * @returns exit code: 0 loadable, 1 not
 */
export async function checkZoneCommand(
  file: string,
  opts: { origin?: string; print?: boolean },
  io: CheckZoneOutput = processOutput,
): Promise<number> {
  const say = opts.print ? io.err : io.out;
  let loaded: LoadedZone;
  const guessed = opts.origin ?? originFromFileName(file)?.toString();
  try {
    loaded = loadZoneFile(file, { origin: opts.origin });
  } catch (err) {
    if (!(err instanceof ZoneParseError)) throw err;
    for (const w of err.warnings) say(`${formatDiagnostic(w)}\n`);
    for (const e of err.errors) say(`${formatDiagnostic(e)}\n`);
    const label = `zone ${guessed ? (guessed === '.' ? '.' : guessed.replace(/\.$/, '')) : file}/IN`;
    say(`${label}: not loaded due to errors.\n`);
    return 1;
  }
  const { zone, warnings } = loaded;
  const label = zoneLabel(zone.origin, zone.class, file);
  for (const w of warnings) say(`${label}: ${formatDiagnostic(w)}\n`);
  if (opts.print) io.out(printZone(zone));
  say(`${label}: loaded serial ${zone.serial}\n`);
  say('OK\n');
  return 0;
}
