/**
 * `serve`'s options that matter to a big zone file's early load (src/server/serve/early-load.ts),
 * read from the command line before commander is loaded: the compile thread then starts ~40 ms
 * of CPU sooner (commander's import and the program's construction). Commander still parses
 * the line and the serve action checks that it read the same (`sameEarlyOptions`).
 * @module
 */
import type { EarlyLoadOptions } from '../server/serve/early-load.js';

/** `serve` options that take no value (every other one takes one, but `--native-answers`). */
const FLAGS = new Set(['hide-version']);

/**
 * The early load's options of a `serve` command line, or undefined when the line is anything
 * but `serve` followed by options (`--name value`, `--name=value`, the value-less flags) that
 * this reader is sure of — `--native-answers` (its value optional), `--help`, a value that
 * starts with `-`, a positional argument: the serve action then decides as before.
 */
export function earlyServeOptions(argv: readonly string[]): EarlyLoadOptions | undefined {
  if (argv[2] !== 'serve') return undefined;
  const out: EarlyLoadOptions = {};
  for (let i = 3; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--') || a === '--') return undefined;
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (name === 'help' || name === 'native-answers') return undefined;
    if (FLAGS.has(name)) {
      if (eq >= 0) return undefined;
      continue;
    }
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('-')) return undefined;
      value = next;
      i++;
    }
    if (name === 'zone-dir') out.zoneDir = value;
    else if (name === 'images') out.images = value;
    else if (name === 'workers') out.workers = value;
  }
  return out;
}

/** Whether commander's options say what `earlyServeOptions` read (as the early load sees them). */
export function sameEarlyOptions(read: EarlyLoadOptions, parsed: EarlyLoadOptions): boolean {
  const s = (v: string | number | boolean | undefined) => (v === undefined ? undefined : String(v));
  return (
    s(read.zoneDir) === s(parsed.zoneDir) &&
    s(read.images) === s(parsed.images) &&
    s(read.workers) === s(parsed.workers)
  );
}
